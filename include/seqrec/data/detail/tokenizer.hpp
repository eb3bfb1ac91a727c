// The text machinery behind the readers: the whole file in one buffer, lines and fields as string_views into
// it (no per-line allocation), numbers through std::from_chars, and errors that start with "source:line: ".
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace seqrec::data::detail {

// ------------------------------------------------------------------------------------------------- files

// The whole file as bytes. Read in chunks until EOF, so pipes and files that grow while read work too.
inline std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    SEQREC_THROW(Errc::io, "cannot read '", path.string(), "': is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;  // before anything else can change it
    SEQREC_THROW(Errc::io, "cannot open '", path.string(), "': ", std::strerror(err));
  }
  std::string bytes;
  const auto size = std::filesystem::file_size(path, ec);
  bytes.resize(ec ? std::size_t(1) << 16 : static_cast<std::size_t>(size) + 1);  // +1: EOF seen in one read
  std::size_t used = 0;
  for (;;) {
    used += std::fread(bytes.data() + used, 1, bytes.size() - used, f);
    if (used < bytes.size()) break;
    bytes.resize(bytes.size() * 2);
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) SEQREC_THROW(Errc::io, "cannot read '", path.string(), "': ", std::strerror(err));
  bytes.resize(used);
  return bytes;
}

// ------------------------------------------------------------------------------------------------ errors

// A field as it appears in messages: quoted, control and non-ASCII bytes escaped, long fields cut.
inline std::string show(std::string_view field) {
  constexpr std::size_t max_shown = 40;
  std::string out = "'";
  for (std::size_t k = 0; k < field.size() && k < max_shown; ++k) {
    const auto c = static_cast<unsigned char>(field[k]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (field.size() > max_shown) out += "...";
  out += '\'';
  return out;
}

// Throws Errc::parse with a message that starts "source:line: ".
template <class... Args>
[[noreturn]] void parse_error(std::string_view source, std::int64_t line, Args&&... args) {
  SEQREC_THROW(Errc::parse, source, ':', line, ": ", std::forward<Args>(args)...);
}

// ------------------------------------------------------------------------------------------------- lines

inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Lines of a buffer, without their '\n' and one trailing '\r' (CRLF files read like LF files). A UTF-8 byte
// order mark at the start is skipped. Blank lines are allowed only at the end of the buffer: one followed by
// more data throws, because a hole in a data file usually means it was cut or concatenated wrongly.
class Lines {
 public:
  Lines(std::string_view text, std::string_view source)
      : p_(text.data()), end_(text.data() + text.size()), source_(source) {
    if (text.starts_with("\xEF\xBB\xBF")) p_ += 3;
  }

  // The next line into `line`; false at the end.
  bool next(std::string_view& line) {
    if (p_ == end_) return false;
    const auto* nl = static_cast<const char*>(std::memchr(p_, '\n', static_cast<std::size_t>(end_ - p_)));
    const char* stop = nl != nullptr ? nl : end_;
    std::string_view l(p_, static_cast<std::size_t>(stop - p_));
    p_ = nl != nullptr ? nl + 1 : end_;
    ++number_;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty() || ((l[0] == ' ' || l[0] == '\t' || l[0] == '\r') && is_blank(l))) [[unlikely]] {
      if (std::string_view(p_, static_cast<std::size_t>(end_ - p_)).find_first_not_of(" \t\r\n") !=
          std::string_view::npos)
        parse_error(source_, number_,
                    "blank line before the end of the file (blank lines are allowed only at the end)");
      p_ = end_;
      return false;
    }
    line = l;
    return true;
  }

  std::int64_t number() const { return number_; }  // 1-based number of the line last returned
  std::string_view source() const { return source_; }
  // An upper bound on the lines left, for reserve().
  std::size_t lines_left() const { return count_newlines(p_, end_) + 1; }

  // Byte counters in blocks of 255 let the compiler vectorise this; std::count's size_t counter does not.
  static std::size_t count_newlines(const char* p, const char* end) {
    std::size_t n = 0;
    while (p < end) {
      const std::size_t block = std::min<std::size_t>(255, static_cast<std::size_t>(end - p));
      std::uint8_t c = 0;
      for (std::size_t k = 0; k < block; ++k) c += static_cast<std::uint8_t>(p[k] == '\n');
      n += c;
      p += block;
    }
    return n;
  }

 private:
  const char* p_;
  const char* end_;
  std::string_view source_;
  std::int64_t number_ = 0;
};

// ------------------------------------------------------------------------------------------------ fields

// Splits on runs of spaces and tabs; leading and trailing whitespace make no empty fields.
inline void split_whitespace(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t k = 0;
  const std::size_t n = line.size();
  for (;;) {
    while (k < n && (line[k] == ' ' || line[k] == '\t')) ++k;
    if (k == n) return;
    const std::size_t start = k;
    while (k < n && line[k] != ' ' && line[k] != '\t') ++k;
    out.emplace_back(line.data() + start, k - start);
  }
}

// The common line of the whitespace formats in one pass: exactly N plain decimal numbers (digits only, at
// most 18 so they cannot overflow) separated by spaces or tabs. False for anything else: the caller then takes
// the general path, which accepts signs and decimals and words the errors.
template <std::size_t N>
bool plain_integers(std::string_view line, std::array<std::int64_t, N>& out) {
  const char* p = line.data();
  const char* const end = p + line.size();
  for (std::size_t k = 0; k < N; ++k) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    const char* const start = p;
    std::uint64_t v = 0;
    for (; p < end; ++p) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(*p) - '0');
      if (d > 9) break;
      v = v * 10 + d;
    }
    if (p == start || p - start > 18 || (p < end && *p != ' ' && *p != '\t')) return false;
    out[k] = static_cast<std::int64_t>(v);
  }
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  return p == end;
}

// Splits on every `delim`, one character or several such as "::" (n delimiters make n + 1 fields, empty ones
// included). With `trim`, spaces and tabs around a field are dropped (except those the delimiter itself is made
// of), then one pair of enclosing double quotes. Delimiters inside quotes are not supported: these are numeric
// files, quotes appear only around names.
inline void split_delimited(std::string_view line, std::string_view delim, std::vector<std::string_view>& out,
                            bool trim) {
  out.clear();
  const bool tab_splits = delim.find('\t') != std::string_view::npos;
  const bool space_splits = delim.find(' ') != std::string_view::npos;
  const char* space = tab_splits ? (space_splits ? "" : " ") : (space_splits ? "\t" : " \t");
  const bool one_char = delim.size() == 1;
  std::size_t start = 0;
  for (;;) {
    const std::size_t stop = one_char ? line.find(delim[0], start) : line.find(delim, start);
    std::string_view f = line.substr(start, stop == std::string_view::npos ? std::string_view::npos : stop - start);
    if (trim) {
      if (*space != '\0') {
        const std::size_t a = f.find_first_not_of(space);
        f = a == std::string_view::npos ? std::string_view() : f.substr(a, f.find_last_not_of(space) - a + 1);
      }
      if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    }
    out.push_back(f);
    if (stop == std::string_view::npos) return;
    start = stop + delim.size();
  }
}

inline void split_char(std::string_view line, char delim, std::vector<std::string_view>& out, bool trim) {
  split_delimited(line, std::string_view(&delim, 1), out, trim);
}

// Splits on every occurrence of a multi-character delimiter such as MovieLens-1M's "::".
inline void split_string(std::string_view line, std::string_view delim, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t stop = line.find(delim, start);
    if (stop == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, stop - start));
    start = stop + delim.size();
  }
}

// ------------------------------------------------------------------------------------------------ numbers

// Field conversions for one line; `k` is the 1-based field number used in messages.
class Fields {
 public:
  Fields(std::string_view source, std::int64_t line) : source_(source), line_(line) {}

  void expect_count(std::size_t got, std::size_t expected) const {
    if (got != expected) [[unlikely]]
      parse_error(source_, line_, "expected ", expected, " fields, got ", got);
  }
  void expect_at_least(std::size_t got, std::size_t expected, std::string_view what) const {
    if (got < expected) [[unlikely]]
      parse_error(source_, line_, "expected at least ", expected, " fields (", what, "), got ", got);
  }

  std::int64_t integer(std::string_view f, std::size_t k) const {
    // Fast path: up to 18 plain digits cannot overflow; anything else takes from_chars for the exact verdict.
    if (!f.empty() && f.size() <= 18) {
      std::uint64_t r = 0;
      bool digits = true;
      for (const char c : f) {
        const auto d = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
        digits &= d <= 9;
        r = r * 10 + d;
      }
      if (digits) return static_cast<std::int64_t>(r);
    }
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec == std::errc() && ptr == f.data() + f.size()) [[likely]]
      return v;
    if (ec == std::errc::result_out_of_range)
      parse_error(source_, line_, "field ", k, ' ', show(f), " overflows a 64-bit integer");
    parse_error(source_, line_, "field ", k, ' ', show(f), " is not an integer");
  }

  // An original id: an integer >= min_id.
  std::int64_t id(std::string_view f, std::size_t k, std::int64_t min_id, std::string_view what) const {
    const std::int64_t v = integer(f, k);
    if (v < min_id) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is not a valid ", what, " id (ids start at ", min_id,
                  ")");
    return v;
  }

  // A finite number that fits a float.
  float number(std::string_view f, std::size_t k) const {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec == std::errc::result_out_of_range) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is out of range for a float");
    if (ec != std::errc() || ptr != f.data() + f.size()) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is not a number");
    if (!std::isfinite(v)) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is not a finite number");
    if (std::abs(v) > double(std::numeric_limits<float>::max())) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is out of range for a float");
    return static_cast<float>(v);
  }

  // A number within [lo, hi] (an infinite bound is no bound).
  float number_in(std::string_view f, std::size_t k, double lo, double hi) const {
    const float v = number(f, k);
    if (v < lo || v > hi) [[unlikely]]
      parse_error(source_, line_, "field ", k, ' ', show(f), " is outside the declared rating range [", lo, ", ", hi,
                  "]");
    return v;
  }

  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    parse_error(source_, line_, std::forward<Args>(args)...);
  }

 private:
  std::string_view source_;
  std::int64_t line_;
};

// ------------------------------------------------------------------------------------------------- ids

// Original -> dense ids for a reader filling `map`. Small non-negative originals (the usual case: files
// number their users and items 1..n) go through a flat table instead of the map's hash lookup; only the
// first sighting of an id reaches IdMap::insert, so dense ids still follow first appearance.
class DenseIds {
 public:
  // `table_limit` bounds the table (it grows to the largest small id seen): readers pass a multiple of the
  // input size, so a single huge id in a small file cannot make a huge table.
  DenseIds(IdMap& map, std::size_t table_limit) : map_(map), limit_(table_limit) {}

  // Readers call this as soon as an id is parsed and operator() after the line's other fields, so the
  // table's cache miss (random user ids) overlaps with parsing.
  void prefetch(std::int64_t original) const {
#if defined(__GNUC__) || defined(__clang__)
    if (original >= 0 && static_cast<std::uint64_t>(original) < table_.size())
      __builtin_prefetch(table_.data() + static_cast<std::size_t>(original));
#else
    (void)original;
#endif
  }

  id_t operator()(std::int64_t original) {
    if (original >= 0 && static_cast<std::uint64_t>(original) < limit_) [[likely]] {
      const auto k = static_cast<std::size_t>(original);
      if (k >= table_.size()) table_.resize(std::min(limit_, std::max(k + 1, 2 * table_.size())), id_t(-1));
      id_t& d = table_[k];
      if (d < 0) [[unlikely]]
        d = map_.insert(original);
      return d;
    }
    return map_.insert(original);
  }

 private:
  IdMap& map_;
  std::size_t limit_;
  std::vector<id_t> table_;
};

// Table bound for an input of `bytes` bytes: ids up to a few per byte cost at most a few bytes each.
inline std::size_t id_table_limit(std::size_t bytes) {
  return std::min<std::size_t>(std::size_t(1) << 26, (std::size_t(1) << 16) + 2 * bytes);
}

}  // namespace seqrec::data::detail
