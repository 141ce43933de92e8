// A progress bar on stderr for long operations: done / total (bytes or rows), rate and ETA, shown after half a
// second and redrawn at most ten times a second, only when stderr is a terminal and neither --quiet nor --json was
// given.
#include "cli.hpp"

#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace bkcli
{

double
now_seconds()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string
human_bytes(double bytes)
{
	const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	int u = 0;
	while (bytes >= 1024 && u < 4)
	{
		bytes /= 1024;
		u++;
	}
	char buf[32];
	snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
	return buf;
}

static std::string
count_text(double v, bool bytes)
{
	if (bytes)
	{
		return human_bytes(v);
	}
	char buf[32];
	snprintf(buf, sizeof buf, "%.0f rows", v);
	return buf;
}

Progress::Progress(const Options &opts, std::string what, int64_t total, bool bytes)
    : enabled_(!opts.quiet && !opts.json && isatty(STDERR_FILENO)), what_(std::move(what)), total_(total),
      bytes_(bytes), start_(now_seconds())
{
}

Progress::~Progress()
{
	if (drawn_)
	{
		fputs("\n", stderr);
	}
}

void
Progress::update(int64_t done, const std::string &note)
{
	if (!enabled_)
	{
		return;
	}
	double now = now_seconds();
	// Nothing for operations that end within half a second; then at most ten redraws a second.
	if (now - start_ < 0.5 || (drawn_ && now - last_draw_ < 0.1))
	{
		return;
	}
	last_draw_ = now;
	double elapsed = now - start_;
	double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
	std::string line = what_ + " ";
	if (total_ > 0)
	{
		double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
		int filled = static_cast<int>(frac * 30);
		line += "[" + std::string(static_cast<size_t>(filled), '=') + (filled < 30 ? ">" : "") +
		        std::string(static_cast<size_t>(std::max(0, 29 - filled)), ' ') + "] ";
		char pct[16];
		snprintf(pct, sizeof pct, "%3.0f%% ", frac * 100);
		line += pct;
		line += count_text(static_cast<double>(done), bytes_) + " / " + count_text(static_cast<double>(total_), bytes_);
		if (rate > 0 && done < total_)
		{
			char eta[32];
			snprintf(eta, sizeof eta, " ETA %.0fs", static_cast<double>(total_ - done) / rate);
			line += "  " + count_text(rate, bytes_) + "/s" + eta;
		}
	}
	else
	{
		line += count_text(static_cast<double>(done), bytes_) + "  " + count_text(rate, bytes_) + "/s";
	}
	if (!note.empty())
	{
		line += "  " + note;
	}
	if (line.size() > 150)
	{
		line.resize(150);
	}
	fprintf(stderr, "\r%s\033[K", line.c_str());
	fflush(stderr);
	drawn_ = true;
}

void
Progress::finish()
{
	if (drawn_)
	{
		last_draw_ = 0;
		fputs("\r\033[K", stderr);
		fflush(stderr);
		drawn_ = false;
	}
}

} // namespace bkcli
