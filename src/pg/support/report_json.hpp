// A small writer for the jsonb reports backupkit returns. Strings go through PostgreSQL's escape_json and
// the finished text through jsonb_in, so a report is always valid jsonb.
#pragma once

extern "C"
{
#include "postgres.h"
#include "lib/stringinfo.h"
}

typedef struct BkJson
{
	StringInfoData buf;
	bool need_comma[32];
	int depth;
} BkJson;

void bk_json_init(BkJson *j);
void bk_json_begin_object(BkJson *j, const char *key); // key NULL at top level or inside an array
void bk_json_end_object(BkJson *j);
void bk_json_begin_array(BkJson *j, const char *key);
void bk_json_end_array(BkJson *j);
void bk_json_str(BkJson *j, const char *key, const char *value); // value NULL writes null
void bk_json_int(BkJson *j, const char *key, int64 value);
void bk_json_num(BkJson *j, const char *key, double value);
void bk_json_bool(BkJson *j, const char *key, bool value);
void bk_json_raw(BkJson *j, const char *key, const char *json_text); // already valid JSON
Datum bk_json_finish(BkJson *j);                                     // a jsonb Datum
