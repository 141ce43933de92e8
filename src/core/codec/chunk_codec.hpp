// The chunk payload format: the text of a jsonb array of rows, each row an array holding one JSON string
// (the column's text representation under fixed output settings) or null per captured column, e.g.
//   [["1", "alice", null], ["2", "bob", "{1,2}"]]
// It is written exactly as PostgreSQL's jsonb output prints such a value (", " between elements, escapes as
// escape_json makes them), so the same bytes are both the jsonb's canonical text and what zstd compresses.
// Every function here works on caller-provided buffers: src/pg allocates them with palloc.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

// Worst-case size of json_escape_string's output for an input of len bytes.
constexpr size_t
json_escaped_bound(size_t len)
{
	return 6 * len + 2;
}

// Writes str (len bytes, no NUL inside) as a quoted JSON string, byte-for-byte as PostgreSQL's escape_json
// would; out must hold json_escaped_bound(len) bytes. Returns the number of bytes written.
size_t json_escape_string(const char *str, size_t len, char *out) noexcept;

// Converts a chunk to COPY text format (tab-separated, \N for null, one line per row), dropping the columns
// whose keep[] entry is false. ncols is the number of columns every row must have. out must hold len bytes
// (the COPY text of a chunk is never longer than its JSON text). Returns bytes written; *rows gets the row
// count. Throws bk::Error XX001 when the payload is not a well-formed chunk of ncols-wide rows.
// With row_keep, only the rows whose entry is true are written (rows past row_keep_len are dropped).
size_t chunk_to_copy_text(const char *json, size_t len, int ncols, const bool *keep, char *out, size_t *rows,
                          const bool *row_keep = nullptr, size_t row_keep_len = 0);

// Converts a chunk to the COPY text of a key stage: one line per row holding the key columns (key_cols:
// indexes into the row's ncols values, in key order), the row's fingerprint over its kept columns (see
// row_fingerprint.hpp) and its ordinal (first_ordinal for the chunk's first row, then counting up).
// scratch must hold len + 16 bytes; out must hold out_cap bytes, and key_text_bound(len, rows, nkeys) is
// always enough. With row_keep, only the rows whose entry is true get a line (ordinals still count every
// row). Throws bk::Error XX001 on a malformed chunk or when out would overflow.
size_t chunk_to_key_text(const char *json, size_t len, int ncols, const bool *keep, const int *key_cols, int nkeys,
                         int64_t first_ordinal, char *scratch, char *out, size_t out_cap, size_t *rows,
                         const bool *row_keep = nullptr, size_t row_keep_len = 0);

// Hashes sets of columns of every row of a chunk, as validation's key checks need them: set s covers the
// columns set_cols[set_start[s]] .. set_cols[set_start[s + 1] - 1] (indexes into the row's ncols values),
// hashed with the row fingerprint encoding (row_fingerprint.hpp) over those columns in that order.
// hashes and has_null receive rows x nsets entries, row after row; has_null says whether any column of the
// set is null. max_rows bounds the rows written; scratch must hold len + 16 bytes. Returns the row count.
// Throws bk::Error XX001 on a malformed chunk or more than max_rows rows.
size_t chunk_key_hashes(const char *json, size_t len, int ncols, const int *set_cols, const int *set_start, int nsets,
                        char *scratch, uint64_t *hashes, bool *has_null, size_t max_rows);

constexpr size_t
key_text_bound(size_t len, size_t rows, int nkeys)
{
	// COPY escaping at most doubles the key text, which is never longer than the chunk; per row add separators,
	// two 20-digit numbers with signs, and a newline.
	return 2 * len + rows * (static_cast<size_t>(nkeys) + 48) + 16;
}

// Decodes a chunk into NUL-terminated strings. strings must hold len bytes; offsets must hold
// offsets_cap entries and receives, row after row, the offset of each value in strings or -1 for null.
// Returns the row count. Throws bk::Error XX001 on a malformed chunk or too many values.
size_t chunk_decode(const char *json, size_t len, int ncols, char *strings, int64_t *offsets, size_t offsets_cap);

// Counts the rows of a chunk without decoding it (validates the structure all the same).
size_t chunk_count_rows(const char *json, size_t len, int ncols);

} // namespace bk
