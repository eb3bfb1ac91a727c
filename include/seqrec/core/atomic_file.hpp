// Atomic file writes: stream into a temporary file in the target's directory, fsync, rename over the
// target. Readers see the old file or the new one, never a half-written one. Checkpoints, reports and
// exported files all go through here.
#pragma once

#include <seqrec/core/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace seqrec {

namespace detail {

// An ostream buffer over a POSIX file descriptor, so the writer streams straight into the temporary file and
// the result can be fsync'ed.
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (flush_buffer() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return flush_buffer(); }

 private:
  int flush_buffer() {
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t w = ::write(fd_, p, static_cast<std::size_t>(pptr() - p));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        error_ = errno;
        return -1;
      }
      p += w;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return 0;
  }

  int fd_;
  int error_ = 0;
  std::array<char, 1 << 16> buffer_{};
};

inline std::string errno_text(int e) { return std::string(std::strerror(e)); }

}  // namespace detail

// Writes `path` atomically: `writer` streams into a temporary file in the same directory, which is fsync'ed
// and renamed over `path` (and the directory fsync'ed). If the writer throws or any write fails, the
// temporary file is removed, `path` is left as it was, and the exception propagates (Errc::io for I/O).
inline void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& writer) {
  namespace fs = std::filesystem;
  SEQREC_REQUIRE(!path.empty() && path.has_filename(), "write_file_atomic: '", path.string(), "' names no file");
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                              std::to_string(counter.fetch_add(1)));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  SEQREC_REQUIRE_CODE(fd >= 0, Errc::io, "write_file_atomic: cannot create '", tmp.string(),
                      "': ", detail::errno_text(errno));
  auto discard = [&]() {
    ::close(fd);
    ::unlink(tmp.c_str());
  };
  try {
    detail::FdStreamBuf buf(fd);
    std::ostream os(&buf);
    writer(os);
    os.flush();
    if (!os.good() || buf.error() != 0)
      SEQREC_THROW(Errc::io, "write_file_atomic: writing '", tmp.string(),
                   "' failed: ", detail::errno_text(buf.error() != 0 ? buf.error() : EIO));
    if (::fsync(fd) != 0)
      SEQREC_THROW(Errc::io, "write_file_atomic: fsync of '", tmp.string(), "' failed: ", detail::errno_text(errno));
  } catch (...) {
    discard();
    throw;
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    SEQREC_THROW(Errc::io, "write_file_atomic: closing '", tmp.string(), "' failed: ", detail::errno_text(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    SEQREC_THROW(Errc::io, "write_file_atomic: renaming '", tmp.string(), "' to '", path.string(),
                 "' failed: ", detail::errno_text(e));
  }
  // The rename is durable once the directory is; best effort (some file systems refuse fsync on directories).
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

inline void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  write_file_atomic(path, [&](std::ostream& os) { os << contents; });
}

}  // namespace seqrec
