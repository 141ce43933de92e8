// The chunk parser: reads the JSON text of a chunk payload (chunk_codec.hpp) once, strictly, and hands every
// row and value to a sink that writes it the way its caller needs (COPY text, key stage lines, key hashes,
// decoded strings, a row count). A template, so that each sink's calls are inlined into the scanning loop;
// only chunk_codec.cpp includes it.
#pragma once
#include "core/core_only.hpp"

#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace bk
{
namespace chunk_parser
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

[[noreturn]] inline void
malformed(const char *what, size_t pos)
{
	throw Error(sqlstate::data_corrupted, "snapshot chunk is malformed",
	            std::string("Expected ") + what + " at byte " + std::to_string(pos) + " of the chunk.");
}

inline int
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

} // namespace chunk_parser
} // namespace bk
