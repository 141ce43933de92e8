// Writer and readers of the chunk payload format described in chunk_codec.hpp.
#include "core/codec/chunk_codec.hpp"
#include "core/codec/checksum.hpp"
#include "core/error.hpp"
#include "core/codec/row_fingerprint.hpp"
#include "core/codec/chunk_parser.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bk
{

using chunk_parser::Parser;
using chunk_parser::plain_run;

size_t
json_escape_string(const char *str, size_t len, char *out) noexcept
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	*o++ = '"';
	const unsigned char *p = reinterpret_cast<const unsigned char *>(str);
	const unsigned char *end = p + len;
	while (p < end)
	{
		const unsigned char *run = p;
		p += plain_run(reinterpret_cast<const char *>(p), reinterpret_cast<const char *>(end));
		if (p > run)
		{
			std::memcpy(o, run, static_cast<size_t>(p - run));
			o += p - run;
		}
		if (p == end)
		{
			break;
		}
		unsigned char c = *p++;
		*o++ = '\\';
		switch (c)
		{
			case '\b':
				*o++ = 'b';
				break;
			case '\f':
				*o++ = 'f';
				break;
			case '\n':
				*o++ = 'n';
				break;
			case '\r':
				*o++ = 'r';
				break;
			case '\t':
				*o++ = 't';
				break;
			case '"':
				*o++ = '"';
				break;
			case '\\':
				*o++ = '\\';
				break;
			default:
				*o++ = 'u';
				*o++ = '0';
				*o++ = '0';
				*o++ = hex[c >> 4];
				*o++ = hex[c & 0xf];
				break;
		}
	}
	*o++ = '"';
	return static_cast<size_t>(o - out);
}

namespace
{

// Writes one byte of a value in COPY text format: backslash and the line and field separators are escaped.
inline char *
copy_escape_byte(char c, char *out)
{
	switch (c)
	{
		case '\\':
			*out++ = '\\';
			*out++ = '\\';
			break;
		case '\n':
			*out++ = '\\';
			*out++ = 'n';
			break;
		case '\r':
			*out++ = '\\';
			*out++ = 'r';
			break;
		case '\t':
			*out++ = '\\';
			*out++ = 't';
			break;
		default:
			*out++ = c;
			break;
	}
	return out;
}

char *
copy_escape(const char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
	{
		out = copy_escape_byte(p[i], out);
	}
	return out;
}

// Receives the values the parser finds. Sinks decide how a value's bytes are written.
struct CopySink
{
	char *out;
	const bool *keep;
	const bool *row_keep = nullptr;
	size_t row_keep_len = 0;
	size_t row = 0;
	bool row_kept = true;
	bool first_in_row = true;
	bool current_kept = false;

	void begin_row()
	{
		first_in_row = true;
		row_kept = row_keep == nullptr || (row < row_keep_len && row_keep[row]);
		row++;
	}
	void end_row()
	{
		if (row_kept)
		{
			*out++ = '\n';
		}
	}
	void begin_value(int col, bool is_null)
	{
		current_kept = row_kept && (keep == nullptr || keep[col]);
		if (!current_kept)
		{
			return;
		}
		if (!first_in_row)
		{
			*out++ = '\t';
		}
		first_in_row = false;
		if (is_null)
		{
			*out++ = '\\';
			*out++ = 'N';
		}
	}
	void end_value() {}
	// A run of bytes that need no COPY escaping except backslash (runs never hold quote or backslash).
	void bytes(const char *p, size_t n)
	{
		if (current_kept)
		{
			std::memcpy(out, p, n);
			out += n;
		}
	}
	void byte(unsigned char c)
	{
		if (current_kept)
		{
			out = copy_escape_byte(static_cast<char>(c), out);
		}
	}
};

struct DecodeSink
{
	char *strings;
	char *out;
	int64_t *offsets;
	size_t offsets_cap;
	size_t nvalues = 0;

	void begin_row() {}
	void end_row() {}
	void begin_value(int, bool is_null)
	{
		if (nvalues >= offsets_cap)
		{
			throw Error(sqlstate::data_corrupted, "snapshot chunk holds more values than its row count allows");
		}
		offsets[nvalues++] = is_null ? -1 : static_cast<int64_t>(out - strings);
	}
	void end_value()
	{
		if (offsets[nvalues - 1] >= 0)
		{
			*out++ = '\0';
		}
	}
	void bytes(const char *p, size_t n)
	{
		std::memcpy(out, p, n);
		out += n;
	}
	void byte(unsigned char c) { *out++ = static_cast<char>(c); }
};

struct CountSink
{
	void begin_row() {}
	void end_row() {}
	void begin_value(int, bool) {}
	void end_value() {}
	void bytes(const char *, size_t) {}
	void byte(unsigned char) {}
};

// Builds each row's fingerprint input in scratch (see row_fingerprint.hpp) and writes the key stage line.
struct KeySink
{
	const bool *keep;
	const int *key_cols;
	int nkeys;
	int64_t ordinal;
	char *scratch;
	char *out;
	char *out_end;
	size_t used = 0;        // bytes of scratch holding the current row
	size_t value_start = 0; // where the current value's bytes begin in scratch
	bool current_kept = false;
	bool current_null = false;
	int current_col = 0;
	size_t key_off[max_key_columns];
	int64_t key_len[max_key_columns]; // -1 for null
	const bool *row_keep = nullptr;
	size_t row_keep_len = 0;
	size_t row = 0;
	bool row_kept = true;

	void begin_row()
	{
		used = 0;
		row_kept = row_keep == nullptr || (row < row_keep_len && row_keep[row]);
		row++;
	}
	void begin_value(int col, bool is_null)
	{
		current_col = col;
		current_kept = row_kept && (keep == nullptr || keep[col]);
		current_null = is_null;
		if (current_kept)
		{
			used += fingerprint_header_size; // the length goes here once the value is complete
			value_start = used;
		}
	}
	void end_value()
	{
		if (!current_kept)
		{
			return;
		}
		size_t n = used - value_start;
		fingerprint_header(scratch + value_start - fingerprint_header_size, current_null, n);
		for (int k = 0; k < nkeys; k++)
		{
			if (key_cols[k] == current_col)
			{
				key_off[k] = value_start;
				key_len[k] = current_null ? -1 : static_cast<int64_t>(n);
			}
		}
	}
	void bytes(const char *p, size_t n)
	{
		if (current_kept)
		{
			std::memcpy(scratch + used, p, n);
			used += n;
		}
	}
	void byte(unsigned char c)
	{
		if (current_kept)
		{
			scratch[used++] = static_cast<char>(c);
		}
	}
	void end_row()
	{
		if (!row_kept)
		{
			ordinal++;
			return;
		}
		size_t need = static_cast<size_t>(nkeys) + 48;
		for (int k = 0; k < nkeys; k++)
		{
			need += key_len[k] > 0 ? 2 * static_cast<size_t>(key_len[k]) : 2; // escaping at most doubles
		}
		if (static_cast<size_t>(out_end - out) < need)
		{
			throw Error(sqlstate::data_corrupted, "snapshot chunk holds more rows than its recorded row count");
		}
		for (int k = 0; k < nkeys; k++)
		{
			if (key_len[k] < 0)
			{
				*out++ = '\\';
				*out++ = 'N';
			}
			else
			{
				out = copy_escape(scratch + key_off[k], static_cast<size_t>(key_len[k]), out);
			}
			*out++ = '\t';
		}
		int64_t fp = static_cast<int64_t>(checksum64(scratch, used, fingerprint_seed));
		out += std::snprintf(out, 48, "%lld\t%lld\n", static_cast<long long>(fp), static_cast<long long>(ordinal));
		ordinal++;
	}
};

// Decodes each row's values into scratch, then hashes the requested column sets.
struct KeyHashSink
{
	int ncols;
	const int *set_cols;
	const int *set_start;
	int nsets;
	char *scratch;
	uint64_t *hashes;
	bool *has_null;
	size_t max_rows;
	std::vector<int64_t> off; // per column: offset in scratch, -1 for null
	std::vector<size_t> vlen;
	std::string buf;
	size_t used = 0;
	size_t row = 0;
	int col = 0;

	void begin_row() { used = 0; }
	void begin_value(int c, bool is_null)
	{
		col = c;
		off[c] = is_null ? -1 : static_cast<int64_t>(used);
	}
	void end_value()
	{
		if (off[col] >= 0)
		{
			vlen[col] = used - static_cast<size_t>(off[col]);
		}
	}
	void bytes(const char *p, size_t n)
	{
		std::memcpy(scratch + used, p, n);
		used += n;
	}
	void byte(unsigned char c) { scratch[used++] = static_cast<char>(c); }
	void end_row()
	{
		if (row >= max_rows)
		{
			throw Error(sqlstate::data_corrupted, "snapshot chunk holds more rows than its recorded row count");
		}
		for (int s = 0; s < nsets; s++)
		{
			bool any_null = false;
			buf.clear();
			for (int k = set_start[s]; k < set_start[s + 1]; k++)
			{
				int c = set_cols[k];
				char header[fingerprint_header_size];
				bool null = off[c] < 0;
				any_null = any_null || null;
				fingerprint_header(header, null, null ? 0 : vlen[c]);
				buf.append(header, sizeof(header));
				if (!null)
				{
					buf.append(scratch + off[c], vlen[c]);
				}
			}
			hashes[row * static_cast<size_t>(nsets) + static_cast<size_t>(s)] =
			    checksum64(buf.data(), buf.size(), fingerprint_seed);
			has_null[row * static_cast<size_t>(nsets) + static_cast<size_t>(s)] = any_null;
		}
		row++;
	}
};

} // namespace

size_t
chunk_to_copy_text(const char *json, size_t len, int ncols, const bool *keep, char *out, size_t *rows,
                   const bool *row_keep, size_t row_keep_len)
{
	CopySink sink{out, keep, row_keep, row_keep_len};
	Parser<CopySink> parser(json, len, sink);
	*rows = parser.parse(ncols);
	return static_cast<size_t>(sink.out - out);
}

size_t
chunk_to_key_text(const char *json, size_t len, int ncols, const bool *keep, const int *key_cols, int nkeys,
                  int64_t first_ordinal, char *scratch, char *out, size_t out_cap, size_t *rows, const bool *row_keep,
                  size_t row_keep_len)
{
	if (nkeys < 1 || nkeys > max_key_columns)
	{
		throw Error(sqlstate::invalid_parameter_value, "a key stage needs between 1 and 32 key columns");
	}
	for (int k = 0; k < nkeys; k++)
	{
		if (key_cols[k] < 0 || key_cols[k] >= ncols)
		{
			throw Error(sqlstate::invalid_parameter_value, "key column index out of range");
		}
	}
	KeySink sink{keep, key_cols, nkeys, first_ordinal, scratch, out, out + out_cap};
	sink.row_keep = row_keep;
	sink.row_keep_len = row_keep_len;
	Parser<KeySink> parser(json, len, sink);
	*rows = parser.parse(ncols);
	return static_cast<size_t>(sink.out - out);
}

size_t
chunk_key_hashes(const char *json, size_t len, int ncols, const int *set_cols, const int *set_start, int nsets,
                 char *scratch, uint64_t *hashes, bool *has_null, size_t max_rows)
{
	for (int s = 0; s < nsets; s++)
	{
		for (int k = set_start[s]; k < set_start[s + 1]; k++)
		{
			if (set_cols[k] < 0 || set_cols[k] >= ncols)
			{
				throw Error(sqlstate::invalid_parameter_value, "key column index out of range");
			}
		}
	}
	KeyHashSink sink{ncols,
	                 set_cols,
	                 set_start,
	                 nsets,
	                 scratch,
	                 hashes,
	                 has_null,
	                 max_rows,
	                 std::vector<int64_t>(static_cast<size_t>(ncols > 0 ? ncols : 1), -1),
	                 std::vector<size_t>(static_cast<size_t>(ncols > 0 ? ncols : 1), 0)};
	Parser<KeyHashSink> parser(json, len, sink);
	return parser.parse(ncols);
}

size_t
chunk_decode(const char *json, size_t len, int ncols, char *strings, int64_t *offsets, size_t offsets_cap)
{
	DecodeSink sink{strings, strings, offsets, offsets_cap};
	Parser<DecodeSink> parser(json, len, sink);
	return parser.parse(ncols);
}

size_t
chunk_count_rows(const char *json, size_t len, int ncols)
{
	CountSink sink;
	Parser<CountSink> parser(json, len, sink);
	return parser.parse(ncols);
}

} // namespace bk
