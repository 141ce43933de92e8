// The commands of the backupkit client that work on export files: export, import and validate. Export frames
// come from backupkit.export_snapshot and go back through backupkit.import_snapshot unchanged; the client
// moves bytes, encrypts, rotates files, shows progress and checks a file without a server.
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
