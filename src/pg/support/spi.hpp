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
int bk_spi_exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, long count);
Datum bk_spi_get(int row, int col, bool *isnull);
char *bk_spi_get_text(int row, int col);
