// SPI as backupkit uses it: every return code checked and reported by name.
#pragma once

extern "C"
{
#include "postgres.h"
#include "executor/spi.h"
}

void bk_spi_connect(void);
void bk_spi_finish(void);
int bk_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values, const char *nulls, bool read_only,
                long count);
SPIPlanPtr bk_spi_prepare(const char *sql, int nargs, Oid *argtypes);
// The plan kept in *slot for the backend's life, prepared (and kept with SPI_keepplan) on first use.
SPIPlanPtr bk_spi_kept_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes);
int bk_spi_exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, long count);
Datum bk_spi_get(int row, int col, bool *isnull);
char *bk_spi_get_text(int row, int col);
// A statement without parameters, not read-only (it sees the operation's own writes): the bigint in the first
// column of its first row (a count), or the number of rows it processed (a write).
int64 bk_spi_count(const char *sql);
int64 bk_spi_run(const char *sql);
// An oid[] parameter value (OIDARRAYOID) holding relids[0 .. n - 1].
Datum bk_spi_oid_array(const Oid *relids, int n);
