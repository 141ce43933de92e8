// Reads the foreign keys among a list of live tables from pg_constraint and orders the tables parents-first
// through bk::order_tables.
extern "C"
{
#include "postgres.h"
#include "catalog/partition.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
}

#include "../core/restore_order.hpp"
#include "boundary.hpp"
#include "restore_order.hpp"
#include "storage.hpp"

typedef struct RelIndexEntry
{
	Oid relid; // hash key
	int index; // position in the list, -1 when neither it nor an ancestor is listed
} RelIndexEntry;

// Every foreign key of the database: the list is usually small compared with the tables' data, and mapping
// partitions to listed ancestors is cheaper in C than in a correlated query per constraint.
static const char *const foreign_keys_sql =
    "SELECT conrelid, confrelid, conname::text FROM pg_catalog.pg_constraint WHERE contype = 'f'";

// Index of the listed table relid stands for: itself, else its nearest listed partition ancestor, else -1.
static int
listed_index(HTAB *listed, HTAB *cache, Oid relid)
{
	RelIndexEntry *entry;
	bool found;
	int index = -1;

	entry = (RelIndexEntry *) hash_search(listed, &relid, HASH_FIND, NULL);
	if (entry != NULL)
	{
		return entry->index;
	}
	entry = (RelIndexEntry *) hash_search(cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
	{
		return entry->index;
	}
	if (get_rel_relispartition(relid))
	{
		List *ancestors = get_partition_ancestors(relid); // nearest first
		ListCell *lc;
		foreach (lc, ancestors)
		{
			RelIndexEntry *a = (RelIndexEntry *) hash_search(listed, &lfirst_oid(lc), HASH_FIND, NULL);
			if (a != NULL)
			{
				index = a->index;
				break;
			}
		}
		list_free(ancestors);
	}
	entry = (RelIndexEntry *) hash_search(cache, &relid, HASH_ENTER, &found);
	entry->index = index;
	return index;
}

static HTAB *
rel_index_table(const char *name, int size)
{
	HASHCTL ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RelIndexEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

void
bk_relation_fk_edges(const Oid *relids, int n, int *nedges, int **child, int **parent, char ***connames)
{
	HTAB *listed = rel_index_table("backupkit listed tables", n);
	HTAB *cache = rel_index_table("backupkit partition ancestors", 64);
	SPITupleTable *tt;
	uint64 nrows;
	int count = 0;

	for (int i = 0; i < n; i++)
	{
		bool found;
		RelIndexEntry *entry = (RelIndexEntry *) hash_search(listed, &relids[i], HASH_ENTER, &found);
		entry->index = i;
	}
	bk_spi_exec(foreign_keys_sql, 0, NULL, NULL, NULL, true, 0);
	tt = SPI_tuptable;
	nrows = SPI_processed;
	*child = (int *) SPI_palloc(sizeof(int) * Max(nrows, 1));
	*parent = (int *) SPI_palloc(sizeof(int) * Max(nrows, 1));
	*connames = (char **) SPI_palloc(sizeof(char *) * Max(nrows, 1));
	for (uint64 r = 0; r < nrows; r++)
	{
		bool isnull;
		Oid from = DatumGetObjectId(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull));
		Oid to = DatumGetObjectId(SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull));
		int c = listed_index(listed, cache, from);
		int p;
		char *name;

		if (c < 0)
		{
			continue;
		}
		p = listed_index(listed, cache, to);
		if (p < 0)
		{
			continue;
		}
		name = SPI_getvalue(tt->vals[r], tt->tupdesc, 3);
		(*child)[count] = c;
		(*parent)[count] = p;
		(*connames)[count] = (char *) SPI_palloc(strlen(name) + 1);
		strcpy((*connames)[count], name);
		count++;
	}
	hash_destroy(listed);
	hash_destroy(cache);
	*nedges = count;
}

void
bk_order_relations(const Oid *relids, int n, int *order, int *level, int *group)
{
	const char **names;
	int nedges;
	int *child;
	int *parent;
	char **connames;

	if (n <= 0)
	{
		return;
	}
	names = (const char **) palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		names[i] = bk_rel_qualified_name(relids[i]);
	}
	bk_relation_fk_edges(relids, n, &nedges, &child, &parent, &connames);
	BK_CORE(bk::order_tables((size_t) n, names, (size_t) nedges, child, parent, order, level, group));
	pfree(child);
	pfree(parent);
	for (int e = 0; e < nedges; e++)
	{
		pfree(connames[e]);
	}
	pfree(connames);
	pfree(names);
}
