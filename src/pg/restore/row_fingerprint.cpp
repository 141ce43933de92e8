// backupkit.row_fingerprint(record): the fingerprint of a live row (see core/codec/row_fingerprint.hpp), which the
// restore engine compares with the captured row's to leave unchanged rows alone without staging them.
// It depends on the output settings, so it is only meaningful inside backupkit's own statements, which run
// under the fixed settings the capture used.
#include "core/codec/checksum.hpp"
#include "core/codec/row_fingerprint.hpp"

extern "C"
{
#include "postgres.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

	PG_FUNCTION_INFO_V1(bk_row_fingerprint);
}

// Per call site: the row type last seen and what it takes to print its columns.
typedef struct FingerprintCache
{
	Oid type_id;
	int32 typmod;
	TupleDesc desc;
	FmgrInfo *out;
	Datum *values;
	bool *nulls;
	StringInfoData buf;
} FingerprintCache;

static FingerprintCache *
fingerprint_cache(FunctionCallInfo fcinfo, Oid type_id, int32 typmod)
{
	FingerprintCache *c = (FingerprintCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	TupleDesc desc;

	if (c != NULL && c->type_id == type_id && c->typmod == typmod)
	{
		return c;
	}
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (c == NULL)
	{
		c = (FingerprintCache *) palloc0(sizeof(FingerprintCache));
		initStringInfo(&c->buf);
		fcinfo->flinfo->fn_extra = c;
	}
	desc = lookup_rowtype_tupdesc(type_id, typmod);
	c->desc = CreateTupleDescCopy(desc);
	ReleaseTupleDesc(desc);
	c->type_id = type_id;
	c->typmod = typmod;
	c->out = (FmgrInfo *) palloc0(sizeof(FmgrInfo) * Max(c->desc->natts, 1));
	c->values = (Datum *) palloc(sizeof(Datum) * Max(c->desc->natts, 1));
	c->nulls = (bool *) palloc(sizeof(bool) * Max(c->desc->natts, 1));
	for (int i = 0; i < c->desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(c->desc, i);
		Oid func;
		bool varlena;
		if (att->attisdropped)
		{
			continue;
		}
		getTypeOutputInfo(att->atttypid, &func, &varlena);
		fmgr_info_cxt(func, &c->out[i], fcinfo->flinfo->fn_mcxt);
	}
	MemoryContextSwitchTo(old);
	return c;
}

extern "C" Datum
bk_row_fingerprint(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
	FingerprintCache *c = fingerprint_cache(fcinfo, HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
	HeapTupleData tuple;

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, c->desc, c->values, c->nulls);

	resetStringInfo(&c->buf);
	for (int i = 0; i < c->desc->natts; i++)
	{
		char header[bk::fingerprint_header_size];
		if (TupleDescAttr(c->desc, i)->attisdropped)
		{
			continue;
		}
		if (c->nulls[i])
		{
			bk::fingerprint_header(header, true, 0);
			appendBinaryStringInfo(&c->buf, header, sizeof(header));
			continue;
		}
		{
			char *text = OutputFunctionCall(&c->out[i], c->values[i]);
			size_t len = strlen(text);
			bk::fingerprint_header(header, false, len);
			appendBinaryStringInfo(&c->buf, header, sizeof(header));
			appendBinaryStringInfo(&c->buf, text, (int) len);
			pfree(text);
		}
	}
	PG_RETURN_INT64((int64) bk::checksum64(c->buf.data, (size_t) c->buf.len, bk::fingerprint_seed));
}
