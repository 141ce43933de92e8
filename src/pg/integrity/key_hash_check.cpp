// Hashed key checks for validation (see key_hash_check.hpp).
#include "core/codec/chunk_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
}

#include "pg/support/compat.hpp"
#include "pg/integrity/key_hash_check.hpp"

typedef struct KeySet
{
	int table;
	int ncols;
	int *positions;
	bool skip_nulls;
	Tuplesortstate *sort;
	bool sorted;
} KeySet;

struct BkKeyCheck
{
	int ntables;
	int nsets;
	int cap;
	KeySet *sets;
	MemoryContext cxt;     // the sets and their sorts
	MemoryContext row_cxt; // per chunk
	char *scratch;
	size_t scratch_cap;
};

BkKeyCheck *
bk_key_check_begin(int ntables)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit key check", ALLOCSET_DEFAULT_SIZES);
	BkKeyCheck *kc = (BkKeyCheck *) MemoryContextAllocZero(cxt, sizeof(BkKeyCheck));
	kc->ntables = ntables;
	kc->cxt = cxt;
	kc->row_cxt = AllocSetContextCreate(cxt, "backupkit key check chunk", ALLOCSET_DEFAULT_SIZES);
	kc->cap = 8;
	kc->sets = (KeySet *) MemoryContextAllocZero(cxt, sizeof(KeySet) * kc->cap);
	return kc;
}

int
bk_key_check_add_set(BkKeyCheck *kc, int table, const int *positions, int ncols, bool skip_nulls)
{
	MemoryContext old;
	KeySet *s;

	for (int i = 0; i < kc->nsets; i++)
	{
		KeySet *k = &kc->sets[i];
		if (k->table == table && k->ncols == ncols && k->skip_nulls == skip_nulls &&
		    memcmp(k->positions, positions, sizeof(int) * ncols) == 0)
		{
			return i;
		}
	}
	if (kc->nsets == kc->cap)
	{
		kc->cap *= 2;
		kc->sets = (KeySet *) repalloc(kc->sets, sizeof(KeySet) * kc->cap);
	}
	old = MemoryContextSwitchTo(kc->cxt);
	s = &kc->sets[kc->nsets];
	memset(s, 0, sizeof(*s));
	s->table = table;
	s->ncols = ncols;
	s->positions = (int *) palloc(sizeof(int) * Max(ncols, 1));
	memcpy(s->positions, positions, sizeof(int) * ncols);
	s->skip_nulls = skip_nulls;
	// Random access: a parent's set is read once per foreign key that references it.
	s->sort = tuplesort_begin_datum(INT8OID, Int8LessOperator, InvalidOid, false, maintenance_work_mem, NULL,
	                                TUPLESORT_RANDOMACCESS);
	MemoryContextSwitchTo(old);
	return kc->nsets++;
}

bool
bk_key_check_has_sets(const BkKeyCheck *kc, int table)
{
	for (int i = 0; i < kc->nsets; i++)
	{
		if (kc->sets[i].table == table)
		{
			return true;
		}
	}
	return false;
}

bool
bk_key_check_rows(BkKeyCheck *kc, int table, int ncols, const char *json, size_t len, int rows, char **error)
{
	MemoryContext old = MemoryContextSwitchTo(kc->row_cxt);
	int nsets = 0;
	int ncolumns = 0;
	int *set_ids, *set_cols, *set_start;
	uint64 *hashes;
	bool *has_null;
	size_t found = 0;
	BkErrorInfo err;
	bool ok;

	MemoryContextReset(kc->row_cxt);
	set_ids = (int *) palloc(sizeof(int) * Max(kc->nsets, 1));
	set_start = (int *) palloc(sizeof(int) * (kc->nsets + 1));
	for (int i = 0; i < kc->nsets; i++)
	{
		if (kc->sets[i].table == table)
		{
			set_ids[nsets++] = i;
			ncolumns += kc->sets[i].ncols;
		}
	}
	set_cols = (int *) palloc(sizeof(int) * Max(ncolumns, 1));
	ncolumns = 0;
	for (int s = 0; s < nsets; s++)
	{
		KeySet *k = &kc->sets[set_ids[s]];
		set_start[s] = ncolumns;
		for (int c = 0; c < k->ncols; c++)
		{
			set_cols[ncolumns++] = k->positions[c];
		}
	}
	set_start[nsets] = ncolumns;
	hashes = (uint64 *) palloc(sizeof(uint64) * Max((size_t) rows * nsets, 1));
	has_null = (bool *) palloc(sizeof(bool) * Max((size_t) rows * nsets, 1));
	if (kc->scratch == NULL || kc->scratch_cap < len + 16)
	{
		kc->scratch_cap = Max(len + 16, kc->scratch_cap * 2);
		kc->scratch = (char *) MemoryContextAllocHuge(kc->cxt, kc->scratch_cap);
	}
	{
		char *scratch = kc->scratch;
		ok = bk_try(
		    [&]()
		    {
			    found = bk::chunk_key_hashes(json, len, ncols, set_cols, set_start, nsets, scratch, hashes, has_null,
			                                 (size_t) Max(rows, 0));
		    },
		    &err);
	}
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		bk_raise_unless_corrupted(&err);
		*error = psprintf("%s", err.message);
		return false;
	}
	for (int s = 0; s < nsets; s++)
	{
		KeySet *k = &kc->sets[set_ids[s]];
		for (size_t r = 0; r < found; r++)
		{
			size_t at = r * (size_t) nsets + (size_t) s;
			if (k->skip_nulls && has_null[at])
			{
				continue;
			}
			tuplesort_putdatum(k->sort, Int64GetDatum((int64) hashes[at]), false);
		}
	}
	return true;
}

static void
rewind_set(KeySet *k)
{
	if (!k->sorted)
	{
		tuplesort_performsort(k->sort);
		k->sorted = true;
	}
	else
	{
		tuplesort_rescan(k->sort);
	}
}

static bool
next_hash(KeySet *k, int64 *value)
{
	Datum d;
	bool isnull;
	bool more = bk_tuplesort_getdatum(k->sort, true, &d, &isnull);
	if (more)
	{
		*value = DatumGetInt64(d);
	}
	return more;
}

bool
bk_key_check_unique(BkKeyCheck *kc, int set)
{
	KeySet *k = &kc->sets[set];
	int64 prev = 0, cur;
	bool first = true;

	rewind_set(k);
	while (next_hash(k, &cur))
	{
		CHECK_FOR_INTERRUPTS();
		if (!first && cur == prev)
		{
			return false;
		}
		prev = cur;
		first = false;
	}
	return true;
}

bool
bk_key_check_contained(BkKeyCheck *kc, int child_set, int parent_set)
{
	KeySet *child = &kc->sets[child_set];
	KeySet *parent = &kc->sets[parent_set];
	int64 c, p = 0;
	bool have_parent;

	if (child_set == parent_set)
	{
		return true; // a set always contains itself (a foreign key from columns to the same columns)
	}
	rewind_set(child);
	rewind_set(parent);
	have_parent = next_hash(parent, &p);
	while (next_hash(child, &c))
	{
		CHECK_FOR_INTERRUPTS();
		while (have_parent && p < c)
		{
			have_parent = next_hash(parent, &p);
		}
		if (!have_parent || p != c)
		{
			return false;
		}
	}
	return true;
}

void
bk_key_check_end(BkKeyCheck *kc)
{
	for (int i = 0; i < kc->nsets; i++)
	{
		tuplesort_end(kc->sets[i].sort);
	}
	MemoryContextDelete(kc->cxt);
}
