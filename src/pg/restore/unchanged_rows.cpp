// See unchanged_rows.hpp for why a tuple id and an xmin prove a row unchanged.
#include "core/codec/checksum.hpp"
#include "core/codec/tid_runs.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

#include "pg/support/compat.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/restore/unchanged_rows.hpp"

// Fewer transactions than this since the capture keep every later xid "following" the capture's xmin in
// PostgreSQL's modulo-2^32 comparison (which holds up to 2^31; the margin costs nothing).
static const uint64 max_xid_distance = UINT64CONST(1) << 30;

struct BkUnchangedRows
{
	Relation rel;
	Snapshot snapshot;
	BufferAccessStrategy strategy;
	BlockNumber nblocks;
	TransactionId horizon; // the capture snapshot's xmin
	BkChunkReader *reader;
	BlockNumber page; // whose tuples old_live describes, or InvalidBlockNumber
	bool old_live[MaxHeapTuplesPerPage + 1];
	uint32 *blocks;
	uint16 *offsets;
	int cap;
	int64 unchanged;
	bool incomplete; // a chunk had no valid tuple id list
};

// A hash of what gives the heap's bytes their meaning: every attribute's number, name, type, typmod and
// whether it is dropped or generated.
static int64
layout_hash(Relation rel)
{
	TupleDesc desc = RelationGetDescr(rel);
	uint64 h = bk::checksum64(&desc->natts, sizeof(desc->natts));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		struct
		{
			int16 attnum;
			bool dropped;
			char generated;
			Oid type;
			int32 typmod;
		} fixed;
		memset(&fixed, 0, sizeof(fixed));
		fixed.attnum = a->attnum;
		fixed.dropped = a->attisdropped;
		fixed.generated = a->attgenerated;
		fixed.type = a->atttypid;
		fixed.typmod = a->atttypmod;
		h = bk::checksum64(&fixed, sizeof(fixed), h);
		h = bk::checksum64(NameStr(a->attname), strlen(NameStr(a->attname)), h);
	}
	return (int64) h;
}

static bool
is_plain_heap(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_rel->relam == HEAP_TABLE_AM_OID;
}

bool
bk_capture_position(Oid relid, BkCapturePosition *out)
{
	Snapshot snap = GetActiveSnapshot();
	Relation rel = table_open(relid, AccessShareLock);
	// Reading ctid needs SELECT on the table itself: a caller with column privileges only captures without it.
	bool ok = is_plain_heap(rel) && snap != NULL && TransactionIdIsNormal(snap->xmin) &&
	          pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
	if (ok)
	{
		FullTransactionId next = ReadNextFullTransactionId();
		uint64 epoch = EpochFromFullTransactionId(next);
		// xmin is at most next; a larger 32-bit value means it comes from before next's epoch began.
		if (snap->xmin > XidFromFullTransactionId(next))
		{
			epoch--;
		}
		out->xmin = (epoch << 32) | snap->xmin;
		out->relfilenode = bk_relation_filenumber(rel);
		out->layout = layout_hash(rel);
	}
	table_close(rel, NoLock);
	return ok;
}

bool
bk_unchanged_rows_apply(const BkTableEntry *entry, Oid relid)
{
	Relation rel;
	uint64 next;
	bool same_heap;

	// A Citus table's heap on the coordinator is an empty shell; its rows live in shards (citus_restore.hpp).
	if (!entry->has_capture_position || entry->relid != relid || bk_citus_table(relid, NULL))
	{
		return false;
	}
	next = U64FromFullTransactionId(ReadNextFullTransactionId());
	if (entry->capture_xmin > next || next - entry->capture_xmin >= max_xid_distance ||
	    !TransactionIdIsNormal((TransactionId) entry->capture_xmin))
	{
		return false;
	}
	// Reading tuples directly bypasses policies and column privileges: leave such tables to the SQL path,
	// which applies them (and raises the privilege error the caller should see).
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
	    pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		return false;
	}
	rel = table_open(relid, AccessShareLock);
	same_heap = is_plain_heap(rel) && bk_relation_filenumber(rel) == entry->capture_relfilenode &&
	            layout_hash(rel) == entry->capture_layout;
	table_close(rel, NoLock);
	return same_heap;
}

bool
bk_tid_list_valid(const bytea *list, int rows, BkErrorInfo *err)
{
	uint32 *blocks;
	uint16 *offsets;
	const char *src = VARDATA_ANY(list);
	size_t len = VARSIZE_ANY_EXHDR(list);
	size_t n;

	if (rows < 0)
	{
		bk_error_info_set(err, bk::sqlstate::data_corrupted, "the chunk's recorded row count is negative", "", "");
		return false;
	}
	n = (size_t) rows;
	blocks = (uint32 *) palloc(sizeof(uint32) * Max(n, 1));
	offsets = (uint16 *) palloc(sizeof(uint16) * Max(n, 1));
	return bk_try([&]() { bk::tid_runs_decode(src, len, n, blocks, offsets); }, err);
}

bool
bk_unchanged_rows_all_listed(const BkTableEntry *entry)
{
	Oid argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum values[3] = {Int64GetDatum(entry->snapshot_id), Int32GetDatum(entry->table_no), Int32GetDatum(0)};
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit tid lists", ALLOCSET_DEFAULT_SIZES);
	SPIPlanPtr plan = bk_spi_prepare("SELECT row_count, row_tids FROM backupkit.snapshot_chunk"
	                                 " WHERE snapshot_id = $1 AND table_no = $2 AND chunk_no = $3",
	                                 3, argtypes);
	bool all = true;

	// One chunk at a time, so memory stays bounded by a chunk's list whatever the table's size.
	for (int c = 0; c < entry->chunk_count && all; c++)
	{
		BkOwnerAccess access;
		bool isnull;
		values[2] = Int32GetDatum(c);
		bk_owner_begin(&access);
		bk_spi_exec_plan(plan, values, NULL, true, 1);
		bk_owner_end(&access);
		all = SPI_processed == 1;
		if (all)
		{
			int rows = DatumGetInt32(bk_spi_get(0, 1, &isnull));
			Datum d = bk_spi_get(0, 2, &isnull);
			if (!isnull)
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);
				BkErrorInfo err;
				all = bk_tid_list_valid((bytea *) PG_DETOAST_DATUM_COPY(d), rows, &err);
				MemoryContextSwitchTo(old);
			}
			else
			{
				all = false;
			}
		}
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(cxt);
	}
	SPI_freeplan(plan);
	MemoryContextDelete(cxt);
	return all;
}

BkUnchangedRows *
bk_unchanged_rows_begin(const BkTableEntry *entry, Oid relid, BkChunkReader *reader)
{
	Relation rel;
	BkUnchangedRows *u;

	if (!bk_unchanged_rows_apply(entry, relid))
	{
		return NULL;
	}
	rel = table_open(relid, AccessShareLock);
	u = (BkUnchangedRows *) palloc0(sizeof(BkUnchangedRows));
	u->rel = rel;
	// The latest snapshot, taken after the caller's lock: what the restore's own statements will see.
	u->snapshot = RegisterSnapshot(GetLatestSnapshot());
	PredicateLockRelation(rel, u->snapshot);
	u->strategy = GetAccessStrategy(BAS_BULKREAD);
	u->nblocks = RelationGetNumberOfBlocks(rel);
	u->horizon = (TransactionId) entry->capture_xmin;
	u->reader = reader;
	u->page = InvalidBlockNumber;
	return u;
}

// Marks the line pointers of page blk holding a live tuple inserted before the capture.
static void
load_page(BkUnchangedRows *u, BlockNumber blk)
{
	Buffer buf;
	Page page;
	OffsetNumber maxoff;

	memset(u->old_live, 0, sizeof(u->old_live));
	u->page = blk;
	if (blk >= u->nblocks)
	{
		return;
	}
	CHECK_FOR_INTERRUPTS();
	buf = ReadBufferExtended(u->rel, MAIN_FORKNUM, blk, RBM_NORMAL, u->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff && off <= MaxHeapTuplesPerPage; off++)
	{
		ItemId lp = PageGetItemId(page, off);
		HeapTupleData tup;
		if (!ItemIdIsNormal(lp))
		{
			continue;
		}
		tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
		tup.t_len = ItemIdGetLength(lp);
		tup.t_tableOid = RelationGetRelid(u->rel);
		ItemPointerSet(&tup.t_self, blk, off);
		// The raw xmin survives freezing; a tuple written since the capture has an xid that follows the horizon.
		if (!TransactionIdPrecedes(HeapTupleHeaderGetRawXmin(tup.t_data), u->horizon))
		{
			continue;
		}
		u->old_live[off] = HeapTupleSatisfiesVisibility(&tup, u->snapshot, buf);
	}
	UnlockReleaseBuffer(buf);
}

int64
bk_unchanged_rows_filter(void *arg, int64 first_ordinal, int rows, bool *row_keep)
{
	BkUnchangedRows *u = (BkUnchangedRows *) arg;
	BkChunkReader *r = u->reader;
	BkErrorInfo err;
	int64 kept = 0;

	(void) first_ordinal;
	if (rows > u->cap)
	{
		u->cap = Max(rows, u->cap * 2);
		if (u->blocks != NULL)
		{
			pfree(u->blocks);
			pfree(u->offsets);
		}
		u->blocks = (uint32 *) MemoryContextAlloc(r->owner_cxt, sizeof(uint32) * u->cap);
		u->offsets = (uint16 *) MemoryContextAlloc(r->owner_cxt, sizeof(uint16) * u->cap);
	}
	{
		const char *data = r->tids;
		size_t len = r->tids_len;
		uint32 *blocks = u->blocks;
		uint16 *offsets = u->offsets;
		size_t n = (size_t) rows;
		// A chunk without a (valid) tuple id list just takes the normal path: the list is a hint, not data.
		if (data == NULL || !bk_try([&]() { bk::tid_runs_decode(data, len, n, blocks, offsets); }, &err))
		{
			if (data != NULL)
			{
				bk_raise_unless_corrupted(&err);
			}
			memset(row_keep, true, (size_t) rows);
			u->incomplete = true;
			return rows;
		}
	}
	for (int i = 0; i < rows; i++)
	{
		BlockNumber blk = u->blocks[i];
		OffsetNumber off = u->offsets[i];
		if (blk != u->page)
		{
			load_page(u, blk);
		}
		row_keep[i] = !(off <= MaxHeapTuplesPerPage && u->old_live[off]);
		if (row_keep[i])
		{
			kept++;
		}
	}
	u->unchanged += rows - kept;
	return kept;
}

int64
bk_unchanged_rows_end(BkUnchangedRows *u, bool *complete)
{
	int64 n = u->unchanged;
	if (complete != NULL)
	{
		*complete = !u->incomplete;
	}
	FreeAccessStrategy(u->strategy);
	UnregisterSnapshot(u->snapshot);
	table_close(u->rel, NoLock);
	return n;
}
