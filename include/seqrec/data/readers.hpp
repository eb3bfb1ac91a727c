// Readers: interaction files -> Interactions (host). Every reader maps original ids to dense ones (users from
// 0, items from 1, maps kept), sets has_weight / has_time, and returns the interactions sorted with
// sort_chronological(), so each user's history is contiguous and in time order, ties in file order
// (ReadOptions::keep_file_order: in file order instead).
//
//   Format       file                                   time                        weight
//   sasrec       `user item` per line (SASRec's data)    the line number             1
//   user_lines   `user item1 item2 ...` (S3-Rec's data)  the item's order in file    1
//   ml100k       `user item rating ts` (ML-100K u.data)  ts                          rating, default range [1, 5]
//   ml1m         `user::item::rating::ts` (ML-1M/10M)    ts                          rating, default range [0.5, 5]
//   delimited    a CSV/TSV with chosen columns           the chosen column, or order the chosen column, or 1
//
// Whitespace formats (sasrec, user_lines, ml100k) split on runs of spaces or tabs. All formats accept CRLF
// line ends, a UTF-8 byte order mark, and blank lines at the end only. Bad input throws seqrec::Error with
// Errc::parse and a message "file:line: what is wrong"; a missing file throws Errc::io. Each reader has an
// in-memory twin parse_*(text, source) that the read_* functions and the fuzzers call.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/data/detail/tokenizer.hpp>
#include <seqrec/data/interactions.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seqrec::data {

enum class Format { sasrec, user_lines, ml100k, ml1m, delimited };

// The names CLIs use: "sasrec", "user-lines", "ml-100k", "ml-1m", "csv".
inline constexpr std::string_view to_string(Format f) {
  switch (f) {
    case Format::sasrec:
      return "sasrec";
    case Format::user_lines:
      return "user-lines";
    case Format::ml100k:
      return "ml-100k";
    case Format::ml1m:
      return "ml-1m";
    case Format::delimited:
      return "csv";
  }
  return "?";
}

inline Format parse_format(std::string_view name) {
  for (Format f : {Format::sasrec, Format::user_lines, Format::ml100k, Format::ml1m, Format::delimited})
    if (name == to_string(f)) return f;
  SEQREC_THROW(Errc::invalid_argument, "unknown data format '", name,
               "'; valid formats: sasrec, user-lines, ml-100k, ml-1m, csv");
}

// A column of a delimited file, by header name or by 0-based position.
struct Column {
  std::string name;
  int index = -1;

  Column() = default;
  Column(int position) : index(position) {}                          // NOLINT: implicit, so options read `.user = 0`
  Column(const char* header_name) : name(header_name) {}             // NOLINT: and `.user = "userID"`
  Column(std::string header_name) : name(std::move(header_name)) {}  // NOLINT
  bool given() const { return index >= 0 || !name.empty(); }
};

struct ReadOptions {
  // Format::delimited only.
  char delimiter = ',';
  bool has_header = true;
  Column user = 0;
  Column item = 1;
  Column weight;  // optional: without it every weight is 1 and has_weight is false
  Column time;    // optional: without it time is the row's order in the file and has_time is false

  // Every format. A weight outside [rating_min, rating_max] is a parse error; unset bounds take the format's
  // declared range (ml-100k: [1, 5]; ml-1m: [0.5, 5], which also covers MovieLens-10M's half stars), or none.
  std::optional<double> rating_min;
  std::optional<double> rating_max;
  // Smallest valid original id; unset: 1 where the format numbers ids from 1 (all but delimited), else 0.
  std::optional<std::int64_t> min_id;
  // Every format. Return the rows in file order instead of sorted by (user, time): for splits defined on the
  // file's order (MovieLens-100K's u1..u5 folds, see data::kfold_contiguous). Splits sort their parts anyway.
  bool keep_file_order = false;
};

namespace detail {

struct RatingRange {
  double lo, hi;
};

inline RatingRange rating_range(const ReadOptions& o, double lo, double hi) {
  return {o.rating_min.value_or(lo), o.rating_max.value_or(hi)};
}

inline Interactions start(std::string_view source, const Lines& lines, bool has_weight, bool has_time) {
  Interactions x;
  x.source = std::string(source);
  x.has_weight = has_weight;
  x.has_time = has_time;
  x.reserve(lines.lines_left());
  return x;
}

// The order of Interactions::sort_chronological() (stable by (user, time)) in O(n) plus short per-user sorts:
// a counting sort on the dense user ids that carries each row's time, item and weight along (so no gathers
// follow), then a stable sort of each user's rows by time where they are out of order. A comparison sort of
// all rows of a 1M-row file in random user order costs more than parsing it.
inline void sort_chronological(Interactions& x) {
  const std::size_t n = x.user.size();
  bool sorted = true;  // files written chronologically: nothing to do
  for (std::size_t k = 1; k < n && sorted; ++k)
    sorted = x.user[k - 1] < x.user[k] || (x.user[k - 1] == x.user[k] && x.time[k - 1] <= x.time[k]);
  if (sorted) return;

  std::vector<std::size_t> start(static_cast<std::size_t>(x.num_users()) + 1, 0);
  for (const id_t u : x.user) ++start[static_cast<std::size_t>(u) + 1];
  for (std::size_t u = 1; u < start.size(); ++u) start[u] += start[u - 1];
  struct Row {
    std::int64_t time;
    id_t item;
    float weight;
  };
  std::vector<Row> rows(n);
  {
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < n; ++k)
      rows[next[static_cast<std::size_t>(x.user[k])]++] = {x.time[k], x.item[k], x.weight[k]};
  }
  // Written "b.time > a.time" and not "a.time < b.time": nvcc's front end takes "a.time <" for a template.
  const auto earlier = [](const Row& a, const Row& b) { return b.time > a.time; };
  for (std::size_t u = 0; u + 1 < start.size(); ++u) {
    Row* first = rows.data() + start[u];
    Row* last = rows.data() + start[u + 1];
    std::fill(x.user.begin() + static_cast<std::ptrdiff_t>(start[u]),
              x.user.begin() + static_cast<std::ptrdiff_t>(start[u + 1]), static_cast<id_t>(u));
    if (std::is_sorted(first, last, earlier)) continue;
    if (last - first > 32) {
      std::stable_sort(first, last, earlier);
      continue;
    }
    for (Row* p = first + 1; p < last; ++p) {  // insertion sort: stable, and no buffer for short histories
      const Row r = *p;
      Row* q = p;
      for (; q > first && (q - 1)->time > r.time; --q) *q = *(q - 1);
      *q = r;
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    x.time[k] = rows[k].time;
    x.item[k] = rows[k].item;
    x.weight[k] = rows[k].weight;
  }
}

// Shared tail of every reader: refuse empty input, then the chronological order.
inline Interactions finish(Interactions x, const Lines& lines, std::string_view what_was_empty,
                           const ReadOptions& options) {
  if (x.size() == 0) parse_error(lines.source(), std::max<std::int64_t>(1, lines.number()), what_was_empty);
  if (!options.keep_file_order) sort_chronological(x);
  return x;
}

constexpr double no_bound = std::numeric_limits<double>::infinity();

}  // namespace detail

// SASRec's format: `user item` per line, chronological within a user. time = line number.
inline Interactions parse_sasrec(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  detail::Lines lines(text, source);
  Interactions x = detail::start(source, lines, false, false);
  const std::int64_t min_id = options.min_id.value_or(1);
  detail::DenseIds users(x.users, detail::id_table_limit(text.size()));
  detail::DenseIds items(x.items, detail::id_table_limit(text.size()));
  std::vector<std::string_view> f;
  std::array<std::int64_t, 2> v;
  std::string_view line;
  while (lines.next(line)) {
    if (!detail::plain_integers(line, v) || v[0] < min_id || v[1] < min_id) [[unlikely]] {
      detail::split_whitespace(line, f);
      const detail::Fields p(source, lines.number());
      p.expect_count(f.size(), 2);
      v = {p.id(f[0], 1, min_id, "user"), p.id(f[1], 2, min_id, "item")};
    }
    users.prefetch(v[0]);
    const id_t i = items(v[1]);
    x.push_back(users(v[0]), i, 1.0f, lines.number());
  }
  return detail::finish(std::move(x), lines, "empty file: no interactions", options);
}

// One user per line: `user item1 item2 ...`, chronological. time = the item's position among all items of
// the file (1, 2, ...), so a user listed on several lines keeps file order.
inline Interactions parse_user_lines(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  detail::Lines lines(text, source);
  Interactions x = detail::start(source, lines, false, false);
  x.reserve(text.size() / 4 + 1);  // an estimate: items take at least 2 bytes each, usually 4 or more
  const std::int64_t min_id = options.min_id.value_or(1);
  detail::DenseIds users(x.users, detail::id_table_limit(text.size()));
  detail::DenseIds items(x.items, detail::id_table_limit(text.size()));
  std::vector<std::string_view> f;
  std::string_view line;
  std::int64_t order = 0;
  while (lines.next(line)) {
    detail::split_whitespace(line, f);
    const detail::Fields p(source, lines.number());
    p.expect_at_least(f.size(), 2, "a user and at least one item");
    const id_t u = users(p.id(f[0], 1, min_id, "user"));
    for (std::size_t k = 1; k < f.size(); ++k) x.push_back(u, items(p.id(f[k], k + 1, min_id, "item")), 1.0f, ++order);
  }
  return detail::finish(std::move(x), lines, "empty file: no interactions", options);
}

namespace detail {

// user, item, rating, timestamp: the MovieLens ratings layout, whitespace- or "::"-separated.
template <bool Colons>
Interactions parse_movielens(std::string_view text, std::string_view source, const ReadOptions& options,
                             RatingRange range) {
  Lines lines(text, source);
  Interactions x = start(source, lines, true, true);
  const std::int64_t min_id = options.min_id.value_or(1);
  DenseIds users(x.users, id_table_limit(text.size()));
  DenseIds items(x.items, id_table_limit(text.size()));
  std::vector<std::string_view> f;
  std::string_view line;
  std::array<std::int64_t, 4> v;  // user, item, rating, time
  while (lines.next(line)) {
    float r = 0;
    // Whole-star ratings and plain ids take one pass; everything else (half stars, signs, errors) the general one.
    if (Colons || !plain_integers(line, v) || v[0] < min_id || v[1] < min_id ||
        !((r = static_cast<float>(v[2])) >= range.lo && r <= range.hi)) {
      if constexpr (Colons)
        split_string(line, "::", f);
      else
        split_whitespace(line, f);
      const Fields p(source, lines.number());
      p.expect_count(f.size(), 4);
      v[0] = p.id(f[0], 1, min_id, "user");
      v[1] = p.id(f[1], 2, min_id, "item");
      r = p.number_in(f[2], 3, range.lo, range.hi);
      v[3] = p.integer(f[3], 4);
    }
    users.prefetch(v[0]);
    const id_t i = items(v[1]);
    x.push_back(users(v[0]), i, r, v[3]);
  }
  return finish(std::move(x), lines, "empty file: no ratings", options);
}

}  // namespace detail

// MovieLens-100K u.data: `user\titem\trating\ttimestamp`.
inline Interactions parse_ml100k(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  return detail::parse_movielens<false>(text, source, options, detail::rating_range(options, 1, 5));
}

// MovieLens-1M / 10M ratings.dat: `user::item::rating::timestamp`.
inline Interactions parse_ml1m(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  return detail::parse_movielens<true>(text, source, options, detail::rating_range(options, 0.5, 5));
}

// A delimited file with chosen columns (options.delimiter, has_header, user, item, weight, time). Every row
// must have as many fields as the header (or, without one, as the first row).
inline Interactions parse_delimited(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  detail::Lines lines(text, source);
  Interactions x = detail::start(source, lines, options.weight.given(), options.time.given());
  SEQREC_REQUIRE(options.user.given() && options.item.given(), "read ", source,
                 ": a delimited file needs the user and the item column");
  SEQREC_REQUIRE(options.delimiter != '\n' && options.delimiter != '\r', "read ", source,
                 ": the delimiter cannot be a line end");
  const std::int64_t min_id = options.min_id.value_or(0);
  const auto range = detail::rating_range(options, -detail::no_bound, detail::no_bound);
  detail::DenseIds users(x.users, detail::id_table_limit(text.size()));
  detail::DenseIds items(x.items, detail::id_table_limit(text.size()));
  std::vector<std::string_view> f;
  std::string_view line;

  // Column positions: from the header's names, or as given.
  std::size_t width = 0;
  int cols[4] = {-1, -1, -1, -1};  // user, item, weight, time
  const Column* wanted[4] = {&options.user, &options.item, &options.weight, &options.time};
  const char* roles[4] = {"user", "item", "weight", "time"};
  bool have_row = false;
  if (options.has_header) {
    if (!lines.next(line)) detail::parse_error(source, 1, "empty file: no header");
    detail::split_char(line, options.delimiter, f, true);
    width = f.size();
  } else {
    for (const Column* c : wanted)
      if (!c->name.empty())
        SEQREC_THROW(Errc::invalid_argument, "read ", source, ": column '", c->name,
                     "' is given by name but the file has no header (has_header = false)");
    have_row = lines.next(line);
    if (!have_row) detail::parse_error(source, 1, "empty file: no interactions");
    detail::split_char(line, options.delimiter, f, true);
    width = f.size();
  }
  for (int r = 0; r < 4; ++r) {
    const Column& c = *wanted[r];
    if (!c.given()) continue;
    if (!c.name.empty()) {
      const auto it = std::find(f.begin(), f.end(), std::string_view(c.name));
      if (it == f.end()) {
        std::string names;
        for (auto h : f) names += (names.empty() ? "" : ", ") + detail::show(h);
        detail::parse_error(source, 1, roles[r], " column '", c.name, "' is not in the header (", names, ")");
      }
      cols[r] = static_cast<int>(it - f.begin());
    } else {
      if (static_cast<std::size_t>(c.index) >= width)
        detail::parse_error(source, 1, roles[r], " column ", c.index, " (0-based) is past the ", width, " fields of ",
                            options.has_header ? "the header" : "the first row");
      cols[r] = c.index;
    }
  }

  std::int64_t order = 0;
  auto row = [&] {
    const detail::Fields p(source, lines.number());
    p.expect_count(f.size(), width);
    const auto k = [](int c) { return static_cast<std::size_t>(c); };
    const id_t u = users(p.id(f[k(cols[0])], k(cols[0]) + 1, min_id, "user"));
    const id_t i = items(p.id(f[k(cols[1])], k(cols[1]) + 1, min_id, "item"));
    const float w = cols[2] >= 0 ? p.number_in(f[k(cols[2])], k(cols[2]) + 1, range.lo, range.hi) : 1.0f;
    const std::int64_t t = cols[3] >= 0 ? p.integer(f[k(cols[3])], k(cols[3]) + 1) : ++order;
    x.push_back(u, i, w, t);
  };
  if (have_row) row();
  while (lines.next(line)) {
    detail::split_char(line, options.delimiter, f, true);
    row();
  }
  return detail::finish(std::move(x), lines,
                        options.has_header ? "no data after the header" : "empty file: no interactions", options);
}

inline Interactions parse(std::string_view text, std::string_view source, Format format,
                          const ReadOptions& options = {}) {
  switch (format) {
    case Format::sasrec:
      return parse_sasrec(text, source, options);
    case Format::user_lines:
      return parse_user_lines(text, source, options);
    case Format::ml100k:
      return parse_ml100k(text, source, options);
    case Format::ml1m:
      return parse_ml1m(text, source, options);
    case Format::delimited:
      return parse_delimited(text, source, options);
  }
  SEQREC_THROW(Errc::invalid_argument, "unknown Format value ", static_cast<int>(format));
}

// Reads a whole file (Errc::io when it cannot), then parses it; messages name the file as given.
inline Interactions read(const std::filesystem::path& path, Format format, const ReadOptions& options = {}) {
  const std::string text = detail::read_file(path);
  return parse(text, path.string(), format, options);
}

inline Interactions read_sasrec(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::sasrec, options);
}
inline Interactions read_user_lines(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::user_lines, options);
}
inline Interactions read_ml100k(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::ml100k, options);
}
inline Interactions read_ml1m(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::ml1m, options);
}
inline Interactions read_delimited(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::delimited, options);
}

}  // namespace seqrec::data
