// Helpers shared by the client's commands: argument checks, array literals, result printing, the progress
// bar's second connection and the confirmation prompt.
#include "cli.hpp"

#include "core/error.hpp"
#include "core/codec/export_frame.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/select.h>
#include <unistd.h>

namespace bkcli
{

// A PostgreSQL array literal of the given strings (each double-quoted, " and \ escaped).
std::string
array_literal(const std::vector<std::string> &items)
{
	std::string out = "{";
	for (size_t i = 0; i < items.size(); i++)
	{
		out += i ? ",\"" : "\"";
		for (char c : items[i])
		{
			if (c == '"' || c == '\\')
			{
				out += '\\';
			}
			out += c;
		}
		out += '"';
	}
	return out + "}";
}

bool
all_digits(const std::string &s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string
snapshot_id_arg(const Options &opts, const char *command)
{
	if (opts.positional.size() != 1 || !all_digits(opts.positional[0]))
	{
		throw Usage(std::string(command) + " needs one snapshot id");
	}
	return opts.positional[0];
}

// Prints the rows of a query, or with --json one JSON array of objects made by the server.
void
show_rows(Connection &db, const Options &opts, const std::string &sql, const std::vector<const char *> &params)
{
	if (opts.json)
	{
		pg_result *res = db.exec("SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]')::text FROM (" + sql + ") q", params);
		puts(value(res, 0, 0).c_str());
		Connection::clear(res);
		return;
	}
	pg_result *res = db.exec(sql, params);
	if (!opts.quiet)
	{
		print_table(res);
	}
	Connection::clear(res);
}

// Runs a long statement on db while a second connection reads backupkit.progress for its backend, to draw
// the progress bar (rows done of rows total, current table). Returns the result (the caller clears it).
pg_result *
run_with_progress(Connection &db, const Options &opts, const std::string &what, const std::string &sql,
                  const std::vector<const char *> &params)
{
	Progress bar(opts, what, 0, false);
	if (PQsendQueryParams(db.raw(), sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr,
	                      nullptr, 0) == 0)
	{
		throw_result_error(nullptr, db.raw());
	}
	Connection *watcher = nullptr;
	if (bar.active())
	{
		try
		{
			watcher = new Connection(opts);
		}
		catch (const Failure &)
		{
			watcher = nullptr; // no second connection: no bar, the operation goes on
		}
	}
	std::string pid = std::to_string(db.backend_pid());
	int sock = PQsocket(db.raw());
	while (PQisBusy(db.raw()))
	{
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		struct timeval tv = {0, 500000};
		select(sock + 1, &fds, nullptr, nullptr, &tv);
		if (PQconsumeInput(db.raw()) == 0)
		{
			break;
		}
		if (watcher != nullptr && PQisBusy(db.raw()))
		{
			try
			{
				pg_result *p = watcher->exec("SELECT coalesce(rows_done, 0), coalesce(rows_total, 0), "
				                             "coalesce(current_table, ''), coalesce(tables_done, 0), "
				                             "coalesce(tables_total, 0) FROM backupkit.progress WHERE pid = $1",
				                             {pid.c_str()});
				if (PQntuples(p) > 0)
				{
					bar.set_total(std::stoll(value(p, 0, 1)));
					bar.update(std::stoll(value(p, 0, 0)),
					           "table " + value(p, 0, 3) + "/" + value(p, 0, 4) + " " + value(p, 0, 2));
				}
				Connection::clear(p);
			}
			catch (const std::exception &)
			{
			}
		}
	}
	delete watcher;
	bar.finish();
	pg_result *res = PQgetResult(db.raw());
	for (pg_result *extra = PQgetResult(db.raw()); extra != nullptr; extra = PQgetResult(db.raw()))
	{
		PQclear(extra);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		throw_result_error(res, db.raw());
	}
	return res;
}

bool
ask_yes(const std::string &question)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == nullptr)
	{
		return false;
	}
	fprintf(tty, "%s [y/N] ", question.c_str());
	fflush(tty);
	char buf[64] = {0};
	bool yes = fgets(buf, sizeof buf, tty) != nullptr && (buf[0] == 'y' || buf[0] == 'Y');
	fclose(tty);
	return yes;
}

} // namespace bkcli
