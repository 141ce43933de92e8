// One rule for rows captured under row-level security: a snapshot's rows are restored, exported, diffed, read or
// counted only under the policies they were captured under. A capture by a role that RLS filters holds only the
// rows that role saw; anyone else acting on them (even a member of that role who sees every row) would read
// them under other policies, or treat the rows the capture could not see as absent and delete them.
#pragma once

extern "C"
{
#include "postgres.h"
}

#include "storage.hpp"

// Whether another role than the creator may use the captured rows of relid: true unless row-level security
// applies to the table for the creator (its capture was filtered) or for the caller (the caller's policies
// would filter what the snapshot holds). The creator itself always may.
bool bk_capture_policies_allow(const BkSnapshot *snapshot, Oid relid);

// Errors (42501) unless bk_capture_policies_allow; verb says what was attempted ("read", "restore", "export").
void bk_check_capture_policies(const BkSnapshot *snapshot, Oid relid, const char *verb);

// bk_check_capture_policies for every table of the snapshot that still exists (export writes them all).
void bk_check_snapshot_policies(const BkSnapshot *snapshot, const char *verb);
