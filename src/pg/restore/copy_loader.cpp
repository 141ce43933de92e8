// COPY FROM a callback. copy_data_source_cb carries no user argument, so the source being read is kept in
// a file-level pointer for the duration of one CopyFrom call (backends are single-threaded).
#include "core/codec/chunk_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/table.h"
#include "commands/copy.h"
#include "commands/copyfrom_internal.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
}

#include "pg/support/compat.hpp"
#include "pg/restore/copy_loader.hpp"
#include "pg/support/progress.hpp"
#include "pg/support/message_names.hpp"

typedef struct ChunkCopySource
{
	BkChunkReader *reader;
	const bool *keep;
	// key stage: key columns, and scratch space for the fingerprint input
	const int *key_cols;
	int nkeys;
	char *scratch;
	size_t scratch_cap;
	// row filter
	BkRowFilter filter;
	void *filter_arg;
	bool first_pass; // with a filter: count the chunks' rows as progress
	bool *row_keep;
	size_t row_keep_cap;
	bool done;
	char *buf; // COPY text of the current chunk (a grow-only buffer)
	size_t cap;
	size_t len;
	size_t pos;
	uint64 rows;
} ChunkCopySource;

static ChunkCopySource *current_source = NULL;

static bool
load_next_chunk(ChunkCopySource *src)
{
	BkChunkReader *r = src->reader;
	BkErrorInfo err;
	size_t rows = 0;
	size_t n = 0;
	char *out;
	const bool *row_keep = NULL;
	int64 first_ordinal = (int64) src->rows;

	if (src->done || !bk_chunk_reader_next(r))
	{
		return false;
	}
	if (src->filter != NULL)
	{
		int64 wanted;
		if ((size_t) r->rows > src->row_keep_cap)
		{
			src->row_keep_cap = Max((size_t) r->rows, src->row_keep_cap * 2);
			if (src->row_keep != NULL)
			{
				pfree(src->row_keep);
			}
			src->row_keep = (bool *) MemoryContextAllocHuge(r->owner_cxt, src->row_keep_cap);
		}
		memset(src->row_keep, 0, (size_t) r->rows);
		wanted = src->filter(src->filter_arg, first_ordinal, r->rows, src->row_keep);
		// A second pass: the first counted these rows already; this keeps the once-a-second notices coming
		// (the first call to the filter ran the comparison with the live table).
		bk_progress_rows(src->first_pass ? (int64) r->rows : 0);
		src->rows += (uint64) r->rows;
		if (wanted < 0)
		{
			src->done = true;
			return false;
		}
		if (wanted == 0)
		{
			// Nothing to load here: the chunk was read and verified; its rows are not parsed.
			src->len = 0;
			src->pos = 0;
			return true;
		}
		row_keep = src->row_keep;
	}
	{
		const char *json = r->json;
		size_t len = r->len;
		int ncols = r->entry->ncaptured;
		const bool *keep = src->keep;
		bool ok;
		if (src->key_cols != NULL)
		{
			size_t cap = bk::key_text_bound(len, (size_t) Max(r->rows, 0), src->nkeys);
			char *scratch = bk_chunk_reader_buffer(r, &src->scratch, &src->scratch_cap, len + 16);
			const int *key_cols = src->key_cols;
			int nkeys = src->nkeys;
			out = bk_chunk_reader_buffer(r, &src->buf, &src->cap, cap);
			ok = bk_try(
			    [&]()
			    {
				    n = bk::chunk_to_key_text(json, len, ncols, keep, key_cols, nkeys, first_ordinal, scratch, out, cap,
				                              &rows, row_keep, row_keep != NULL ? (size_t) r->rows : 0);
			    },
			    &err);
		}
		else
		{
			// COPY text is never longer than the JSON it comes from.
			size_t keep_len = (size_t) Max(r->rows, 0);
			out = bk_chunk_reader_buffer(r, &src->buf, &src->cap, len + 16);
			ok = bk_try([&]() { n = bk::chunk_to_copy_text(json, len, ncols, keep, out, &rows, row_keep, keep_len); },
			            &err);
		}
		if (!ok)
		{
			bk_chunk_core_failure(r->entry, r->chunk_no, &err);
		}
	}
	if (rows != (size_t) r->rows)
	{
		bk_chunk_corrupted(r->entry, r->chunk_no, "The chunk's row count differs from the recorded count.");
	}
	src->len = n;
	src->pos = 0;
	if (src->filter == NULL)
	{
		src->rows += rows;
	}
	if (src->filter == NULL)
	{
		bk_progress_rows((int64) rows);
	}
	return true;
}

static int
copy_source_read(void *outbuf, int minread, int maxread)
{
	ChunkCopySource *src = current_source;
	int copied = 0;

	while (copied < maxread)
	{
		size_t avail;
		if (src->pos >= src->len)
		{
			if (copied >= minread && copied > 0)
			{
				break;
			}
			if (!load_next_chunk(src))
			{
				break;
			}
			continue;
		}
		avail = Min(src->len - src->pos, (size_t) (maxread - copied));
		memcpy((char *) outbuf + copied, src->buf + src->pos, avail);
		src->pos += avail;
		copied += (int) avail;
	}
	return copied;
}

typedef struct CopyErrorContext
{
	const char *table;
	int64 snapshot_id;
	List *attnames;
	List *key_names;
	CopyFromState cstate;
} CopyErrorContext;

// Names the restored table (not the staging table) and the key of the row COPY was loading.
static void
copy_error_context(void *arg)
{
	CopyErrorContext *c = (CopyErrorContext *) arg;
	CopyFromState cs = c->cstate;
	StringInfoData names, values;
	ListCell *lk;

	if (cs == NULL || !cs->line_buf_valid || c->key_names == NIL)
	{
		errcontext("restoring table \"%s\" from snapshot " INT64_FORMAT, c->table, c->snapshot_id);
		return;
	}
	initStringInfo(&names);
	initStringInfo(&values);
	foreach (lk, c->key_names)
	{
		const char *key = strVal(lfirst(lk));
		ListCell *la;
		int field = 0;
		foreach (la, c->attnames)
		{
			if (strcmp(strVal(lfirst(la)), key) == 0)
			{
				break;
			}
			field++;
		}
		{
			const char *p = cs->line_buf.data;
			const char *end;
			for (int i = 0; i < field && p != NULL; i++)
			{
				p = strchr(p, '\t');
				p = p ? p + 1 : NULL;
			}
			if (p == NULL)
			{
				p = "";
			}
			end = strchr(p, '\t');
			if (end == NULL)
			{
				end = p + strlen(p);
			}
			appendStringInfo(&names, "%s%s", names.len ? ", " : "", quote_identifier(key));
			appendStringInfo(&values, "%s%.*s", values.len ? ", " : "", (int) Min(end - p, 200), p);
		}
	}
	errcontext("restoring table \"%s\" from snapshot " INT64_FORMAT ", row with key (%s)=(%s)", c->table,
	           c->snapshot_id, names.data, values.data);
}

static uint64
copy_into(Oid relid, List *attnames, ChunkCopySource *shape, bool check_insert_privilege, const char *display_name,
          List *key_names)
{
	BkChunkReader *reader = shape->reader;
	CopyErrorContext errctx = {bk_rel_display_name(relid), reader->entry->snapshot_id, attnames, key_names, NULL};
	ErrorContextCallback errcb;
	ParseState *pstate = make_parsestate(NULL);
	Relation rel = table_open(relid, RowExclusiveLock);
	ChunkCopySource src;
	CopyFromState cstate;
	List *options;
	uint64 processed;

	if (check_insert_privilege)
	{
		ParseNamespaceItem *nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
		BkRelPermissions *perms = bk_nsitem_permissions(nsitem);
		List *attnums = CopyGetAttnums(RelationGetDescr(rel), rel, attnames);
		ListCell *lc;
		perms->requiredPerms = ACL_INSERT;
		foreach (lc, attnums)
		{
			perms->insertedCols =
			    bms_add_member(perms->insertedCols, lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
		}
		bk_check_permissions(pstate, perms);
	}
	else
	{
		addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	}

	src = *shape;
	// The text is in the database encoding, whatever the client's.
	options = list_make1(makeDefElem(pstrdup("encoding"), (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, copy_source_read, attnames, options);
	// COPY's own error context then names the restored table instead of a staging table.
	cstate->cur_relname = display_name;
	errctx.cstate = cstate;
	errcb.callback = copy_error_context;
	errcb.arg = &errctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	current_source = &src;
	PG_TRY();
	{
		processed = CopyFrom(cstate);
	}
	PG_FINALLY();
	{
		current_source = NULL;
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;
	EndCopyFrom(cstate);
	table_close(rel, NoLock);
	free_parsestate(pstate);
	return processed;
}

// The source of one COPY: the chunks of reader, the kept columns, and the rows filter keeps (all when NULL).
static void
source_init(ChunkCopySource *src, BkChunkReader *reader, const bool *keep, BkRowFilter filter, void *filter_arg,
            bool first_pass)
{
	memset(src, 0, sizeof(*src));
	src->reader = reader;
	src->keep = keep;
	src->filter = filter;
	src->filter_arg = filter_arg;
	src->first_pass = first_pass;
}

uint64
bk_copy_chunks_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep, bool check_insert_privilege,
                    const char *display_name, List *key_names)
{
	ChunkCopySource src;
	source_init(&src, reader, keep, NULL, NULL, false);
	return copy_into(relid, attnames, &src, check_insert_privilege, display_name, key_names);
}

uint64
bk_copy_chunk_rows_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep, BkRowFilter filter,
                        void *filter_arg, bool first_pass, bool check_insert_privilege, const char *display_name,
                        List *key_names)
{
	ChunkCopySource src;
	source_init(&src, reader, keep, filter, filter_arg, first_pass);
	return copy_into(relid, attnames, &src, check_insert_privilege, display_name, key_names);
}

uint64
bk_copy_chunk_keys_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep, const int *key_cols,
                        int nkeys, const char *display_name, BkRowFilter filter, void *filter_arg)
{
	ChunkCopySource src;
	source_init(&src, reader, keep, filter, filter_arg, true);
	src.key_cols = key_cols;
	src.nkeys = nkeys;
	return copy_into(relid, attnames, &src, false, display_name, NIL);
}
