// libpq for the backupkit client: PostgreSQL's connection conventions (-d conninfo or URI, -h -p -U, the PG*
// variables and ~/.pgpass, all handled by libpq itself), statements with text parameters, error messages
// with the server's detail and hint, and aligned or JSON output of results.
#include "cli.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <cstring>
#include <termios.h>
#include <unistd.h>

namespace bkcli
{

bool
read_tty_secret(const char *prompt, std::string &out)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == nullptr)
	{
		return false;
	}
	fputs(prompt, tty);
	fflush(tty);
	struct termios old_t, new_t;
	bool restore = tcgetattr(fileno(tty), &old_t) == 0;
	if (restore)
	{
		new_t = old_t;
		new_t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
		tcsetattr(fileno(tty), TCSAFLUSH, &new_t);
	}
	char buf[4096];
	out.clear();
	if (fgets(buf, sizeof buf, tty) != nullptr)
	{
		out = buf;
	}
	explicit_bzero(buf, sizeof buf);
	if (restore)
	{
		tcsetattr(fileno(tty), TCSAFLUSH, &old_t);
	}
	fputs("\n", tty);
	fclose(tty);
	while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
	{
		out.pop_back();
	}
	return true;
}

static std::string
prompt_password()
{
	std::string pw;
	if (!read_tty_secret("Password: ", pw))
	{
		throw Failure("no terminal to read a password from");
	}
	return pw;
}

Connection::Connection(const Options &opts)
{
	std::string password;
	bool have_password = false;
	if (opts.force_password)
	{
		password = prompt_password();
		have_password = true;
	}
	for (;;)
	{
		std::vector<const char *> keys, values;
		auto add = [&](const char *k, const std::string &v)
		{
			if (!v.empty())
			{
				keys.push_back(k);
				values.push_back(v.c_str());
			}
		};
		add("host", opts.host);
		add("port", opts.port);
		add("user", opts.username);
		if (have_password)
		{
			keys.push_back("password");
			values.push_back(password.c_str());
		}
		// Last, as psql does: a connection string or URI in -d is expanded and its values take precedence.
		add("dbname", opts.dbname);
		keys.push_back("fallback_application_name");
		values.push_back("backupkit");
		keys.push_back(nullptr);
		values.push_back(nullptr);
		conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
		if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK)
		{
			break;
		}
		std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
		bool needs = conn_ != nullptr && PQconnectionNeedsPassword(conn_) && !have_password && !opts.no_password &&
		             isatty(STDIN_FILENO);
		PQfinish(conn_);
		conn_ = nullptr;
		if (needs)
		{
			password = prompt_password();
			have_password = true;
			continue;
		}
		while (!msg.empty() && msg.back() == '\n')
		{
			msg.pop_back();
		}
		throw Failure(msg, exit_failure, {},
		              "Give the server with -h/-p or -d \"host=... port=...\" (or PGHOST/PGPORT), the role with -U "
		              "(or PGUSER); passwords come from ~/.pgpass or PGPASSWORD.");
	}
	// The client draws its own progress (from backupkit.progress); the server's progress NOTICEs would
	// interleave with it.
	clear(exec("SET backupkit.progress_notices = off"));
}

Connection::~Connection()
{
	if (conn_ != nullptr)
	{
		PQfinish(conn_);
	}
}

std::string
Connection::database() const
{
	return PQdb(conn_);
}

int
Connection::backend_pid() const
{
	return PQbackendPID(conn_);
}

void
Connection::clear(pg_result *res)
{
	PQclear(res);
}

[[noreturn]] void
throw_result_error(pg_result *res, pg_conn *conn, const std::string &context)
{
	std::string msg, detail, hint;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
	if (primary != nullptr)
	{
		msg = primary;
		const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		detail = d ? d : "";
		hint = h ? h : "";
	}
	else
	{
		msg = PQerrorMessage(conn);
		while (!msg.empty() && msg.back() == '\n')
		{
			msg.pop_back();
		}
	}
	PQclear(res);
	throw Failure(context.empty() ? msg : context + ": " + msg, exit_failure, detail, hint);
}

pg_result *
Connection::exec(const std::string &sql, const std::vector<const char *> &params, bool binary)
{
	pg_result *res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr,
	                              nullptr, binary ? 1 : 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_COPY_IN)
	{
		throw_result_error(res, conn_);
	}
	return res;
}

std::string
value(pg_result *res, int row, int col)
{
	return std::string(PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col)));
}

bool
is_null(pg_result *res, int row, int col)
{
	return PQgetisnull(res, row, col) != 0;
}

void
print_table(pg_result *res)
{
	int rows = PQntuples(res);
	int cols = PQnfields(res);
	std::vector<size_t> width(static_cast<size_t>(cols));
	for (int c = 0; c < cols; c++)
	{
		width[c] = strlen(PQfname(res, c));
		for (int r = 0; r < rows; r++)
		{
			width[c] = std::max(width[c], static_cast<size_t>(PQgetlength(res, r, c)));
		}
	}
	auto line = [&](auto cell)
	{
		std::string out;
		for (int c = 0; c < cols; c++)
		{
			std::string v = cell(c);
			out += v;
			if (c + 1 < cols)
			{
				out += std::string(width[c] - v.size() + 2, ' ');
			}
		}
		puts(out.c_str());
	};
	line([&](int c) { return std::string(PQfname(res, c)); });
	line([&](int c) { return std::string(width[c], '-'); });
	for (int r = 0; r < rows; r++)
	{
		line([&](int c) { return value(res, r, c); });
	}
}

std::string
json_string(const std::string &s)
{
	std::string out = "\"";
	for (unsigned char ch : s)
	{
		switch (ch)
		{
			case '"':
				out += "\\\"";
				break;
			case '\\':
				out += "\\\\";
				break;
			case '\n':
				out += "\\n";
				break;
			case '\t':
				out += "\\t";
				break;
			case '\r':
				out += "\\r";
				break;
			default:
				if (ch < 0x20)
				{
					char buf[8];
					snprintf(buf, sizeof buf, "\\u%04x", ch);
					out += buf;
				}
				else
				{
					out += static_cast<char>(ch);
				}
		}
	}
	return out + "\"";
}

} // namespace bkcli
