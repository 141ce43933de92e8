// Rules and restores. COPY and pg_restore ignore rules, and so does a restore: an INSTEAD rule would send the
// restored rows elsewhere or drop them, an ALSO rule would write into tables nobody asked to restore, and a
// rule's failing action would fail a restore that has nothing to do. The copy path (TRUNCATE, COPY) never
// fires rules and leaves them alone. Every other path may write with INSERT, UPDATE and DELETE (missing
// chooses its direct COPY only once the table is locked, after this), so the restore disables, for its own
// transaction, each rule that would fire (ALTER TABLE ... DISABLE RULE, which only the owner may do) and gives
// every one back its exact former state (ENABLE, ENABLE REPLICA, ENABLE ALWAYS) when the table is done; on
// error the transaction's rollback restores them.
//
// There is no opt-in to fire rules: a firing rule rewrites the restore's own statements, so the table could
// not end identical to the snapshot, and pg_restore offers no such option either. fire_triggers is about
// triggers only.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
}

#include "pg/support/report_json.hpp"

// The table's ON INSERT, UPDATE and DELETE rules that fire under the session's replication role (rules
// enabled for the other role, and disabled ones, rewrite nothing and stay untouched). Read-only.
List *bk_rules_that_fire(Oid relid);

// Disables the rules listed by bk_rules_that_fire; 42501 naming the table when the caller does not own it.
void bk_rules_disable(Oid relid, const char *target, List *rules);

// Gives each rule disabled by bk_rules_disable its former state.
void bk_rules_reenable(Oid relid, List *rules);

// Whether PostgreSQL refuses INSERT ... ON CONFLICT on the table: it does when the table has any ON UPDATE
// rule, disabled or not (the rewriter looks for one before it looks at the rule's state).
bool bk_rules_forbid_on_conflict(Oid relid);

// The report's "rules_disabled": the names of the rules the restore disabled (a dry run: would disable).
void bk_rules_report(BkJson *report, List *rules);
