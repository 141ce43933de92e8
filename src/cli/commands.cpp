// The commands of the backupkit client that work on a database: snapshot, list, info, check, restore and
// prune. Each is a thin layer over backupkit's SQL functions: the server does the work and the checks, the
// client shows progress and formats output. The commands that move export files are in file_commands.cpp.
#include "cli.hpp"

#include "core/error.hpp"
#include "core/codec/export_frame.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bkcli
{

int
cmd_snapshot(Options &opts)
{
	if (opts.tables.empty())
	{
		throw Usage("snapshot needs at least one table (-t TABLE)");
	}
	if (!opts.positional.empty())
	{
		throw Usage("snapshot takes no positional argument: \"" + opts.positional[0] + "\"");
	}
	Connection db(opts);
	std::string tables = array_literal(opts.tables);
	std::string compression = opts.compression.empty() ? "zstd" : opts.compression;
	pg_result *res =
	    run_with_progress(db, opts, "snapshot", "SELECT backupkit.snapshot_tables($1::text[]::regclass[], $2, $3)",
	                      {tables.c_str(), opts.has_label ? opts.label.c_str() : nullptr, compression.c_str()});
	std::string id = value(res, 0, 0);
	Connection::clear(res);
	if (opts.json)
	{
		printf("{\"snapshot_id\": %s}\n", id.c_str());
	}
	else
	{
		puts(id.c_str());
	}
	return exit_ok;
}

int
cmd_list(Options &opts)
{
	Connection db(opts);
	std::string limit = opts.limit >= 0 ? std::to_string(opts.limit) : "";
	show_rows(db, opts,
	          "SELECT id, label, created_at, created_by, tables, rows, stored_size, compression, pinned "
	          "FROM backupkit.snapshots WHERE ($1::text IS NULL OR label = $1) "
	          "ORDER BY created_at DESC, id DESC LIMIT $2::bigint",
	          {opts.has_label ? opts.label.c_str() : nullptr, limit.empty() ? nullptr : limit.c_str()});
	return exit_ok;
}

int
cmd_info(Options &opts)
{
	Connection db(opts);
	if (opts.json)
	{
		pg_result *res = db.exec("SELECT backupkit.info()::text");
		puts(value(res, 0, 0).c_str());
		Connection::clear(res);
		return exit_ok;
	}
	show_rows(db, opts,
	          "SELECT key, CASE jsonb_typeof(value) WHEN 'string' THEN value #>> '{}' ELSE value::text END AS value "
	          "FROM jsonb_each(backupkit.info()) ORDER BY key",
	          {});
	return exit_ok;
}

int
cmd_check(Options &opts)
{
	Connection db(opts);
	show_rows(db, opts, "SELECT * FROM backupkit.check()", {});
	pg_result *res = db.exec("SELECT count(*) FROM backupkit.check() WHERE severity = 'error'");
	bool errors = value(res, 0, 0) != "0";
	Connection::clear(res);
	return errors ? exit_failure : exit_ok;
}

int
cmd_restore(Options &opts)
{
	std::string id = snapshot_id_arg(opts, "restore");
	std::string mode = opts.mode.empty() ? "replace" : opts.mode;
	if (mode != "replace" && mode != "merge" && mode != "missing")
	{
		throw Usage("unrecognized restore mode: \"" + mode + "\" (replace, merge or missing)");
	}
	Connection db(opts);
	if (!opts.dry_run && !opts.force)
	{
		if (!isatty(STDIN_FILENO))
		{
			throw Failure("refusing to restore without a terminal to confirm on", exit_failure, {},
			              "Add --force to restore anyway, or --dry-run to see what would change.");
		}
		pg_result *s = db.exec("SELECT coalesce(label, '(no label)'), created_at, tables FROM backupkit.snapshots "
		                       "WHERE id = $1::bigint",
		                       {id.c_str()});
		std::string what = PQntuples(s) > 0 ? "\"" + value(s, 0, 0) + "\" of " + value(s, 0, 1) : "";
		Connection::clear(s);
		std::string targets = opts.tables.empty() ? "every table of snapshot " + id : array_literal(opts.tables);
		if (!ask_yes("Restore " + targets + " (" + what + ") into database \"" + db.database() + "\" in " + mode +
		             " mode? Rows written since will be changed."))
		{
			throw Failure("restore cancelled");
		}
	}
	std::string tables = array_literal(opts.tables);
	pg_result *res = run_with_progress(db, opts, opts.dry_run ? "dry run" : "restore",
	                                   "SELECT backupkit.restore_snapshot($1::bigint, $2::text[]::regclass[], $3, "
	                                   "$4::boolean, false, $5::boolean)::text",
	                                   {id.c_str(), opts.tables.empty() ? nullptr : tables.c_str(), mode.c_str(),
	                                    opts.dry_run ? "true" : "false", opts.skip_validation ? "false" : "true"});
	std::string report = value(res, 0, 0);
	Connection::clear(res);
	if (opts.json)
	{
		puts(report.c_str());
		return exit_ok;
	}
	if (!opts.quiet)
	{
		show_rows(db, opts,
		          "SELECT t->>'table' AS table_name, t->>'mode' AS mode, t->>'inserted' AS inserted, "
		          "t->>'updated' AS updated, t->>'deleted' AS deleted, t->>'unchanged' AS unchanged "
		          "FROM jsonb_array_elements($1::jsonb -> 'tables') t",
		          {report.c_str()});
		if (opts.dry_run)
		{
			puts("(dry run: nothing was changed)");
		}
	}
	return exit_ok;
}

int
cmd_prune(Options &opts)
{
	if (!opts.positional.empty())
	{
		throw Usage("prune takes no positional argument: \"" + opts.positional[0] + "\"");
	}
	auto num = [](long v) { return v >= 0 ? std::to_string(v) : std::string(); };
	std::string kl = num(opts.keep_last), kd = num(opts.keep_daily), kw = num(opts.keep_weekly),
	            km = num(opts.keep_monthly), ky = num(opts.keep_yearly);
	auto p = [](const std::string &s) { return s.empty() ? nullptr : s.c_str(); };
	Connection db(opts);
	show_rows(db, opts,
	          "SELECT * FROM backupkit.prune_snapshots(keep_last => $1::int, keep_daily => $2::int, keep_weekly => "
	          "$3::int, keep_monthly => $4::int, keep_yearly => $5::int, older_than => $6::interval, label => $7, "
	          "dry_run => $8::boolean)",
	          {p(kl), p(kd), p(kw), p(km), p(ky), p(opts.older_than), opts.has_label ? opts.label.c_str() : nullptr,
	           opts.dry_run ? "true" : "false"});
	return exit_ok;
}

} // namespace bkcli
