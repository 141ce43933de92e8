// Label checks shared by snapshot_tables and schedule_snapshots (which rejects a label now rather than at every
// run of its job).
extern "C"
{
#include "postgres.h"
#include "mb/pg_wchar.h"
}

#include "pg/capture/snapshot_label.hpp"

void
bk_check_label(const char *label)
{
	int chars;

	if (label == NULL)
	{
		return;
	}
	chars = pg_mbstrlen(label);
	if (chars > BK_LABEL_MAX_CHARS)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("label of %d characters is too long", chars),
		                errdetail("A snapshot label may have at most %d characters.", BK_LABEL_MAX_CHARS),
		                errhint("Keep long descriptions in a table of your own, keyed by snapshot_id.")));
	}
}
