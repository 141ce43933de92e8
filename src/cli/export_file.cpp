// Export files of the backupkit client. A plain file is the frames of backupkit.export_snapshot back to back
// (doc/export-format.md; each frame says its own length). An encrypted file starts with its own 80-byte
// header, then one libsodium secretstream (XChaCha20-Poly1305) message per frame, each preceded by its
// length; the key comes from the passphrase through Argon2id with the parameters and salt in the header:
//
//   0 "BKXE" | 4 version u16 (1) | 6 KDF u8 (1: Argon2id v1.3) | 7 reserved u8 | 8 opslimit u64 |
//   16 memlimit u64 | 24 salt [16] | 40 key check [16] | 56 secretstream header [24] | 80 messages:
//   length u32 (ciphertext bytes) | ciphertext (frame + 17 bytes)
//
// The header is the additional data of the first message, so any change to it is detected; the key check
// (BLAKE2b of a fixed string keyed with the derived key) tells a wrong passphrase from a damaged file; the
// last frame carries the FINAL tag, so a cut file is detected too. Integers little-endian.
#include "cli.hpp"

#include "core/codec/export_frame.hpp"

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bkcli
{
namespace
{

constexpr unsigned char enc_magic[4] = {'B', 'K', 'X', 'E'};
constexpr size_t enc_header_size = 80;
constexpr size_t salt_size = 16;
constexpr size_t key_check_size = 16;
constexpr uint16_t enc_version = 1;
constexpr uint8_t kdf_argon2id13 = 1;
// libsodium's "moderate" limits would take 256 MiB and about a second; "interactive" is still memory-hard
// (64 MiB) and the parameters travel in the file, so they can be raised later without breaking old files.
constexpr uint64_t default_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr uint64_t default_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
// Refuse headers asking for absurd work (a damaged or hostile file must not exhaust the machine).
constexpr uint64_t max_opslimit = 64;
constexpr uint64_t max_memlimit = 4ULL << 30;
const char key_check_text[] = "backupkit export key check v1";

static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) <= 64, "state buffer too small");

void
put_u16(unsigned char *p, uint16_t v)
{
	p[0] = static_cast<unsigned char>(v);
	p[1] = static_cast<unsigned char>(v >> 8);
}
void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
	{
		p[i] = static_cast<unsigned char>(v >> (8 * i));
	}
}
void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
	{
		p[i] = static_cast<unsigned char>(v >> (8 * i));
	}
}
uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
	{
		v = (v << 8) | p[i];
	}
	return v;
}

void
init_sodium()
{
	if (sodium_init() < 0)
	{
		throw Failure("could not initialize libsodium");
	}
}

struct Key
{
	unsigned char bytes[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	~Key() { sodium_memzero(bytes, sizeof bytes); }
};

void
derive_key(Key &key, const std::string &passphrase, const unsigned char *salt, uint64_t ops, uint64_t mem)
{
	if (crypto_pwhash(key.bytes, sizeof key.bytes, passphrase.data(), passphrase.size(), salt, ops,
	                  static_cast<size_t>(mem), crypto_pwhash_ALG_ARGON2ID13) != 0)
	{
		throw Failure("could not derive the key from the passphrase (out of memory)");
	}
}

void
key_check(const Key &key, unsigned char *out)
{
	crypto_generichash(out, key_check_size, reinterpret_cast<const unsigned char *>(key_check_text),
	                   sizeof key_check_text - 1, key.bytes, sizeof key.bytes);
}

std::string
read_tty_line(const char *prompt)
{
	std::string line;
	if (!read_tty_secret(prompt, line))
	{
		throw Failure("no passphrase given", exit_failure, {},
		              "Set BACKUPKIT_PASSPHRASE, give --passphrase-file FILE, or run on a terminal to be asked.");
	}
	return line;
}

} // namespace

std::string
read_passphrase(const Options &opts, bool confirm)
{
	std::string pass;
	if (!opts.passphrase_file.empty())
	{
		FILE *f = fopen(opts.passphrase_file.c_str(), "r");
		if (f == nullptr)
		{
			throw Failure("could not open passphrase file \"" + opts.passphrase_file + "\": " + strerror(errno));
		}
		char buf[4096];
		if (fgets(buf, sizeof buf, f) != nullptr)
		{
			pass = buf;
		}
		sodium_memzero(buf, sizeof buf);
		fclose(f);
		while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r'))
		{
			pass.pop_back();
		}
	}
	else if (const char *env = getenv("BACKUPKIT_PASSPHRASE"))
	{
		pass = env;
	}
	else
	{
		pass = read_tty_line("Passphrase: ");
		if (confirm && read_tty_line("Passphrase (again): ") != pass)
		{
			throw Failure("the passphrases do not match");
		}
	}
	if (pass.empty())
	{
		throw Failure("the passphrase is empty");
	}
	return pass;
}

// ---- writing -------------------------------------------------------------------------------------------

FrameWriter::FrameWriter(const std::string &path, const std::string *passphrase)
    : path_(path), partial_(path + ".partial"), encrypted_(passphrase != nullptr)
{
	fd_ = open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd_ < 0)
	{
		throw Failure("could not create file \"" + partial_ + "\": " + strerror(errno));
	}
	if (encrypted_)
	{
		init_sodium();
		unsigned char header[enc_header_size] = {};
		memcpy(header, enc_magic, 4);
		put_u16(header + 4, enc_version);
		header[6] = kdf_argon2id13;
		put_u64(header + 8, default_opslimit);
		put_u64(header + 16, default_memlimit);
		randombytes_buf(header + 24, salt_size);
		Key key;
		derive_key(key, *passphrase, header + 24, default_opslimit, default_memlimit);
		key_check(key, header + 40);
		auto *st = reinterpret_cast<crypto_secretstream_xchacha20poly1305_state *>(state_);
		crypto_secretstream_xchacha20poly1305_init_push(st, header + 56, key.bytes);
		raw_write(header, sizeof header);
		// The header is authenticated as the first message's additional data.
		pending_.assign(header, header + sizeof header);
	}
}

FrameWriter::~FrameWriter()
{
	if (fd_ >= 0)
	{
		close(fd_);
	}
	if (!committed_)
	{
		unlink(partial_.c_str());
	}
	sodium_memzero(state_, sizeof state_);
}

void
FrameWriter::raw_write(const void *data, size_t len)
{
	const char *p = static_cast<const char *>(data);
	while (len > 0)
	{
		ssize_t n = ::write(fd_, p, len);
		if (n < 0)
		{
			if (errno == EINTR)
			{
				continue;
			}
			throw Failure("could not write to file \"" + partial_ + "\": " + strerror(errno));
		}
		p += n;
		len -= static_cast<size_t>(n);
		written_ += n;
	}
}

// Encrypted frames are held back by one, so that the last can carry the FINAL tag.
void
FrameWriter::flush_pending(bool final)
{
	if (!has_pending_)
	{
		return;
	}
	auto *st = reinterpret_cast<crypto_secretstream_xchacha20poly1305_state *>(state_);
	std::vector<unsigned char> out(frame_.size() + crypto_secretstream_xchacha20poly1305_ABYTES + 4);
	unsigned long long clen = 0;
	const unsigned char *ad = pending_.empty() ? nullptr : pending_.data();
	crypto_secretstream_xchacha20poly1305_push(
	    st, out.data() + 4, &clen, frame_.data(), frame_.size(), ad, pending_.size(),
	    final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	put_u32(out.data(), static_cast<uint32_t>(clen));
	raw_write(out.data(), clen + 4);
	pending_.clear();
	has_pending_ = false;
}

void
FrameWriter::write(const unsigned char *frame, size_t len)
{
	if (!encrypted_)
	{
		raw_write(frame, len);
		return;
	}
	flush_pending(false);
	frame_.assign(frame, frame + len);
	has_pending_ = true;
}

void
FrameWriter::commit()
{
	if (encrypted_)
	{
		if (!has_pending_)
		{
			throw Failure("the export stream is empty");
		}
		flush_pending(true);
	}
	if (fsync(fd_) != 0 || close(fd_) != 0)
	{
		fd_ = -1;
		throw Failure("could not write file \"" + partial_ + "\": " + strerror(errno));
	}
	fd_ = -1;
	if (rename(partial_.c_str(), path_.c_str()) != 0)
	{
		throw Failure("could not rename \"" + partial_ + "\" to \"" + path_ + "\": " + strerror(errno));
	}
	committed_ = true;
}

// ---- reading -------------------------------------------------------------------------------------------

FrameReader::FrameReader(const std::string &path, const Options &opts) : path_(path)
{
	fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd_ < 0)
	{
		throw Failure("could not open file \"" + path + "\": " + strerror(errno));
	}
	struct stat sb;
	if (fstat(fd_, &sb) == 0)
	{
		size_ = sb.st_size;
	}
	unsigned char magic[4];
	size_t got = read_some(magic, 4);
	if (got == 4 && memcmp(magic, enc_magic, 4) == 0)
	{
		encrypted_ = true;
		header_.assign(enc_header_size, 0);
		memcpy(header_.data(), magic, 4);
		read_exact(header_.data() + 4, enc_header_size - 4, "its header");
		uint16_t version = static_cast<uint16_t>(get_le(header_.data() + 4, 2));
		if (version != enc_version || header_[6] != kdf_argon2id13)
		{
			throw Failure("encrypted file \"" + path + "\" has format version " + std::to_string(version) +
			                  ", which this backupkit does not know",
			              exit_failure, {}, "Update the backupkit client.");
		}
		uint64_t ops = get_le(header_.data() + 8, 8);
		uint64_t mem = get_le(header_.data() + 16, 8);
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > max_opslimit || mem < crypto_pwhash_MEMLIMIT_MIN ||
		    mem > max_memlimit)
		{
			throw Failure("encrypted file \"" + path + "\" is damaged: its key derivation parameters are out of range");
		}
		init_sodium();
		std::string pass = read_passphrase(opts, false);
		Key key;
		derive_key(key, pass, header_.data() + 24, ops, mem);
		sodium_memzero(&pass[0], pass.size());
		unsigned char check[key_check_size];
		key_check(key, check);
		if (sodium_memcmp(check, header_.data() + 40, key_check_size) != 0)
		{
			throw Failure("wrong passphrase for \"" + path + "\"", exit_failure,
			              "The key derived from the passphrase does not match the file (or its header was changed).");
		}
		auto *st = reinterpret_cast<crypto_secretstream_xchacha20poly1305_state *>(state_);
		if (crypto_secretstream_xchacha20poly1305_init_pull(st, header_.data() + 56, key.bytes) != 0)
		{
			throw Failure("encrypted file \"" + path + "\" is damaged: invalid stream header");
		}
	}
	else if (got == 4 && memcmp(magic, "BKX1", 4) == 0)
	{
		header_.assign(magic, magic + 4); // the start of the first frame
	}
	else
	{
		throw Failure("\"" + path + "\" is not a backupkit export file");
	}
}

FrameReader::~FrameReader()
{
	if (fd_ >= 0)
	{
		close(fd_);
	}
	sodium_memzero(state_, sizeof state_);
}

size_t
FrameReader::read_some(void *out, size_t len)
{
	size_t total = 0;
	char *p = static_cast<char *>(out);
	while (total < len)
	{
		ssize_t n = ::read(fd_, p + total, len - total);
		if (n < 0)
		{
			if (errno == EINTR)
			{
				continue;
			}
			throw Failure("could not read file \"" + path_ + "\": " + strerror(errno));
		}
		if (n == 0)
		{
			break;
		}
		total += static_cast<size_t>(n);
	}
	pos_ += static_cast<int64_t>(total);
	return total;
}

void
FrameReader::read_exact(void *out, size_t len, const char *what)
{
	if (read_some(out, len) != len)
	{
		throw Failure("file \"" + path_ + "\" is truncated (in " + what + ")", exit_failure,
		              "The file ends in the middle of " + std::string(what) + "; nothing was imported.");
	}
}

bool
FrameReader::next(std::vector<unsigned char> &buf)
{
	std::string where = "frame " + std::to_string(frames_);
	if (!encrypted_)
	{
		unsigned char head[bk::export_frame_header_size];
		size_t have = header_.size();
		memcpy(head, header_.data(), have);
		header_.clear();
		size_t got = read_some(head + have, sizeof head - have);
		if (have + got == 0)
		{
			return false;
		}
		if (have + got < sizeof head)
		{
			throw Failure("file \"" + path_ + "\" is truncated (in " + where + ")");
		}
		// Payload length at offset 12 (doc/export-format.md); the server checks everything else.
		uint64_t payload = get_le(head + 12, 4);
		if (payload > bk::export_max_payload)
		{
			throw Failure("file \"" + path_ + "\" is damaged: " + where + " claims " + std::to_string(payload) +
			              " bytes");
		}
		buf.resize(bk::export_frame_size(static_cast<size_t>(payload)));
		memcpy(buf.data(), head, sizeof head);
		read_exact(buf.data() + sizeof head, buf.size() - sizeof head, where.c_str());
		frames_++;
		return true;
	}
	if (finished_)
	{
		unsigned char extra;
		if (read_some(&extra, 1) != 0)
		{
			throw Failure("encrypted file \"" + path_ + "\" has data after its final frame", exit_failure,
			              "The file was changed after it was written; nothing was imported.");
		}
		return false;
	}
	unsigned char lenbuf[4];
	size_t got = read_some(lenbuf, 4);
	if (got != 4)
	{
		throw Failure("encrypted file \"" + path_ + "\" is truncated (" + where + " is missing)", exit_failure,
		              "The file ends before its final frame; nothing was imported.");
	}
	uint64_t clen = get_le(lenbuf, 4);
	if (clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
	    clen > bk::export_frame_size(bk::export_max_payload) + crypto_secretstream_xchacha20poly1305_ABYTES)
	{
		throw Failure("encrypted file \"" + path_ + "\" is damaged (" + where + " has an invalid length)", exit_failure,
		              "The file was changed or cut; nothing was imported.");
	}
	cipher_.resize(static_cast<size_t>(clen));
	read_exact(cipher_.data(), cipher_.size(), where.c_str());
	buf.resize(cipher_.size() - crypto_secretstream_xchacha20poly1305_ABYTES);
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	auto *st = reinterpret_cast<crypto_secretstream_xchacha20poly1305_state *>(state_);
	const unsigned char *ad = frames_ == 0 ? header_.data() : nullptr;
	size_t adlen = frames_ == 0 ? header_.size() : 0;
	if (crypto_secretstream_xchacha20poly1305_pull(st, buf.data(), &mlen, &tag, cipher_.data(), cipher_.size(), ad,
	                                               adlen) != 0)
	{
		throw Failure("encrypted file \"" + path_ + "\" is damaged: authentication failed at " + where, exit_failure,
		              "The file was changed after it was written; nothing was imported.");
	}
	buf.resize(static_cast<size_t>(mlen));
	finished_ = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	frames_++;
	return true;
}

} // namespace bkcli
