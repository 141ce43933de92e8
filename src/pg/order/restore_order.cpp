// Reads the foreign keys among a list of live tables from pg_constraint and orders the tables parents-first
// through bk::order_tables.
#include "core/error.hpp"
#include "core/plan/dependency_order.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/partition.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
}

#include "pg/support/compat.hpp"
#include "pg/order/restore_order.hpp"
#include "pg/storage/storage.hpp"

typedef struct RelIndexEntry
{
	Oid relid; // hash key
	int index; // position in the list, -1 when neither it nor an ancestor is listed
} RelIndexEntry;

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
	int cap = 64;
	int count = 0;
	Relation conrel;
	TableScanDesc scan;
	HeapTuple tup;

	for (int i = 0; i < n; i++)
	{
		bool found;
		RelIndexEntry *entry = (RelIndexEntry *) hash_search(listed, &relids[i], HASH_ENTER, &found);
		entry->index = i;
	}
	*child = (int *) SPI_palloc(sizeof(int) * cap);
	*parent = (int *) SPI_palloc(sizeof(int) * cap);
	*connames = (char **) SPI_palloc(sizeof(char *) * cap);
	// Every foreign key of the database, read straight from pg_constraint: the list is usually small compared
	// with the tables' data, and a catalog scan costs no planning and copies no rows.
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	scan = table_beginscan_catalog(conrel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		int c, p;
		if (con->contype != CONSTRAINT_FOREIGN || !bk_constraint_enforced(con))
		{
			continue;
		}
		c = listed_index(listed, cache, con->conrelid);
		if (c < 0)
		{
			continue;
		}
		p = listed_index(listed, cache, con->confrelid);
		if (p < 0)
		{
			continue;
		}
		if (count == cap)
		{
			cap *= 2;
			*child = (int *) repalloc(*child, sizeof(int) * cap);
			*parent = (int *) repalloc(*parent, sizeof(int) * cap);
			*connames = (char **) repalloc(*connames, sizeof(char *) * cap);
		}
		(*child)[count] = c;
		(*parent)[count] = p;
		(*connames)[count] = (char *) SPI_palloc(strlen(NameStr(con->conname)) + 1);
		strcpy((*connames)[count], NameStr(con->conname));
		count++;
	}
	table_endscan(scan);
	table_close(conrel, AccessShareLock);
	hash_destroy(listed);
	hash_destroy(cache);
	*nedges = count;
}

// "schema"."table" in an allocation of its own size: quote_qualified_identifier starts every result with a
// 1 kB StringInfo, and for 10,000 tables touching those fresh pages cost a fifth of the ordering's time.
static const char *
qualified_name(const char *nsp, const char *rel)
{
	const char *qn = quote_identifier(nsp);
	const char *qr = quote_identifier(rel);
	size_t ln = strlen(qn), lr = strlen(qr);
	char *out = (char *) palloc(ln + lr + 2);
	memcpy(out, qn, ln);
	out[ln] = '.';
	memcpy(out + ln + 1, qr, lr + 1);
	return out;
}

// Below this many tables, syscache lookups are cheaper than reading all of pg_class.
static const int describe_scan_threshold = 256;

void
bk_describe_relations(const Oid *relids, int n, char *kinds, char *persistence, const char **names)
{
	HTAB *listed;
	Relation classrel;
	TableScanDesc scan;
	HeapTuple tup;
	Oid last_nsp = InvalidOid;
	char *last_nsp_name = NULL;

	for (int i = 0; i < n; i++)
	{
		kinds[i] = '\0';
		persistence[i] = '\0';
		names[i] = NULL;
	}
	if (n < describe_scan_threshold)
	{
		for (int i = 0; i < n; i++)
		{
			HeapTuple t = SearchSysCache1(RELOID, ObjectIdGetDatum(relids[i]));
			if (!HeapTupleIsValid(t))
			{
				continue;
			}
			Form_pg_class c = (Form_pg_class) GETSTRUCT(t);
			kinds[i] = c->relkind;
			persistence[i] = c->relpersistence;
			names[i] = qualified_name(get_namespace_name(c->relnamespace), NameStr(c->relname));
			ReleaseSysCache(t);
		}
		return;
	}
	// One pass over pg_class for all of them: a syscache lookup per table costs an index scan each on a fresh
	// connection, which for 10,000 tables was most of the ordering's time.
	listed = rel_index_table("backupkit described tables", n);
	for (int i = 0; i < n; i++)
	{
		bool found;
		RelIndexEntry *entry = (RelIndexEntry *) hash_search(listed, &relids[i], HASH_ENTER, &found);
		entry->index = i;
	}
	classrel = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(classrel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(tup);
		Oid relid = c->oid;
		RelIndexEntry *entry = (RelIndexEntry *) hash_search(listed, &relid, HASH_FIND, NULL);
		if (entry == NULL)
		{
			continue;
		}
		if (c->relnamespace != last_nsp)
		{
			last_nsp = c->relnamespace;
			last_nsp_name = get_namespace_name(last_nsp);
		}
		kinds[entry->index] = c->relkind;
		persistence[entry->index] = c->relpersistence;
		names[entry->index] = qualified_name(last_nsp_name, NameStr(c->relname));
	}
	table_endscan(scan);
	table_close(classrel, AccessShareLock);
	hash_destroy(listed);
}

void
bk_order_relations(const Oid *relids, int n, int *order, int *level, int *group)
{
	const char **names;
	char *kinds;

	if (n <= 0)
	{
		return;
	}
	names = (const char **) palloc(sizeof(char *) * n);
	kinds = (char *) palloc(2 * n);
	bk_describe_relations(relids, n, kinds, kinds + n, names);
	for (int i = 0; i < n; i++)
	{
		if (names[i] == NULL)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relids[i])));
		}
	}
	bk_order_named_relations(relids, names, n, order, level, group);
	pfree(kinds);
	pfree(names);
}

void
bk_order_named_relations(const Oid *relids, const char **names, int n, int *order, int *level, int *group)
{
	int nedges;
	int *child;
	int *parent;
	char **connames;

	if (n <= 0)
	{
		return;
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
}
