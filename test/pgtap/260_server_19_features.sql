-- What PostgreSQL 19 added around tables, handled as a user expects: a property graph (SQL/PGQ) is no table,
-- so it cannot be captured, but the tables under it are captured and restored like any other, and the graph
-- reads the restored rows (GRAPH_TABLE gives back the same result); rows split by UPDATE ... FOR PORTION OF on
-- a WITHOUT OVERLAPS table come back exactly as captured. On older servers every test is skipped with the reason.
BEGIN;
SELECT plan(10);
SET LOCAL client_min_messages = warning;
SELECT current_setting('server_version_num')::int >= 190000 AS pg19 \gset
\if :pg19

CREATE SCHEMA s19;
-- s19.checksum(regclass): whole-table row count and content hash.
\set checksum_schema s19
\ir include/table_checksum.sql

-- A property graph over two tables: people, and who knows whom.
CREATE TABLE s19.person (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE s19.knows (id int PRIMARY KEY, src int NOT NULL REFERENCES s19.person, dst int NOT NULL REFERENCES s19.person,
                        since int);
INSERT INTO s19.person SELECT i, 'p' || i FROM generate_series(1, 100) i;
INSERT INTO s19.knows SELECT i, 1 + i % 100, 1 + (i * 7) % 100, 2000 + i % 25 FROM generate_series(1, 300) i;
CREATE PROPERTY GRAPH s19.social
    VERTEX TABLES (s19.person KEY (id))
    EDGE TABLES (s19.knows KEY (id)
                 SOURCE KEY (src) REFERENCES person (id)
                 DESTINATION KEY (dst) REFERENCES person (id));
-- Every edge of the graph with both ends, as one hash.
CREATE FUNCTION s19.graph_digest() RETURNS text LANGUAGE sql AS $$
    SELECT count(*) || ':' || md5(coalesce(string_agg(a || '>' || b || '@' || since, ',' ORDER BY a, b, since), ''))
      FROM GRAPH_TABLE (s19.social MATCH (x IS person)-[e IS knows]->(y IS person)
                        COLUMNS (x.name AS a, y.name AS b, e.since AS since))
$$;
SELECT s19.checksum('s19.person') AS person_before, s19.checksum('s19.knows') AS knows_before,
       s19.graph_digest() AS graph_before \gset
SELECT is(split_part(:'graph_before', ':', 1), '300', 'the graph sees every edge before the snapshot');

SELECT throws_ok($$SELECT backupkit.snapshot_tables('{s19.social}', 'graph')$$, '42809', NULL,
                 'a property graph is not a table: snapshot_tables refuses it');
SELECT backupkit.snapshot_tables('{s19.person,s19.knows}', 'under a graph') AS gs \gset

-- Damage under the graph: renamed people, lost and altered edges.
UPDATE s19.person SET name = 'renamed' WHERE id % 9 = 0;
DELETE FROM s19.knows WHERE id % 4 = 0;
UPDATE s19.knows SET since = 1999 WHERE id % 5 = 0;
SELECT isnt(s19.graph_digest(), :'graph_before', 'the damage changes what the graph returns');

SELECT lives_ok(format('SELECT backupkit.restore_snapshot(%s)', :gs), 'replace of the tables under a property graph runs');
SELECT is(s19.checksum('s19.person') || ' ' || s19.checksum('s19.knows'), :'person_before' || ' ' || :'knows_before',
          'replace gives back both tables identically (checksums)');
SELECT is(s19.graph_digest(), :'graph_before', 'the graph returns the same edges after the restore');

UPDATE s19.knows SET dst = 1 + (dst % 100) WHERE id % 3 = 0;
SELECT backupkit.restore_table_from_snapshot(:gs, 's19.knows', 'merge') IS NOT NULL AS merged \gset
SELECT is(s19.graph_digest(), :'graph_before', 'merge after an UPDATE of edges gives the graph back');

-- UPDATE ... FOR PORTION OF (19) splits a row of a WITHOUT OVERLAPS table into the updated part and leftovers.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE s19.rate (room int, during daterange, price int,
                       PRIMARY KEY (room, during WITHOUT OVERLAPS));
INSERT INTO s19.rate SELECT i, daterange('2026-01-01', '2027-01-01'), 100 + i FROM generate_series(1, 50) i;
SELECT s19.checksum('s19.rate') AS rate_before \gset
SELECT backupkit.snapshot_tables('{s19.rate}', 'temporal') AS rs \gset
UPDATE s19.rate FOR PORTION OF during FROM '2026-03-01' TO '2026-04-01' SET price = price * 2 WHERE room % 2 = 0;
SELECT is((SELECT count(*)::int FROM s19.rate), 100, 'FOR PORTION OF split every updated row in three');
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s19.rate'')', :rs),
                'replace after UPDATE ... FOR PORTION OF runs');
SELECT is(s19.checksum('s19.rate'), :'rate_before', 'replace removes the split rows and gives the table back identically');

\else
SELECT skip('PostgreSQL 19 features (property graphs, UPDATE ... FOR PORTION OF) need server 19 or later; this is ' || current_setting('server_version'), 10);
\endif

SELECT * FROM finish();
ROLLBACK;
