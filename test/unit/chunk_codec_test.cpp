// The chunk payload format: JSON string escaping identical to PostgreSQL's escape_json, decoding to strings
// and to COPY text (round trips through every escape), and XX001 for every kind of malformed payload.
#include "core/codec/chunk_codec.hpp"
#include "core/codec/checksum.hpp"
#include "core/error.hpp"
#include "core/codec/row_fingerprint.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace
{

using Value = std::optional<std::string>;
using Row = std::vector<Value>;

std::string
escape(const std::string &s)
{
	std::vector<char> out(bk::json_escaped_bound(s.size()));
	size_t n = bk::json_escape_string(s.data(), s.size(), out.data());
	EXPECT_LE(n, out.size());
	return std::string(out.data(), n);
}

// PostgreSQL 15's escape_json (src/backend/utils/adt/json.c), restated: \b \f \n \r \t \" \\ get their short
// escapes, any other byte below 0x20 becomes \u00xx (lower-case hex), every other byte is copied.
std::string
pg_escape_json(const std::string &s)
{
	std::string out = "\"";
	for (unsigned char c : s)
	{
		switch (c)
		{
			case '\b':
				out += "\\b";
				break;
			case '\f':
				out += "\\f";
				break;
			case '\n':
				out += "\\n";
				break;
			case '\r':
				out += "\\r";
				break;
			case '\t':
				out += "\\t";
				break;
			case '"':
				out += "\\\"";
				break;
			case '\\':
				out += "\\\\";
				break;
			default:
				if (c < ' ')
				{
					char buf[8];
					std::snprintf(buf, sizeof(buf), "\\u%04x", c);
					out += buf;
				}
				else
				{
					out += static_cast<char>(c);
				}
		}
	}
	return out + "\"";
}

// A chunk as the writer in src/pg lays it out: rows separated by ", ", values by ", ".
std::string
make_chunk(const std::vector<Row> &rows)
{
	std::string s = "[";
	for (size_t r = 0; r < rows.size(); r++)
	{
		s += r ? ", [" : "[";
		for (size_t c = 0; c < rows[r].size(); c++)
		{
			if (c)
			{
				s += ", ";
			}
			s += rows[r][c] ? escape(*rows[r][c]) : "null";
		}
		s += "]";
	}
	return s + "]";
}

std::vector<Row>
decode(const std::string &json, int ncols)
{
	std::vector<char> strings(json.size() + 1);
	std::vector<int64_t> offsets(json.size() + 1);
	size_t nrows = bk::chunk_decode(json.data(), json.size(), ncols, strings.data(), offsets.data(), offsets.size());
	std::vector<Row> rows(nrows);
	for (size_t r = 0; r < nrows; r++)
	{
		for (int c = 0; c < ncols; c++)
		{
			int64_t off = offsets[r * static_cast<size_t>(ncols) + static_cast<size_t>(c)];
			rows[r].push_back(off < 0 ? Value() : Value(std::string(strings.data() + off)));
		}
	}
	return rows;
}

std::string
to_copy(const std::string &json, int ncols, const bool *keep = nullptr, size_t *rows_out = nullptr)
{
	std::vector<char> out(json.size() + 1);
	size_t rows = 0;
	size_t n = bk::chunk_to_copy_text(json.data(), json.size(), ncols, keep, out.data(), &rows);
	EXPECT_LE(n, json.size());
	if (rows_out)
	{
		*rows_out = rows;
	}
	return std::string(out.data(), n);
}

// COPY text format as PostgreSQL's COPY FROM reads it.
std::string
copy_field(const Value &v)
{
	if (!v)
	{
		return "\\N";
	}
	std::string out;
	for (char c : *v)
	{
		switch (c)
		{
			case '\\':
				out += "\\\\";
				break;
			case '\n':
				out += "\\n";
				break;
			case '\r':
				out += "\\r";
				break;
			case '\t':
				out += "\\t";
				break;
			default:
				out += c;
		}
	}
	return out;
}

// Runs f and checks it throws bk::Error with SQLSTATE XX001.
template <typename F>
void
expect_corrupt(F f, const std::string &what)
{
	try
	{
		f();
		ADD_FAILURE() << what << ": no error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "XX001") << what << ": " << e.message();
		EXPECT_FALSE(e.message().empty());
	}
	catch (...)
	{
		ADD_FAILURE() << what << ": unexpected exception type";
	}
}

void
expect_all_readers_reject(const std::string &json, int ncols, const std::string &what)
{
	expect_corrupt([&] { decode(json, ncols); }, what + " (decode)");
	expect_corrupt([&] { to_copy(json, ncols); }, what + " (copy)");
	expect_corrupt([&] { bk::chunk_count_rows(json.data(), json.size(), ncols); }, what + " (count)");
}

} // namespace

TEST(JsonEscape, EveryAsciiByteMatchesEscapeJson)
{
	for (int c = 0; c < 0x80; c++)
	{
		std::string s = std::string("a") + static_cast<char>(c) + "b";
		EXPECT_EQ(escape(s), pg_escape_json(s)) << "byte " << c;
	}
}

TEST(JsonEscape, ShortEscapesAndLowerCaseHex)
{
	EXPECT_EQ(escape(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\x7f\"");
	EXPECT_EQ(escape("tab\there \"q\" back\\slash\n"), "\"tab\\there \\\"q\\\" back\\\\slash\\n\"");
	EXPECT_EQ(escape("/"), "\"/\"");
	EXPECT_EQ(escape(""), "\"\"");
}

TEST(JsonEscape, MultibyteUtf8IsCopied)
{
	// é, €, 𝄞 (4 bytes), and bytes >= 0x80 in general: escape_json copies them as they are.
	std::string s = "\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e";
	EXPECT_EQ(escape(s), "\"" + s + "\"");
	EXPECT_EQ(escape(s), pg_escape_json(s));
	for (int c = 0x80; c < 0x100; c++)
	{
		std::string b(1, static_cast<char>(c));
		EXPECT_EQ(escape(b), pg_escape_json(b)) << "byte " << c;
	}
}

TEST(JsonEscape, BoundHoldsForWorstCase)
{
	std::string worst(1000, '\x01');
	std::string e = escape(worst);
	EXPECT_EQ(e.size(), bk::json_escaped_bound(worst.size()));
}

TEST(ChunkCodec, EmptyChunk)
{
	EXPECT_TRUE(decode("[]", 3).empty());
	size_t rows = 99;
	EXPECT_EQ(to_copy("[]", 3, nullptr, &rows), "");
	EXPECT_EQ(rows, 0u);
	EXPECT_EQ(bk::chunk_count_rows(" [ ] ", 5, 2), 0u);
}

TEST(ChunkCodec, RoundTripNastyValues)
{
	std::string all_ascii;
	for (int c = 1; c < 0x80; c++)
	{
		all_ascii.push_back(static_cast<char>(c));
	}
	std::vector<Row> rows = {
	    {Value("1"), Value("alice"), Value()},
	    {Value(), Value(""), Value("")},
	    {Value("back\\slash \\N \\\\"), Value("tab\tnew\nline\rcr"), Value("\"quoted\" / solidus")},
	    {Value(all_ascii), Value("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), Value("{1,2,NULL}")},
	    {Value(), Value(), Value()},
	};
	std::string json = make_chunk(rows);
	EXPECT_EQ(decode(json, 3), rows);
	EXPECT_EQ(bk::chunk_count_rows(json.data(), json.size(), 3), rows.size());

	std::string expected;
	for (const Row &r : rows)
	{
		for (size_t c = 0; c < r.size(); c++)
		{
			expected += (c ? "\t" : "") + copy_field(r[c]);
		}
		expected += "\n";
	}
	size_t nrows = 0;
	EXPECT_EQ(to_copy(json, 3, nullptr, &nrows), expected);
	EXPECT_EQ(nrows, rows.size());
}

TEST(ChunkCodec, UnicodeEscapesIncludingSurrogatePairs)
{
	// What another JSON writer (or jsonb after a future change) might produce: \uXXXX in upper or lower case.
	std::string json = "[[\"\\u00e9\\u00C9\", \"\\u20ac\", \"\\ud83d\\ude00\", \"\\u0041\\/\\b\\f\"]]";
	std::vector<Row> expected = {
	    {Value("\xc3\xa9\xc3\x89"), Value("\xe2\x82\xac"), Value("\xf0\x9f\x98\x80"), Value("A/\b\f")}};
	EXPECT_EQ(decode(json, 4), expected);
	EXPECT_EQ(to_copy(json, 4), "\xc3\xa9\xc3\x89\t\xe2\x82\xac\t\xf0\x9f\x98\x80\tA/\b\f\n");
}

TEST(ChunkCodec, WhitespaceBetweenTokensIsAccepted)
{
	std::string json = " [ [ \"a\" ,\n null ] ,\t[\"b\",\"c\"] ] \n";
	std::vector<Row> expected = {{Value("a"), Value()}, {Value("b"), Value("c")}};
	EXPECT_EQ(decode(json, 2), expected);
}

TEST(ChunkCodec, DroppedColumnsViaKeep)
{
	std::vector<Row> rows = {{Value("1"), Value("gone"), Value("x\ty"), Value()},
	                         {Value("2"), Value(), Value(""), Value("z")}};
	std::string json = make_chunk(rows);
	const bool keep[] = {true, false, true, true};
	EXPECT_EQ(to_copy(json, 4, keep), "1\tx\\ty\t\\N\n2\t\tz\n");
	const bool keep_first_dropped[] = {false, true, false, true};
	EXPECT_EQ(to_copy(json, 4, keep_first_dropped), "gone\t\\N\n\\N\tz\n");
}

TEST(ChunkCodec, MalformedTruncated)
{
	std::string json = make_chunk({{Value("1"), Value("two")}, {Value("3"), Value("four")}});
	for (size_t len = 0; len < json.size(); len++)
	{
		expect_all_readers_reject(json.substr(0, len), 2, "truncated at " + std::to_string(len));
	}
}

TEST(ChunkCodec, MalformedColumnCount)
{
	expect_all_readers_reject("[[\"1\", \"2\"]]", 3, "too few columns");
	expect_all_readers_reject("[[\"1\", \"2\", \"3\", \"4\"]]", 3, "too many columns");
	expect_all_readers_reject("[[\"1\", \"2\", \"3\"], [\"1\"]]", 3, "second row short");
	expect_all_readers_reject("[[]]", 1, "empty row");
}

TEST(ChunkCodec, MalformedNulEscape)
{
	expect_all_readers_reject("[[\"a\\u0000b\"]]", 1, "\\u0000");
}

TEST(ChunkCodec, MalformedRawControlCharacter)
{
	expect_all_readers_reject(std::string("[[\"a\nb\"]]"), 1, "raw newline");
	expect_all_readers_reject(std::string("[[\"a\x01x\"]]"), 1, "raw 0x01");
	expect_all_readers_reject(std::string("[[\"a\0b\"]]", 8), 1, "raw NUL");
}

TEST(ChunkCodec, MalformedTrailingGarbage)
{
	expect_all_readers_reject("[[\"a\"]] x", 1, "trailing text");
	expect_all_readers_reject("[[\"a\"]]]", 1, "extra bracket");
	expect_all_readers_reject("[] []", 1, "second array");
}

TEST(ChunkCodec, MalformedValuesAndEscapes)
{
	expect_all_readers_reject("[[1]]", 1, "number value");
	expect_all_readers_reject("[[true]]", 1, "boolean value");
	expect_all_readers_reject("[[nul]]", 1, "short null");
	expect_all_readers_reject("[[\"\\x\"]]", 1, "invalid escape");
	expect_all_readers_reject("[[\"\\u12g4\"]]", 1, "bad hex digit");
	expect_all_readers_reject("[[\"\\ud83d\"]]", 1, "lone high surrogate");
	expect_all_readers_reject("[[\"\\ud83d\\u0041\"]]", 1, "high surrogate without low");
	expect_all_readers_reject("[[\"\\ude00\"]]", 1, "lone low surrogate");
	expect_all_readers_reject("[[\"a\" \"b\"]]", 2, "missing comma");
	expect_all_readers_reject("[[\"a\"] [\"b\"]]", 1, "missing comma between rows");
	expect_all_readers_reject("{\"a\": 1}", 1, "object");
	expect_all_readers_reject("", 1, "empty payload");
}

TEST(ChunkCodec, DecodeRejectsTooManyValuesForOffsetCapacity)
{
	std::string json = make_chunk({{Value("1")}, {Value("2")}, {Value("3")}});
	std::vector<char> strings(json.size());
	std::vector<int64_t> offsets(2);
	expect_corrupt([&] { bk::chunk_decode(json.data(), json.size(), 1, strings.data(), offsets.data(), 2); },
	               "offset capacity");
}

namespace
{

// The fingerprint restated from row_fingerprint.hpp, independently of KeySink: little-endian 32-bit length
// (all ones for null), then the text, over the kept columns.
int64_t
reference_fingerprint(const Row &row, const bool *keep)
{
	std::string buf;
	for (size_t c = 0; c < row.size(); c++)
	{
		if (keep && !keep[c])
		{
			continue;
		}
		uint32_t len = row[c] ? static_cast<uint32_t>(row[c]->size()) : 0xFFFFFFFFu;
		for (int b = 0; b < 4; b++)
		{
			buf.push_back(static_cast<char>((len >> (8 * b)) & 0xFF));
		}
		if (row[c])
		{
			buf += *row[c];
		}
	}
	return static_cast<int64_t>(bk::checksum64(buf.data(), buf.size(), bk::fingerprint_seed));
}

std::string
to_keys(const std::string &json, int ncols, const bool *keep, const std::vector<int> &key_cols, int64_t first,
        size_t rows_hint, size_t *rows_out = nullptr)
{
	std::vector<char> scratch(json.size() + 16);
	size_t cap = bk::key_text_bound(json.size(), rows_hint, static_cast<int>(key_cols.size()));
	std::vector<char> out(cap);
	size_t rows = 0;
	size_t n = bk::chunk_to_key_text(json.data(), json.size(), ncols, keep, key_cols.data(),
	                                 static_cast<int>(key_cols.size()), first, scratch.data(), out.data(), cap, &rows);
	if (rows_out)
	{
		*rows_out = rows;
	}
	return std::string(out.data(), n);
}

} // namespace

TEST(ChunkKeys, KeyColumnsFingerprintAndOrdinal)
{
	std::vector<Row> rows = {{Value("7"), Value("tab\there"), Value(), Value("a\\b")},
	                         {Value("8"), Value(""), Value("x"), Value("new\nline")},
	                         {Value("9"), Value(), Value(""), Value("")}};
	std::string json = make_chunk(rows);
	const bool keep[] = {true, true, false, true};
	// A two-column key given out of captured order: (col 3, col 0).
	std::string expected;
	for (size_t r = 0; r < rows.size(); r++)
	{
		expected += copy_field(rows[r][3]) + "\t" + copy_field(rows[r][0]) + "\t" +
		            std::to_string(reference_fingerprint(rows[r], keep)) + "\t" + std::to_string(100 + r) + "\n";
	}
	size_t nrows = 0;
	EXPECT_EQ(to_keys(json, 4, keep, {3, 0}, 100, rows.size(), &nrows), expected);
	EXPECT_EQ(nrows, rows.size());
}

TEST(ChunkKeys, RowFilterKeepsOrdinalsOfEveryRow)
{
	std::vector<Row> rows = {
	    {Value("1"), Value("a")}, {Value("2"), Value("b")}, {Value("3"), Value("c")}, {Value("4"), Value("d")}};
	std::string json = make_chunk(rows);
	const bool keep[] = {true, true};
	const bool row_keep[] = {false, true, false}; // row 3 lies past the filter: dropped too
	std::vector<char> scratch(json.size() + 16);
	size_t cap = bk::key_text_bound(json.size(), rows.size(), 1);
	std::vector<char> out(cap);
	size_t nrows = 0;
	const int key_cols[] = {0};
	size_t n = bk::chunk_to_key_text(json.data(), json.size(), 2, keep, key_cols, 1, 40, scratch.data(), out.data(),
	                                 cap, &nrows, row_keep, 3);
	EXPECT_EQ(nrows, rows.size());
	EXPECT_EQ(std::string(out.data(), n), "2\t" + std::to_string(reference_fingerprint(rows[1], keep)) + "\t41\n");
}

TEST(ChunkKeys, FingerprintTellsNullFromEmptyAndNoticesEveryKeptColumn)
{
	const bool keep[] = {true, true, true};
	Row base = {Value("1"), Value(""), Value("v")};
	Row null_instead_of_empty = {Value("1"), Value(), Value("v")};
	Row shifted = {Value("1"), Value("v"), Value("")};
	Row changed = {Value("1"), Value(""), Value("w")};
	int64_t fp = reference_fingerprint(base, keep);
	EXPECT_NE(fp, reference_fingerprint(null_instead_of_empty, keep));
	EXPECT_NE(fp, reference_fingerprint(shifted, keep));
	EXPECT_NE(fp, reference_fingerprint(changed, keep));
	// A dropped column does not count.
	const bool keep_two[] = {true, true, false};
	EXPECT_EQ(reference_fingerprint(base, keep_two), reference_fingerprint(changed, keep_two));
	// And the codec agrees with the restatement on all four.
	std::string json = make_chunk({base, null_instead_of_empty, shifted, changed});
	std::string keys = to_keys(json, 3, keep, {0}, 0, 4);
	EXPECT_NE(keys.find("\t" + std::to_string(fp) + "\t0\n"), std::string::npos);
	EXPECT_NE(keys.find("\t" + std::to_string(reference_fingerprint(changed, keep)) + "\t3\n"), std::string::npos);
}

TEST(ChunkKeys, RejectsRowsBeyondTheOutputBound)
{
	std::vector<Row> rows(50, Row{Value("key"), Value("x")});
	std::string json = make_chunk(rows);
	const bool keep[] = {true, true};
	// Sized for 1 row but the chunk holds 50: an error, not an overflow.
	std::vector<char> scratch(json.size() + 16);
	size_t cap = 60;
	std::vector<char> out(cap);
	size_t n = 0;
	const int key_cols[] = {0};
	try
	{
		bk::chunk_to_key_text(json.data(), json.size(), 2, keep, key_cols, 1, 0, scratch.data(), out.data(), cap, &n);
		ADD_FAILURE() << "expected an error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "XX001");
	}
}

TEST(ChunkKeys, RowFilterKeepsOnlyChosenRows)
{
	std::vector<Row> rows = {{Value("1"), Value("a")}, {Value("2"), Value()}, {Value("3"), Value("c\td")}};
	std::string json = make_chunk(rows);
	std::vector<char> out(json.size() + 1);
	size_t nrows = 0;
	const bool row_keep[] = {false, true, true};
	size_t n = bk::chunk_to_copy_text(json.data(), json.size(), 2, nullptr, out.data(), &nrows, row_keep, 3);
	EXPECT_EQ(std::string(out.data(), n), "2\t\\N\n3\tc\\td\n");
	EXPECT_EQ(nrows, 3u); // every row is still parsed and counted
	// Rows past the filter's length are dropped.
	n = bk::chunk_to_copy_text(json.data(), json.size(), 2, nullptr, out.data(), &nrows, row_keep, 2);
	EXPECT_EQ(std::string(out.data(), n), "2\t\\N\n");
}

TEST(ChunkKeys, KeyHashesPerColumnSet)
{
	std::vector<Row> rows = {{Value("1"), Value("a\tb"), Value()}, {Value("2"), Value(""), Value("x")}};
	std::string json = make_chunk(rows);
	// set 0: (col 0); set 1: (col 2, col 1)
	const int set_cols[] = {0, 2, 1};
	const int set_start[] = {0, 1, 3};
	std::vector<char> scratch(json.size() + 16);
	uint64_t hashes[4];
	bool has_null[4];
	size_t n =
	    bk::chunk_key_hashes(json.data(), json.size(), 3, set_cols, set_start, 2, scratch.data(), hashes, has_null, 2);
	EXPECT_EQ(n, 2u);
	for (size_t r = 0; r < 2; r++)
	{
		Row k0 = {rows[r][0]};
		Row k1 = {rows[r][2], rows[r][1]};
		EXPECT_EQ(static_cast<int64_t>(hashes[r * 2]), reference_fingerprint(k0, nullptr));
		EXPECT_EQ(static_cast<int64_t>(hashes[r * 2 + 1]), reference_fingerprint(k1, nullptr));
		EXPECT_FALSE(has_null[r * 2]);
	}
	EXPECT_TRUE(has_null[1]);
	EXPECT_FALSE(has_null[3]);
	// More rows than announced is an error, not an overflow.
	EXPECT_THROW(
	    bk::chunk_key_hashes(json.data(), json.size(), 3, set_cols, set_start, 2, scratch.data(), hashes, has_null, 1),
	    bk::Error);
}
