// Module entry: the magic block and backupkit's settings.
extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"

	PG_MODULE_MAGIC;

	void _PG_init(void);
}

#include "pg/citus/citus_recovery.hpp"
#include "pg/restore/stage_table.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/support/progress.hpp"

void
_PG_init(void)
{
	DefineCustomIntVariable("backupkit.chunk_rows", "Maximum number of rows in one snapshot chunk.", NULL,
	                        &bk_chunk_rows, 10000, 1, 1000000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("backupkit.chunk_size", "Size at which a snapshot chunk is closed.",
	                        "Chunks also close at backupkit.chunk_rows rows. Memory use of snapshots and restores "
	                        "is bounded by a few chunks.",
	                        &bk_chunk_kilobytes, 4096, 64, 256 * 1024, PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("backupkit.zstd_level", "zstd compression level of snapshot chunks.",
	                        "Level 1 keeps snapshots near COPY speed; higher levels trade time for space.",
	                        &bk_zstd_level, 1, 1, 19, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("backupkit.progress_notices",
	                         "Sends a progress NOTICE about once a second during long snapshots and restores.", NULL,
	                         &bk_progress_notices, true, PGC_USERSET, 0, NULL, NULL, NULL);
	bk_dist_recovery_init();
	bk_stage_tables_init();
	MarkGUCPrefixReserved("backupkit");
	bk_progress_init();
}
