// One rule for rows captured under row-level security: a snapshot's rows are restored, exported, diffed, read or
// counted only under the policies they were captured under. A capture by a role that RLS filters holds only the
// rows that role saw; anyone else acting on them (even a member of that role who sees every row) would read
// them under other policies, or treat the rows the capture could not see as absent and delete them.
#pragma once

extern "C"
{
#include "postgres.h"
}

#include "pg/storage/storage.hpp"
#include "pg/support/message_names.hpp"

// The table's definition as captured, with "capture_rls_active": whether row-level security filtered the rows
// the calling role captured (read under the capture's snapshot, recorded under the definition's seal). It lets
// the rule below hold after the policies change or RLS is switched off.
Datum bk_definition_with_capture_rls(Datum definition, Oid relid);

// Whether the caller may use the captured rows of relid: always when the table has no row-level security, and
// the role that took the capture always may; when the capture recorded that RLS filtered it, nobody else may
// (whatever the table's policies are now); otherwise anyone else only when RLS applies neither to that role (its
// capture was not filtered) nor to the caller (whose policies would filter what the snapshot holds). For a
// snapshot imported from another role's export, the role that took the capture is the original creator (by
// name; when no role has that name here, nobody may).
bool bk_capture_policies_allow(const BkSnapshot *snapshot, Oid relid);

// Errors (42501) unless bk_capture_policies_allow; op says what was attempted (read, restore or export).
void bk_check_capture_policies(const BkSnapshot *snapshot, Oid relid, BkTableOperation op);

// bk_check_capture_policies for every table of the snapshot that still exists (export writes them all).
void bk_check_snapshot_policies(const BkSnapshot *snapshot, BkTableOperation op);
