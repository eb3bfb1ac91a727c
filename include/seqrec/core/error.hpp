// seqrec::Error and the checks that throw it (host) or abort (device, under SEQREC_DEBUG).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace seqrec {

// What went wrong, so callers (and tests) can tell a shape mismatch from a parse error without
// matching on message text.
enum class Errc {
  invalid_argument,  // a value out of its documented domain
  shape_mismatch,    // extents differ from what the operation needs
  out_of_range,      // an id or index outside [0, n)
  parse,             // malformed input data; the message starts with "path:line:"
  numeric,           // NaN or Inf met in a parameter, gradient or loss
  io,                // a file could not be opened, read or written
  unsupported,       // a combination the build or backend does not provide
};

inline constexpr std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::invalid_argument:
      return "invalid argument";
    case Errc::shape_mismatch:
      return "shape mismatch";
    case Errc::out_of_range:
      return "out of range";
    case Errc::parse:
      return "parse error";
    case Errc::numeric:
      return "numeric error";
    case Errc::io:
      return "I/O error";
    case Errc::unsupported:
      return "unsupported";
  }
  return "error";
}

// The one exception seqrec throws. what() reads "file:line: <kind>: message" where file:line is the
// check in seqrec's (or the caller's) source that failed.
class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message, const char* file, int line)
      : std::runtime_error(format(code, message, file, line)),
        code_(code),
        message_(std::move(message)),
        file_(file),
        line_(line) {}

  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }  // without the location
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  static std::string format(Errc code, const std::string& message, const char* file, int line) {
    std::ostringstream os;
    os << file << ':' << line << ": " << to_string(code) << ": " << message;
    return os.str();
  }
  Errc code_;
  std::string message_;
  const char* file_;
  int line_;
};

namespace detail {

template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <class Extents>
std::string shape_string(const Extents& extents) {
  std::ostringstream os;
  os << '[';
  bool first = true;
  for (auto e : extents) {
    os << (first ? "" : ", ") << e;
    first = false;
  }
  os << ']';
  return os.str();
}

template <class V>
std::string view_shape_string(const V& v) {
  std::ostringstream os;
  os << '[';
  for (unsigned r = 0; r < V::rank; ++r) os << (r ? ", " : "") << v.extent(r);
  os << ']';
  return os.str();
}

}  // namespace detail

// Throws unless every extent of `view` equals `expected` (rank included).
template <class V>
void require_shape(const V& view, std::initializer_list<std::int64_t> expected, std::string_view name, const char* file,
                   int line) {
  bool ok = expected.size() == V::rank;
  std::size_t r = 0;
  for (auto e : expected) {
    if (!ok) break;
    ok = static_cast<std::int64_t>(view.extent(r++)) == e;
  }
  if (!ok)
    throw Error(Errc::shape_mismatch,
                detail::concat("shape of '", name, "': expected ", detail::shape_string(expected), ", got ",
                               detail::view_shape_string(view)),
                file, line);
}

}  // namespace seqrec

// Host checks. The message arguments are streamed (`SEQREC_REQUIRE(n > 0, "n must be positive, got ", n)`)
// and only evaluated when the check fails.
#define SEQREC_THROW(code, ...) throw ::seqrec::Error((code), ::seqrec::detail::concat(__VA_ARGS__), __FILE__, __LINE__)

#define SEQREC_REQUIRE_CODE(cond, code, ...) \
  do {                                       \
    if (!(cond)) [[unlikely]]                \
      SEQREC_THROW((code), __VA_ARGS__);     \
  } while (false)

#define SEQREC_REQUIRE(cond, ...) SEQREC_REQUIRE_CODE(cond, ::seqrec::Errc::invalid_argument, __VA_ARGS__)

// "what: expected E, got A" when actual != expected.
#define SEQREC_REQUIRE_EQ(actual, expected, what)                                                        \
  do {                                                                                                   \
    const auto& seqrec_a_ = (actual);                                                                    \
    const auto& seqrec_e_ = (expected);                                                                  \
    if (!(seqrec_a_ == seqrec_e_)) [[unlikely]]                                                          \
      SEQREC_THROW(::seqrec::Errc::shape_mismatch, what, ": expected ", seqrec_e_, ", got ", seqrec_a_); \
  } while (false)

// Id in [0, n): "what <id> out of range [0, n)".
#define SEQREC_REQUIRE_INDEX(id, n, what)                                                                             \
  do {                                                                                                                \
    const auto seqrec_i_ = (id);                                                                                      \
    const auto seqrec_n_ = (n);                                                                                       \
    if (seqrec_i_ < 0 || !(static_cast<std::int64_t>(seqrec_i_) < static_cast<std::int64_t>(seqrec_n_))) [[unlikely]] \
      SEQREC_THROW(::seqrec::Errc::out_of_range, what, ' ', seqrec_i_, " out of range [0, ", seqrec_n_, ")");         \
  } while (false)

#define SEQREC_REQUIRE_SHAPE(view, name, ...) ::seqrec::require_shape((view), {__VA_ARGS__}, (name), __FILE__, __LINE__)

// Device-side checks cost a branch in every kernel, so they exist only under SEQREC_DEBUG.
#define SEQREC_STRINGIFY_IMPL(x) #x
#define SEQREC_STRINGIFY(x) SEQREC_STRINGIFY_IMPL(x)
#ifdef SEQREC_DEBUG
#define SEQREC_DEVICE_ASSERT(cond, msg)                                                          \
  do {                                                                                           \
    if (!(cond)) Kokkos::abort("seqrec: " msg " (" __FILE__ ":" SEQREC_STRINGIFY(__LINE__) ")"); \
  } while (false)
#else
#define SEQREC_DEVICE_ASSERT(cond, msg) ((void)0)
#endif
