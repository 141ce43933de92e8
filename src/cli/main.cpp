// backupkit: the command-line client of the backupkit extension. Parses the command line (PostgreSQL's
// connection options, then one command and its options), runs the command and maps failures to exit
// statuses: 0 success, 1 failure, 2 usage error.
#include "cli.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace bkcli
{
namespace
{

const char *const version_text = "backupkit (backupkit client) 1.0";

const char *const general_help =
    "backupkit: snapshots of PostgreSQL tables from the command line (the backupkit extension's client).\n"
    "\n"
    "Usage: backupkit [CONNECTION] COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  snapshot -t TABLE... [--label L] [--compression zstd|none]   take a snapshot, print its id\n"
    "  list [--label L] [--limit N]                                the snapshots you may use, newest first\n"
    "  info                                                        overview (backupkit.info())\n"
    "  check                                                       health checks; exit 1 when one is an error\n"
    "  validate ID | --all | FILE                                  verify snapshots, or an export file offline\n"
    "  restore ID [-t TABLE...] [--mode M] [--dry-run] [--skip-validation] [--force]\n"
    "  prune --keep-last N [--keep-daily N ...] [--label L] [--dry-run]\n"
    "  export ID (-o FILE | --dir DIR [--keep-last N]) [--encrypt]  write a snapshot to a file\n"
    "  import FILE                                                 import an export file, print the new id\n"
    "\n"
    "Connection options (as psql; PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD and ~/.pgpass apply):\n"
    "  -d, --dbname=DBNAME|CONNSTR   database name or connection string/URI\n"
    "  -h, --host=HOST               server host or socket directory\n"
    "  -p, --port=PORT               server port\n"
    "  -U, --username=USER           role to connect as\n"
    "  -w, --no-password             never prompt for a password\n"
    "  -W, --password                prompt for a password first\n"
    "\n"
    "Output options: --json (machine-readable), --quiet (no progress, less output), --help, --version.\n"
    "Exit status: 0 success, 1 failure, 2 usage error. `backupkit COMMAND --help` describes a command.\n";

const std::map<std::string, std::string> command_help = {
    {"snapshot", "Usage: backupkit snapshot -t TABLE [-t TABLE...] [--label L] [--compression zstd|none]\n"
                 "Captures the tables under one MVCC snapshot (backupkit.snapshot_tables) and prints the new id.\n"
                 "Several tables may also be given comma-separated: -t public.orders,public.lines.\n"},
    {"list", "Usage: backupkit list [--label L] [--limit N]\n"
             "Lists the snapshots you may use, newest first (backupkit.snapshots).\n"},
    {"info", "Usage: backupkit info\nPrints backupkit.info(): versions, counts, sizes, jobs, check counts.\n"},
    {"check", "Usage: backupkit check\n"
              "Prints backupkit.check(), one row per check (severity ok, warning or error).\n"
              "Exit status 1 when a row has severity error, so it can drive monitoring.\n"},
    {"validate", "Usage: backupkit validate ID | --all | FILE\n"
                 "ID: backupkit.validate_snapshot_integrity; --all: every snapshot you may use;\n"
                 "FILE: reads an export file (decrypting it if needed) and checks every frame without importing.\n"
                 "Exit status 1 when something is invalid.\n"},
    {"restore", "Usage: backupkit restore ID [-t TABLE...] [--mode replace|merge|missing] [--dry-run]\n"
                "                         [--skip-validation] [--force]\n"
                "Restores the snapshot (all its tables, or those given) with backupkit.restore_snapshot, all or\n"
                "nothing. Asks for confirmation on a terminal; without one it refuses unless --force or --dry-run.\n"
                "--skip-validation skips the pre-restore validation. Progress comes from backupkit.progress.\n"},
    {"prune", "Usage: backupkit prune [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
              "                       [--keep-yearly N] [--older-than INTERVAL] [--label L] [--dry-run]\n"
              "Drops snapshots by retention rules (backupkit.prune_snapshots); prints keep/drop per snapshot.\n"},
    {"export", "Usage: backupkit export ID -o FILE [--encrypt] [--passphrase-file F]\n"
               "       backupkit export ID --dir DIR [--keep-last N] [--encrypt] [--passphrase-file F]\n"
               "Writes the snapshot's frames (backupkit.export_snapshot) to a binary file. With --dir the file is\n"
               "DIR/<database>_<label>_<UTC time>_<id>.bkx and --keep-last N removes older files of the same\n"
               "database and label beyond the N newest. --encrypt: Argon2id key from a passphrase\n"
               "(BACKUPKIT_PASSPHRASE, --passphrase-file or a prompt) and XChaCha20-Poly1305; the passphrase\n"
               "never reaches the server. The file appears only when complete (written as FILE.partial).\n"},
    {"import", "Usage: backupkit import FILE [--passphrase-file F]\n"
               "Imports an export file (plain or encrypted, detected) with backupkit.import_snapshot in one\n"
               "transaction and prints the new snapshot id. A damaged file or wrong passphrase imports nothing.\n"},
};

using Handler = int (*)(Options &);
const std::map<std::string, Handler> handlers = {
    {"snapshot", cmd_snapshot}, {"list", cmd_list},         {"info", cmd_info},
    {"check", cmd_check},       {"validate", cmd_validate}, {"restore", cmd_restore},
    {"prune", cmd_prune},       {"export", cmd_export},     {"import", cmd_import},
};

long
parse_count(const std::string &name, const std::string &v)
{
	char *end = nullptr;
	errno = 0;
	long n = strtol(v.c_str(), &end, 10);
	if (v.empty() || *end != '\0' || errno != 0 || n < 0)
	{
		throw Usage("invalid value for " + name + ": \"" + v + "\"");
	}
	return n;
}

int
run(int argc, char **argv)
{
	Options opts;
	std::string command;
	bool help = false;
	for (int i = 1; i < argc; i++)
	{
		std::string arg = argv[i];
		std::string name = arg, inline_value;
		bool has_inline = false;
		if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos)
		{
			name = arg.substr(0, arg.find('='));
			inline_value = arg.substr(arg.find('=') + 1);
			has_inline = true;
		}
		else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' && strchr("dhpUto", arg[1]) != nullptr)
		{
			name = arg.substr(0, 2); // -dfoo, -p5432
			inline_value = arg.substr(2);
			has_inline = true;
		}
		auto take = [&]() -> std::string
		{
			if (has_inline)
			{
				return inline_value;
			}
			if (i + 1 >= argc)
			{
				throw Usage("option " + name + " needs a value");
			}
			return argv[++i];
		};
		if (name == "--help" || name == "-?")
		{
			help = true;
		}
		else if (name == "--version" || name == "-V")
		{
			puts(version_text);
			return exit_ok;
		}
		else if (name == "-d" || name == "--dbname")
		{
			opts.dbname = take();
		}
		else if (name == "-h" || name == "--host")
		{
			opts.host = take();
		}
		else if (name == "-p" || name == "--port")
		{
			opts.port = take();
		}
		else if (name == "-U" || name == "--username")
		{
			opts.username = take();
		}
		else if (name == "-w" || name == "--no-password")
		{
			opts.no_password = true;
		}
		else if (name == "-W" || name == "--password")
		{
			opts.force_password = true;
		}
		else if (name == "--json")
		{
			opts.json = true;
		}
		else if (name == "-q" || name == "--quiet")
		{
			opts.quiet = true;
		}
		else if (name == "-t" || name == "--table")
		{
			std::string v = take();
			size_t start = 0;
			// Comma-separated lists are split outside double quotes.
			bool quoted = false;
			for (size_t k = 0; k <= v.size(); k++)
			{
				if (k < v.size() && v[k] == '"')
				{
					quoted = !quoted;
				}
				if (k == v.size() || (v[k] == ',' && !quoted))
				{
					if (k > start)
					{
						opts.tables.push_back(v.substr(start, k - start));
					}
					start = k + 1;
				}
			}
		}
		else if (name == "--label" || name == "-l")
		{
			opts.label = take();
			opts.has_label = true;
		}
		else if (name == "--compression")
		{
			opts.compression = take();
		}
		else if (name == "--mode" || name == "-m")
		{
			opts.mode = take();
		}
		else if (name == "-o" || name == "--output")
		{
			opts.output = take();
		}
		else if (name == "--dir")
		{
			opts.dir = take();
		}
		else if (name == "--passphrase-file")
		{
			opts.passphrase_file = take();
		}
		else if (name == "--older-than")
		{
			opts.older_than = take();
		}
		else if (name == "--limit")
		{
			opts.limit = parse_count(name, take());
		}
		else if (name == "--keep-last")
		{
			opts.keep_last = parse_count(name, take());
		}
		else if (name == "--keep-daily")
		{
			opts.keep_daily = parse_count(name, take());
		}
		else if (name == "--keep-weekly")
		{
			opts.keep_weekly = parse_count(name, take());
		}
		else if (name == "--keep-monthly")
		{
			opts.keep_monthly = parse_count(name, take());
		}
		else if (name == "--keep-yearly")
		{
			opts.keep_yearly = parse_count(name, take());
		}
		else if (name == "--dry-run" || name == "-n")
		{
			opts.dry_run = true;
		}
		else if (name == "--skip-validation")
		{
			opts.skip_validation = true;
		}
		else if (name == "--force" || name == "-f")
		{
			opts.force = true;
		}
		else if (name == "--all")
		{
			opts.all = true;
		}
		else if (name == "--encrypt")
		{
			opts.encrypt = true;
		}
		else if (arg.size() > 1 && arg[0] == '-')
		{
			throw Usage("unrecognized option: \"" + arg + "\"");
		}
		else if (command.empty())
		{
			command = arg;
		}
		else
		{
			opts.positional.push_back(arg);
		}
	}
	if (command.empty())
	{
		if (help)
		{
			fputs(general_help, stdout);
			return exit_ok;
		}
		throw Usage("no command given (try \"backupkit --help\")");
	}
	auto h = handlers.find(command);
	if (h == handlers.end())
	{
		throw Usage("unrecognized command: \"" + command + "\" (try \"backupkit --help\")");
	}
	if (help)
	{
		fputs(command_help.at(command).c_str(), stdout);
		fputs("Common options: -d -h -p -U -w -W (connection), --json, --quiet, --help.\n", stdout);
		return exit_ok;
	}
	return h->second(opts);
}

} // namespace
} // namespace bkcli

int
main(int argc, char **argv)
{
	try
	{
		return bkcli::run(argc, argv);
	}
	catch (const bkcli::Failure &f)
	{
		fprintf(stderr, "backupkit: error: %s\n", f.what());
		if (!f.detail.empty())
		{
			fprintf(stderr, "DETAIL:  %s\n", f.detail.c_str());
		}
		if (!f.hint.empty())
		{
			fprintf(stderr, "HINT:  %s\n", f.hint.c_str());
		}
		if (f.status == bkcli::exit_usage)
		{
			fprintf(stderr, "Try \"backupkit --help\" for more information.\n");
		}
		return f.status;
	}
	catch (const std::exception &e)
	{
		fprintf(stderr, "backupkit: error: %s\n", e.what());
		return bkcli::exit_failure;
	}
}
