-- Every property of the installed backupkit extension that a user or the code can observe, one line per
-- property, sorted: the extension's member objects, each function's definition (arguments, defaults, result,
-- volatility, strictness, security, SET search_path, body or C symbol), comments, grants and initial
-- privileges, every relation's columns, defaults, constraints, indexes, triggers, policies, storage and
-- options, view definitions, sequences, types and what pg_dump carries (pg_extension_config_dump).
-- test/tap/090_extension_update.sh compares it between an updated and a freshly installed extension: a
-- change to sql/install without the same change in sql/update/<from>--<to>/ shows up as a differing line.
-- Privileges are compared as they take effect: a NULL ACL as the built-in default it stands for (a REVOKE
-- that changes nothing stores the default explicitly, pg_upgrade's dump leaves it NULL).
-- Columns are listed in position order (dropped ones left out): a column added by an upgrade goes last, so
-- sql/install must add it last too.
-- Usage: psql -X -At -v ON_ERROR_STOP=1 -f extension_objects.sql
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
WITH ext AS (
    SELECT oid, extname, extnamespace FROM pg_extension WHERE extname = 'backupkit'
), ns AS (
    SELECT extnamespace AS oid FROM ext
), rels AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind::text FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
), lines(line) AS (
    SELECT 'extension|' || extname || '|' || extversion || '|relocatable=' || extrelocatable || '|schema=' || extnamespace::regnamespace
      FROM pg_extension WHERE extname = 'backupkit'
    UNION ALL
    -- what pg_dump carries: configuration tables and sequences with their filter
    SELECT 'config_dump|' || c.cfg::regclass::text || '|' || coalesce(x.extcondition[c.n], '<null>')
      FROM pg_extension x, unnest(x.extconfig) WITH ORDINALITY AS c(cfg, n) WHERE x.extname = 'backupkit'
    UNION ALL
    -- every member object, whatever its kind
    SELECT 'member|' || pg_describe_object(d.classid, d.objid, d.objsubid)
      FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    UNION ALL
    SELECT 'schema|' || n.nspname || '|owner_is_extension_owner=' || (n.nspowner = (SELECT extowner FROM pg_extension WHERE extname = 'backupkit'))
           || '|acl=' || coalesce(n.nspacl, acldefault('n', n.nspowner))::text || '|comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '<none>')
      FROM pg_namespace n WHERE n.oid = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'function|' || p.oid::regprocedure::text || '|kind=' || p.prokind::text || '|' ||
           CASE WHEN p.prokind::text IN ('f', 'p') THEN pg_get_functiondef(p.oid)
                ELSE pg_get_function_arguments(p.oid) || '|result=' || pg_get_function_result(p.oid)
                     || coalesce((SELECT '|transition=' || ag.aggtransfn::regprocedure::text || '|state=' || ag.aggtranstype::regtype::text
                                         || '|final=' || ag.aggfinalfn::text || '|combine=' || ag.aggcombinefn::text
                                         || '|initial=' || coalesce(ag.agginitval, '<null>')
                                    FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid), '') END
           || '|parallel=' || p.proparallel::text || '|leakproof=' || p.proleakproof || '|cost=' || p.procost
           || '|rows=' || p.prorows || '|config=' || coalesce(p.proconfig::text, '<none>')
           || '|acl=' || coalesce(p.proacl, acldefault('f', p.proowner))::text
           || '|comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '<none>')
      FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'relation|' || r.name || '|kind=' || c.relkind::text || '|persistence=' || c.relpersistence::text
           || '|am=' || coalesce(am.amname, '<none>') || '|options=' || coalesce(c.reloptions::text, '<none>')
           || '|rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity || '|replident=' || c.relreplident::text
           || '|acl=' || coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text
           || '|comment=' || coalesce(obj_description(c.oid, 'pg_class'), '<none>')
      FROM rels r JOIN pg_class c ON c.oid = r.oid LEFT JOIN pg_am am ON am.oid = c.relam
    UNION ALL
    SELECT 'column|' || r.name || '|' || lpad((row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum))::text, 3, '0') || '|' || a.attname
           || '|' || format_type(a.atttypid, a.atttypmod) || '|notnull=' || a.attnotnull
           || '|default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '<none>')
           || '|identity=' || a.attidentity::text || '|generated=' || a.attgenerated::text || '|storage=' || a.attstorage::text
           || '|compression=' || a.attcompression::text || '|collation=' || coalesce(co.collname, '<none>')
           || '|statistics=' || coalesce(a.attstattarget::text, '<default>') || '|options=' || coalesce((SELECT string_agg(o, ',' ORDER BY o) FROM unnest(a.attoptions) o
                                         WHERE o NOT LIKE 'pg\_attver=%'), '<none>')
           || '|acl=' || coalesce(a.attacl::text, '<default>')
           || '|comment=' || coalesce(col_description(r.oid, a.attnum), '<none>')
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
     WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
    UNION ALL
    SELECT 'constraint|' || r.name || '|' || con.conname || '|' || pg_get_constraintdef(con.oid)
           || '|deferrable=' || con.condeferrable || '/' || con.condeferred || '|validated=' || con.convalidated
           || '|comment=' || coalesce(obj_description(con.oid, 'pg_constraint'), '<none>')
      FROM rels r JOIN pg_constraint con ON con.conrelid = r.oid
    UNION ALL
    SELECT 'index|' || pg_get_indexdef(i.indexrelid) || '|comment=' || coalesce(obj_description(i.indexrelid, 'pg_class'), '<none>')
      FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT 'view|' || r.name || '|' || pg_get_viewdef(r.oid)
      FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'trigger|' || r.name || '|' || pg_get_triggerdef(t.oid) || '|enabled=' || t.tgenabled::text
      FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'rule|' || r.name || '|' || pg_get_ruledef(ru.oid)
      FROM rels r JOIN pg_rewrite ru ON ru.ev_class = r.oid WHERE ru.rulename <> '_RETURN'
    UNION ALL
    SELECT 'policy|' || r.name || '|' || po.polname || '|cmd=' || po.polcmd::text || '|permissive=' || po.polpermissive
           || '|roles=' || po.polroles::text || '|using=' || coalesce(pg_get_expr(po.polqual, po.polrelid), '<none>')
           || '|check=' || coalesce(pg_get_expr(po.polwithcheck, po.polrelid), '<none>')
      FROM rels r JOIN pg_policy po ON po.polrelid = r.oid
    UNION ALL
    SELECT 'sequence|' || r.name || '|' || format_type(s.seqtypid, NULL) || '|start=' || s.seqstart || '|increment=' || s.seqincrement
           || '|min=' || s.seqmin || '|max=' || s.seqmax || '|cache=' || s.seqcache || '|cycle=' || s.seqcycle
           || '|owned_by=' || coalesce((SELECT d.refobjid::regclass::text || '.' || a.attname
                                          FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                         WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype IN ('a', 'i')
                                           AND d.refclassid = 'pg_class'::regclass), '<none>')
      FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT 'type|' || t.oid::regtype::text || '|typtype=' || t.typtype::text || '|' ||
           CASE t.typtype
               WHEN 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
               WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) || '|notnull=' || t.typnotnull
                             || '|default=' || coalesce(t.typdefault, '<none>')
               ELSE '' END
           || '|acl=' || coalesce(t.typacl, acldefault('T', t.typowner))::text || '|comment=' || coalesce(obj_description(t.oid, 'pg_type'), '<none>')
      FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype <> 'b' AND (t.typrelid = 0 OR t.typtype = 'c'
           AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
    UNION ALL
    SELECT 'domain_constraint|' || con.contypid::regtype::text || '|' || con.conname || '|' || pg_get_constraintdef(con.oid)
      FROM pg_constraint con JOIN pg_type t ON t.oid = con.contypid WHERE t.typnamespace = (SELECT oid FROM ns)
    UNION ALL
    -- the privileges pg_dump treats as the extension's own (GRANT/REVOKE run by install and upgrade scripts),
    -- leaving out those equal to the built-in default, which pg_upgrade does not record
    SELECT 'init_privs|' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid) || '|' || ip.privtype::text || '|' || ip.initprivs::text
      FROM pg_init_privs ip, ext
     WHERE (ip.objsubid <> 0 OR ip.initprivs IS DISTINCT FROM CASE ip.classoid
               WHEN 'pg_class'::regclass THEN (SELECT acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
                                                 FROM pg_class c WHERE c.oid = ip.objoid)
               WHEN 'pg_proc'::regclass THEN (SELECT acldefault('f', p.proowner) FROM pg_proc p WHERE p.oid = ip.objoid)
               WHEN 'pg_namespace'::regclass THEN (SELECT acldefault('n', n.nspowner) FROM pg_namespace n WHERE n.oid = ip.objoid)
               WHEN 'pg_type'::regclass THEN (SELECT acldefault('T', t.typowner) FROM pg_type t WHERE t.oid = ip.objoid) END)
       AND (EXISTS (SELECT FROM pg_depend d WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
                      AND d.deptype = 'e' AND d.classid = ip.classoid AND d.objid = ip.objoid)
        OR (ip.classoid = 'pg_namespace'::regclass AND ip.objoid = ext.extnamespace))
    UNION ALL
    SELECT 'event_trigger|' || e.evtname || '|' || e.evtevent || '|' || e.evtfoid::regprocedure::text || '|tags=' || coalesce(e.evttags::text, '<all>')
           || '|enabled=' || e.evtenabled::text
      FROM pg_event_trigger e, ext
     WHERE EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass AND d.objid = e.oid
                      AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid)
)
-- one line per property: definitions spanning several lines keep their line breaks as \n
SELECT replace(line, E'\n', '\n') AS line FROM lines ORDER BY replace(line, E'\n', '\n') COLLATE "C";
