// Writer and readers of the chunk payload format described in chunk_codec.hpp.
#include "core/codec/chunk_codec.hpp"
#include "core/codec/checksum.hpp"
#include "core/error.hpp"
#include "core/codec/row_fingerprint.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bk
{

namespace
{

// Length of the leading run of bytes that are neither '"', '\\' nor a control character (< 0x20), eight
// bytes at a time (SWAR): the parser spends most of its time skipping such runs.
inline size_t
plain_run(const char *p, const char *end)
{
	const char *start = p;
	constexpr uint64_t ones = 0x0101010101010101ULL;
	constexpr uint64_t highs = 0x8080808080808080ULL;
	while (end - p >= 8)
	{
		uint64_t x;
		std::memcpy(&x, p, 8);
		uint64_t quote = x ^ (ones * '"');
		uint64_t bslash = x ^ (ones * '\\');
		// A byte is zero in quote/bslash when it matches; (v - ones) & ~v & highs flags zero bytes; a byte
		// below 0x20 has (x - 0x20*ones) borrow into its high bit while x's own high bit is clear.
		uint64_t hit = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | ((x - ones * 0x20) & ~x);
		if (hit & highs)
		{
			break;
		}
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20)
	{
		p++;
	}
	return static_cast<size_t>(p - start);
}

} // namespace

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

[[noreturn]] void
malformed(const char *what, size_t pos)
{
	throw Error(sqlstate::data_corrupted, "snapshot chunk is malformed",
	            std::string("Expected ") + what + " at byte " + std::to_string(pos) + " of the chunk.");
}

int
hexval(char c)
{
	if (c >= '0' && c <= '9')
	{
		return c - '0';
	}
	if (c >= 'a' && c <= 'f')
	{
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F')
	{
		return c - 'A' + 10;
	}
	return -1;
}

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

template <typename Sink>
class Parser
{
public:
	Parser(const char *json, size_t len, Sink &sink) : s_(json), p_(json), end_(json + len), sink_(sink) {}

	size_t parse(int ncols)
	{
		size_t rows = 0;
		skip_ws();
		expect('[', "'['");
		skip_ws();
		if (peek() == ']')
		{
			p_++;
			finish();
			return 0;
		}
		for (;;)
		{
			parse_row(ncols);
			rows++;
			skip_ws();
			char c = next("',' or ']'");
			if (c == ']')
			{
				break;
			}
			if (c != ',')
			{
				malformed("',' or ']' after a row", pos() - 1);
			}
			skip_ws();
		}
		finish();
		return rows;
	}

private:
	size_t pos() const { return static_cast<size_t>(p_ - s_); }
	char peek() const { return p_ < end_ ? *p_ : '\0'; }
	char next(const char *what)
	{
		if (p_ >= end_)
		{
			malformed(what, pos());
		}
		return *p_++;
	}
	void expect(char c, const char *what)
	{
		if (next(what) != c)
		{
			malformed(what, pos() - 1);
		}
	}
	void skip_ws()
	{
		while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r'))
		{
			p_++;
		}
	}
	void finish()
	{
		skip_ws();
		if (p_ != end_)
		{
			malformed("the end of the chunk", pos());
		}
	}

	void parse_row(int ncols)
	{
		expect('[', "'[' opening a row");
		sink_.begin_row();
		int col = 0;
		skip_ws();
		if (peek() == ']')
		{
			p_++;
		}
		else
		{
			for (;;)
			{
				if (col >= ncols)
				{
					throw Error(sqlstate::data_corrupted, "snapshot chunk has a row with too many columns",
					            "Expected " + std::to_string(ncols) + " columns per row.");
				}
				parse_value(col++);
				skip_ws();
				char c = next("',' or ']' in a row");
				if (c == ']')
				{
					break;
				}
				if (c != ',')
				{
					malformed("',' or ']' in a row", pos() - 1);
				}
				skip_ws();
			}
		}
		if (col != ncols)
		{
			throw Error(sqlstate::data_corrupted, "snapshot chunk has a row with too few columns",
			            "Expected " + std::to_string(ncols) + " columns, found " + std::to_string(col) + ".");
		}
		sink_.end_row();
	}

	void parse_value(int col)
	{
		char c = next("a value");
		if (c == 'n')
		{
			if (end_ - p_ < 3 || std::memcmp(p_, "ull", 3) != 0)
			{
				malformed("null", pos() - 1);
			}
			p_ += 3;
			sink_.begin_value(col, true);
			sink_.end_value();
			return;
		}
		if (c != '"')
		{
			malformed("a string or null", pos() - 1);
		}
		sink_.begin_value(col, false);
		for (;;)
		{
			const char *run = p_;
			p_ += plain_run(p_, end_);
			if (p_ > run)
			{
				sink_.bytes(run, static_cast<size_t>(p_ - run));
			}
			char d = next("the end of a string");
			if (d == '"')
			{
				break;
			}
			if (d != '\\')
			{
				malformed("an escaped control character", pos() - 1);
			}
			char e = next("an escape sequence");
			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					sink_.byte(static_cast<unsigned char>(e));
					break;
				case 'b':
					sink_.byte('\b');
					break;
				case 'f':
					sink_.byte('\f');
					break;
				case 'n':
					sink_.byte('\n');
					break;
				case 'r':
					sink_.byte('\r');
					break;
				case 't':
					sink_.byte('\t');
					break;
				case 'u':
					unicode_escape();
					break;
				default:
					malformed("a valid escape sequence", pos() - 1);
			}
		}
		sink_.end_value();
	}

	unsigned read_hex4()
	{
		if (end_ - p_ < 4)
		{
			malformed("four hex digits", pos());
		}
		unsigned v = 0;
		for (int i = 0; i < 4; i++)
		{
			int h = hexval(p_[i]);
			if (h < 0)
			{
				malformed("four hex digits", pos() + static_cast<size_t>(i));
			}
			v = (v << 4) | static_cast<unsigned>(h);
		}
		p_ += 4;
		return v;
	}

	void unicode_escape()
	{
		unsigned cp = read_hex4();
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
			{
				malformed("a low surrogate", pos());
			}
			p_ += 2;
			unsigned lo = read_hex4();
			if (lo < 0xDC00 || lo > 0xDFFF)
			{
				malformed("a low surrogate", pos() - 4);
			}
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
		else if (cp >= 0xDC00 && cp <= 0xDFFF)
		{
			malformed("a high surrogate before a low one", pos() - 4);
		}
		if (cp == 0)
		{
			throw Error(sqlstate::data_corrupted,
			            "snapshot chunk holds a \\u0000 escape, which no text value can hold");
		}
		// UTF-8 is never longer than the 6-byte escape it replaces, so the output bound holds.
		if (cp < 0x80)
		{
			sink_.byte(static_cast<unsigned char>(cp));
		}
		else
		{
			char u[4];
			size_t n;
			if (cp < 0x800)
			{
				u[0] = static_cast<char>(0xC0 | (cp >> 6));
				u[1] = static_cast<char>(0x80 | (cp & 0x3F));
				n = 2;
			}
			else if (cp < 0x10000)
			{
				u[0] = static_cast<char>(0xE0 | (cp >> 12));
				u[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
				u[2] = static_cast<char>(0x80 | (cp & 0x3F));
				n = 3;
			}
			else
			{
				u[0] = static_cast<char>(0xF0 | (cp >> 18));
				u[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
				u[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
				u[3] = static_cast<char>(0x80 | (cp & 0x3F));
				n = 4;
			}
			sink_.bytes(u, n);
		}
	}

	const char *s_;
	const char *p_;
	const char *end_;
	Sink &sink_;
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
