// Writer for jsonb reports (see report_json.hpp).
extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
}

#include "pg/support/report_json.hpp"

static void
prefix(BkJson *j, const char *key)
{
	if (j->depth > 0 && j->need_comma[j->depth])
	{
		appendStringInfoString(&j->buf, ", ");
	}
	if (j->depth > 0)
	{
		j->need_comma[j->depth] = true;
	}
	if (key != NULL)
	{
		escape_json(&j->buf, key);
		appendStringInfoString(&j->buf, ": ");
	}
}

void
bk_json_init(BkJson *j)
{
	memset(j, 0, sizeof(*j));
	initStringInfo(&j->buf);
}

void
bk_json_begin_object(BkJson *j, const char *key)
{
	prefix(j, key);
	appendStringInfoChar(&j->buf, '{');
	j->depth++;
	Assert(j->depth < 32);
	j->need_comma[j->depth] = false;
}

void
bk_json_end_object(BkJson *j)
{
	appendStringInfoChar(&j->buf, '}');
	j->depth--;
}

void
bk_json_begin_array(BkJson *j, const char *key)
{
	prefix(j, key);
	appendStringInfoChar(&j->buf, '[');
	j->depth++;
	j->need_comma[j->depth] = false;
}

void
bk_json_end_array(BkJson *j)
{
	appendStringInfoChar(&j->buf, ']');
	j->depth--;
}

void
bk_json_str(BkJson *j, const char *key, const char *value)
{
	prefix(j, key);
	if (value == NULL)
	{
		appendStringInfoString(&j->buf, "null");
	}
	else
	{
		escape_json(&j->buf, value);
	}
}

void
bk_json_int(BkJson *j, const char *key, int64 value)
{
	prefix(j, key);
	appendStringInfo(&j->buf, INT64_FORMAT, value);
}

void
bk_json_num(BkJson *j, const char *key, double value)
{
	prefix(j, key);
	appendStringInfo(&j->buf, "%.3f", value);
}

void
bk_json_bool(BkJson *j, const char *key, bool value)
{
	prefix(j, key);
	appendStringInfoString(&j->buf, value ? "true" : "false");
}

void
bk_json_raw(BkJson *j, const char *key, const char *json_text)
{
	prefix(j, key);
	appendStringInfoString(&j->buf, json_text);
}

Datum
bk_json_finish(BkJson *j)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(j->buf.data));
}
