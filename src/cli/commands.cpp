// The commands of the backupkit client. Each is a thin layer over backupkit's SQL functions: the server does
// the work and the checks (export frames come from backupkit.export_snapshot and go back through
// backupkit.import_snapshot unchanged), the client moves bytes, encrypts, shows progress and formats output.
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
namespace
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

std::string
file_safe(const std::string &s)
{
	std::string out;
	for (char c : s)
	{
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		          c == '_';
		out += ok ? c : '-';
	}
	return out.empty() ? "-" : out;
}

// Files of DIR named <prefix><YYYYMMDDTHHMMSSZ>_<id>.bkx, sorted oldest first (the name sorts by time).
std::vector<std::string>
rotation_set(const std::string &dir, const std::string &prefix)
{
	std::vector<std::string> names;
	DIR *d = opendir(dir.c_str());
	if (d == nullptr)
	{
		throw Failure("could not open directory \"" + dir + "\": " + strerror(errno));
	}
	while (struct dirent *e = readdir(d))
	{
		std::string n = e->d_name;
		if (n.size() <= prefix.size() + 21 || n.compare(0, prefix.size(), prefix) != 0 ||
		    n.compare(n.size() - 4, 4, ".bkx") != 0)
		{
			continue;
		}
		std::string rest = n.substr(prefix.size(), n.size() - prefix.size() - 4);
		// 20261203T021500Z_42
		if (rest.size() < 18 || rest[8] != 'T' || rest[15] != 'Z' || rest[16] != '_' ||
		    !all_digits(rest.substr(0, 8)) || !all_digits(rest.substr(9, 6)) || !all_digits(rest.substr(17)))
		{
			continue;
		}
		names.push_back(n);
	}
	closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

} // namespace

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

// validate FILE: every frame read and checked as import would (magic, version, checksum, sequence,
// chunk lengths, trailer counts), nothing sent anywhere.
static int
validate_file(Options &opts, const std::string &path)
{
	FrameReader reader(path, opts);
	Progress bar(opts, "validate", reader.file_size(), true);
	std::vector<unsigned char> buf;
	uint32_t seq = 0;
	uint64_t chunks = 0, tables = 0, part_left = 0;
	bool trailer = false;
	// Every frame must carry the first frame's export id: a file spliced from two exports is refused.
	uint64_t export_id = 0;
	try
	{
		while (reader.next(buf))
		{
			if (trailer)
			{
				throw Failure("export frame " + std::to_string(seq) + " follows the trailer frame");
			}
			bk::FrameView f = bk::parse_frame(buf.data(), buf.size(), seq, seq == 0 ? nullptr : &export_id);
			export_id = f.export_id;
			switch (f.kind)
			{
				case bk::FrameKind::table:
					tables++;
					break;
				case bk::FrameKind::chunk:
				{
					if (part_left != 0)
					{
						throw Failure("chunk ends early before export frame " + std::to_string(seq));
					}
					bk::ChunkFramePrefix p = bk::parse_chunk_prefix(f.payload, f.payload_len);
					uint64_t here = f.payload_len - bk::chunk_frame_prefix_size;
					if (here > p.data_len)
					{
						throw Failure("export frame " + std::to_string(seq) + " holds more chunk data than announced");
					}
					part_left = p.data_len - here;
					chunks++;
					break;
				}
				case bk::FrameKind::chunk_part:
					if (f.payload_len > part_left)
					{
						throw Failure("export frame " + std::to_string(seq) + " holds more chunk data than announced");
					}
					part_left -= f.payload_len;
					break;
				case bk::FrameKind::trailer:
					trailer = true;
					break;
				default:
					break;
			}
			seq++;
			bar.update(reader.position());
		}
	}
	catch (const bk::Error &e)
	{
		throw Failure(e.message(), exit_failure, e.detail(), e.hint());
	}
	bar.finish();
	if (seq == 0)
	{
		throw Failure("export stream is empty");
	}
	if (!trailer || part_left != 0)
	{
		throw Failure("file \"" + path + "\" is truncated: the export stream has no trailer frame");
	}
	if (opts.json)
	{
		printf("{\"file\": %s, \"valid\": true, \"encrypted\": %s, \"frames\": %u, \"tables\": %llu, \"chunks\": "
		       "%llu, \"bytes\": %lld}\n",
		       json_string(path).c_str(), reader.encrypted() ? "true" : "false", seq,
		       static_cast<unsigned long long>(tables), static_cast<unsigned long long>(chunks),
		       static_cast<long long>(reader.file_size()));
	}
	else if (!opts.quiet)
	{
		printf("%s: valid%s export file, %u frames, %llu tables, %llu chunks\n", path.c_str(),
		       reader.encrypted() ? " encrypted" : "", seq, static_cast<unsigned long long>(tables),
		       static_cast<unsigned long long>(chunks));
	}
	return exit_ok;
}

int
cmd_validate(Options &opts)
{
	if (opts.all)
	{
		if (!opts.positional.empty())
		{
			throw Usage("validate takes either --all or one snapshot id or file");
		}
		Connection db(opts);
		pg_result *res = run_with_progress(db, opts, "validate",
		                                   "SELECT count(*) FILTER (WHERE NOT valid) FROM "
		                                   "(SELECT * FROM backupkit.validate_all_snapshots()) v",
		                                   {});
		bool bad = value(res, 0, 0) != "0";
		Connection::clear(res);
		show_rows(db, opts,
		          "SELECT o.snapshot_id, s.label, o.outcome = 'success' AS valid, o.details ->> 'errors' AS errors "
		          "FROM backupkit.snapshots s JOIN LATERAL (SELECT * FROM backupkit.operations o WHERE "
		          "o.operation = 'validate' AND o.snapshot_id = s.id ORDER BY o.logged_at DESC LIMIT 1) o ON true "
		          "ORDER BY o.snapshot_id",
		          {});
		return bad ? exit_failure : exit_ok;
	}
	if (opts.positional.size() != 1)
	{
		throw Usage("validate takes one snapshot id, one file, or --all");
	}
	if (!all_digits(opts.positional[0]))
	{
		return validate_file(opts, opts.positional[0]);
	}
	Connection db(opts);
	pg_result *res = run_with_progress(db, opts, "validate",
	                                   "SELECT r->>'valid', r::text, coalesce(r->'errors'->>0, '') "
	                                   "FROM (SELECT backupkit.validate_snapshot_integrity($1::bigint) r) x",
	                                   {opts.positional[0].c_str()});
	bool valid = value(res, 0, 0) == "true";
	if (opts.json)
	{
		puts(value(res, 0, 1).c_str());
	}
	else if (!opts.quiet)
	{
		printf("snapshot %s: %s%s%s\n", opts.positional[0].c_str(), valid ? "valid" : "INVALID", valid ? "" : ": ",
		       value(res, 0, 2).c_str());
	}
	Connection::clear(res);
	return valid ? exit_ok : exit_failure;
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

int
cmd_export(Options &opts)
{
	std::string id = snapshot_id_arg(opts, "export");
	if (opts.output.empty() == opts.dir.empty())
	{
		throw Usage("export needs exactly one of -o FILE and --dir DIR");
	}
	if (opts.keep_last >= 0 && opts.dir.empty())
	{
		throw Usage("--keep-last goes with --dir");
	}
	if (opts.keep_last == 0)
	{
		throw Usage("--keep-last must be at least 1");
	}
	std::string passphrase;
	if (opts.encrypt)
	{
		passphrase = read_passphrase(opts, true);
	}
	Connection db(opts);
	pg_result *s =
	    db.exec("SELECT label, stored_bytes, status FROM backupkit.snapshots WHERE id = $1::bigint", {id.c_str()});
	if (PQntuples(s) == 0)
	{
		Connection::clear(s);
		throw Failure("snapshot " + id + " does not exist", exit_failure,
		              "backupkit list shows the snapshots you may use.");
	}
	std::string label = is_null(s, 0, 0) ? "" : value(s, 0, 0);
	int64_t estimate = std::stoll(value(s, 0, 1));
	Connection::clear(s);

	std::string path = opts.output, prefix;
	if (!opts.dir.empty())
	{
		char stamp[32];
		time_t t = time(nullptr);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		prefix = file_safe(db.database()) + "_" + file_safe(label.empty() ? "nolabel" : label) + "_";
		path = opts.dir + "/" + prefix + stamp + "_" + id + ".bkx";
	}

	FrameWriter writer(path, opts.encrypt ? &passphrase : nullptr);
	Progress bar(opts, "export", estimate, true);
	const char *params[1] = {id.c_str()};
	if (PQsendQueryParams(db.raw(), "SELECT f FROM backupkit.export_snapshot($1::bigint) f", 1, nullptr, params,
	                      nullptr, nullptr, 1) == 0 ||
	    PQsetSingleRowMode(db.raw()) == 0)
	{
		throw_result_error(nullptr, db.raw());
	}
	int64_t frames = 0;
	pg_result *failed = nullptr;
	for (pg_result *res = PQgetResult(db.raw()); res != nullptr; res = PQgetResult(db.raw()))
	{
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE)
		{
			writer.write(reinterpret_cast<const unsigned char *>(PQgetvalue(res, 0, 0)),
			             static_cast<size_t>(PQgetlength(res, 0, 0)));
			frames++;
			bar.update(writer.bytes_written());
			PQclear(res);
		}
		else if (st == PGRES_TUPLES_OK)
		{
			PQclear(res);
		}
		else if (failed == nullptr)
		{
			failed = res;
		}
		else
		{
			PQclear(res);
		}
	}
	if (failed != nullptr)
	{
		throw_result_error(failed, db.raw(), "export of snapshot " + id + " failed");
	}
	writer.commit();
	bar.finish();

	std::vector<std::string> removed;
	if (opts.keep_last > 0)
	{
		std::vector<std::string> set = rotation_set(opts.dir, prefix);
		for (size_t i = 0; i + static_cast<size_t>(opts.keep_last) < set.size(); i++)
		{
			std::string victim = opts.dir + "/" + set[i];
			if (unlink(victim.c_str()) != 0)
			{
				throw Failure("could not remove old export \"" + victim + "\": " + strerror(errno));
			}
			removed.push_back(victim);
		}
	}
	if (opts.json)
	{
		std::string rm = "[";
		for (size_t i = 0; i < removed.size(); i++)
		{
			rm += (i ? ", " : "") + json_string(removed[i]);
		}
		printf("{\"snapshot_id\": %s, \"file\": %s, \"bytes\": %lld, \"frames\": %lld, \"encrypted\": %s, "
		       "\"removed\": %s]}\n",
		       id.c_str(), json_string(path).c_str(), static_cast<long long>(writer.bytes_written()),
		       static_cast<long long>(frames), opts.encrypt ? "true" : "false", rm.c_str());
	}
	else if (!opts.quiet)
	{
		printf("%s\n", path.c_str());
		for (const std::string &r : removed)
		{
			fprintf(stderr, "removed %s\n", r.c_str());
		}
	}
	return exit_ok;
}

int
cmd_import(Options &opts)
{
	if (opts.positional.size() != 1)
	{
		throw Usage("import needs one file");
	}
	const std::string &path = opts.positional[0];
	// The file is opened (and an encrypted one's passphrase checked) before connecting.
	FrameReader reader(path, opts);
	Connection db(opts);
	Progress bar(opts, "import", reader.file_size(), true);
	db.command("BEGIN");
	db.command("CREATE TEMP TABLE backupkit_cli_import_frames (n bigint, f bytea) ON COMMIT DROP");
	Connection::clear(db.exec("COPY pg_temp.backupkit_cli_import_frames FROM STDIN (FORMAT binary)"));

	// Binary COPY: signature, flags, header extension length; per row a field count and (length, bytes).
	std::vector<char> out;
	auto put32 = [&](uint32_t v)
	{
		for (int i = 3; i >= 0; i--)
		{
			out.push_back(static_cast<char>(v >> (8 * i)));
		}
	};
	static const char signature[] = "PGCOPY\n\377\r\n";
	out.insert(out.end(), signature, signature + 11);
	put32(0);
	put32(0);
	std::vector<unsigned char> frame;
	int64_t n = 0;
	std::string failure;
	try
	{
		while (reader.next(frame))
		{
			out.push_back(0);
			out.push_back(2);
			put32(8);
			for (int i = 7; i >= 0; i--)
			{
				out.push_back(static_cast<char>(static_cast<uint64_t>(n) >> (8 * i)));
			}
			put32(static_cast<uint32_t>(frame.size()));
			out.insert(out.end(), frame.begin(), frame.end());
			n++;
			if (PQputCopyData(db.raw(), out.data(), static_cast<int>(out.size())) != 1)
			{
				throw_result_error(nullptr, db.raw());
			}
			out.clear();
			bar.update(reader.position());
		}
	}
	catch (const Failure &)
	{
		// Abort the COPY: the transaction rolls back and nothing is imported.
		PQputCopyEnd(db.raw(), "the export file could not be read");
		for (pg_result *r = PQgetResult(db.raw()); r != nullptr; r = PQgetResult(db.raw()))
		{
			PQclear(r);
		}
		throw;
	}
	out.push_back(static_cast<char>(0xff));
	out.push_back(static_cast<char>(0xff));
	if (PQputCopyData(db.raw(), out.data(), static_cast<int>(out.size())) != 1 || PQputCopyEnd(db.raw(), nullptr) != 1)
	{
		throw_result_error(nullptr, db.raw());
	}
	pg_result *copy_res = PQgetResult(db.raw());
	if (PQresultStatus(copy_res) != PGRES_COMMAND_OK)
	{
		throw_result_error(copy_res, db.raw(), "import failed");
	}
	PQclear(copy_res);
	while (pg_result *r = PQgetResult(db.raw()))
	{
		PQclear(r);
	}
	bar.finish();
	pg_result *res;
	try
	{
		res = db.exec("SELECT backupkit.import_snapshot(f ORDER BY n) FROM pg_temp.backupkit_cli_import_frames");
	}
	catch (Failure &f)
	{
		throw Failure("import of \"" + path + "\" failed: " + f.what(), exit_failure, f.detail, f.hint);
	}
	std::string id = value(res, 0, 0);
	Connection::clear(res);
	db.command("COMMIT");
	if (opts.json)
	{
		printf("{\"snapshot_id\": %s, \"file\": %s, \"frames\": %lld, \"encrypted\": %s}\n", id.c_str(),
		       json_string(path).c_str(), static_cast<long long>(n), reader.encrypted() ? "true" : "false");
	}
	else
	{
		puts(id.c_str());
	}
	return exit_ok;
}

} // namespace bkcli
