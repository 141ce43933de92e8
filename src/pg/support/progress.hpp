// Progress of a long snapshot or restore: shown to other sessions in pg_stat_activity.query (see the view
// backupkit.progress) and, at most once a second, as NOTICE lines to the caller.
#pragma once

extern "C"
{
#include "postgres.h"
}

void bk_progress_begin(const char *operation, int64 snapshot_id, int tables_total);
void bk_progress_table(int table_index, const char *table_name, int64 rows_total);
void bk_progress_rows(int64 rows_done_delta);
void bk_progress_end(void);
// Registers the transaction callbacks that end the progress of an operation whose (sub)transaction aborts.
void bk_progress_init(void);

extern bool bk_progress_notices;
