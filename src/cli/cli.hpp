// The backupkit command-line client: declarations shared by its files. Plain C++17 with libpq and
// libsodium; it never sees PostgreSQL's server headers (compiled with BK_CORE_ONLY, like src/core).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace bkcli
{

// Exit statuses: 0 success, 1 failure, 2 usage error.
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// A failure reported as "backupkit: error: <message>" (plus detail/hint lines) with exit status 1, or 2
// for usage errors.
struct Failure : std::runtime_error
{
	Failure(std::string message, int status = exit_failure, std::string detail = {}, std::string hint = {})
	    : std::runtime_error(message), status(status), detail(std::move(detail)), hint(std::move(hint))
	{
	}
	int status;
	std::string detail;
	std::string hint;
};

struct Usage : Failure
{
	explicit Usage(std::string message) : Failure(std::move(message), exit_usage) {}
};

struct Options
{
	// connection
	std::string dbname, host, port, username;
	bool no_password = false, force_password = false;
	// output
	bool json = false, quiet = false;
	// command arguments
	std::vector<std::string> tables;
	std::vector<std::string> positional;
	std::string label, compression, mode, output, dir, passphrase_file, older_than;
	bool has_label = false, dry_run = false, skip_validation = false, force = false, all = false, encrypt = false;
	long limit = -1, keep_last = -1, keep_daily = -1, keep_weekly = -1, keep_monthly = -1, keep_yearly = -1;
};

// libpq connection, closed by the destructor.
class Connection
{
public:
	explicit Connection(const Options &opts);
	~Connection();
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	pg_conn *raw() const { return conn_; }
	std::string database() const;
	int backend_pid() const;
	// Runs a statement with text parameters (nullptr for NULL); throws Failure with the server's message.
	pg_result *exec(const std::string &sql, const std::vector<const char *> &params = {}, bool binary = false);
	void command(const std::string &sql) { clear(exec(sql)); }
	static void clear(pg_result *res);

private:
	pg_conn *conn_ = nullptr;
};

// Turns a failed libpq result into a Failure carrying the server's message, detail and hint.
[[noreturn]] void throw_result_error(pg_result *res, pg_conn *conn, const std::string &context = {});
// Rows of a result as strings (NULL as empty, with a flag).
std::string value(pg_result *res, int row, int col);
bool is_null(pg_result *res, int row, int col);
// Prints a result as an aligned table (or nothing in quiet mode).
void print_table(pg_result *res);
std::string json_string(const std::string &s);
// Reads a line from the terminal without echo (passwords, passphrases); false when there is no terminal.
bool read_tty_secret(const char *prompt, std::string &out);

// Progress on stderr when it is a terminal (not with --quiet or --json).
class Progress
{
public:
	Progress(const Options &opts, std::string what, int64_t total, bool bytes);
	~Progress();
	void update(int64_t done, const std::string &note = {});
	void set_total(int64_t total) { total_ = total; }
	void finish();
	bool active() const { return enabled_; }

private:
	bool enabled_;
	std::string what_;
	int64_t total_;
	bool bytes_;
	double start_;
	double last_draw_ = 0;
	bool drawn_ = false;
};
std::string human_bytes(double bytes);
double now_seconds();

// Export files (see doc/export-format.md): plain (the frames back to back) or encrypted.
std::string read_passphrase(const Options &opts, bool confirm);

class FrameWriter
{
public:
	// Writes to path + ".partial" and renames into place on commit(); removes the partial file otherwise.
	FrameWriter(const std::string &path, const std::string *passphrase);
	~FrameWriter();
	void write(const unsigned char *frame, size_t len); // one whole frame
	void commit();
	int64_t bytes_written() const { return written_; }

private:
	void flush_pending(bool final);
	void raw_write(const void *data, size_t len);
	std::string path_, partial_;
	int fd_ = -1;
	bool encrypted_;
	bool committed_ = false;
	unsigned char state_[64];
	std::vector<unsigned char> pending_; // additional data for the next message (the header, first only)
	std::vector<unsigned char> frame_;   // the frame held back
	bool has_pending_ = false;
	int64_t written_ = 0;
};

class FrameReader
{
public:
	// Opens the file and, when it is encrypted, asks for the passphrase and checks it.
	FrameReader(const std::string &path, const Options &opts);
	~FrameReader();
	// The next frame into buf; false at the end of the stream (after the final frame of an encrypted file).
	bool next(std::vector<unsigned char> &buf);
	bool encrypted() const { return encrypted_; }
	int64_t file_size() const { return size_; }
	int64_t position() const { return pos_; }

private:
	void read_exact(void *out, size_t len, const char *what);
	size_t read_some(void *out, size_t len);
	std::string path_;
	int fd_ = -1;
	bool encrypted_ = false;
	bool finished_ = false;
	unsigned char state_[64];
	int64_t size_ = 0;
	int64_t pos_ = 0;
	uint64_t frames_ = 0;
	std::vector<unsigned char> cipher_;
	std::vector<unsigned char> header_;
};

// Commands.
// Shared by the commands (command_support.cpp).
std::string array_literal(const std::vector<std::string> &items);
bool all_digits(const std::string &s);
std::string snapshot_id_arg(const Options &opts, const char *command);
void show_rows(Connection &db, const Options &opts, const std::string &sql, const std::vector<const char *> &params);
pg_result *run_with_progress(Connection &db, const Options &opts, const std::string &what, const std::string &sql,
                             const std::vector<const char *> &params);
bool ask_yes(const std::string &question);

int cmd_snapshot(Options &opts);
int cmd_list(Options &opts);
int cmd_info(Options &opts);
int cmd_check(Options &opts);
int cmd_validate(Options &opts);
int cmd_restore(Options &opts);
int cmd_prune(Options &opts);
int cmd_export(Options &opts);
int cmd_import(Options &opts);

} // namespace bkcli
