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
//   lastfm       HetRec Last.fm user_artists.dat: tab,   the row's order (none)      the play count, >= 0
//                header `userID artistID weight`, CRLF
//
// Names a person may type (find_format, parse_format): the canonical name of each format plus common aliases,
// listed once by describe_formats() for errors and --help: sasrec; user-lines (lines); ml-100k (ml100k); ml-1m
// (ml1m); csv (delimited; tsv = csv with a tab delimiter); lastfm. Case and '_' for '-' do not matter.
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

enum class Format { sasrec, user_lines, ml100k, ml1m, delimited, lastfm };

inline constexpr std::array<Format, 6> all_formats = {Format::sasrec, Format::user_lines, Format::ml100k,
                                                      Format::ml1m,   Format::delimited,  Format::lastfm};

// A name a person may type for a format, and the field delimiter it implies: "" for the whitespace formats
// (sasrec, user-lines, ml-100k split on runs of spaces or tabs). The first name listed for each format is its
// canonical one (to_string); the others are aliases. "tsv" is "csv" with a tab.
struct FormatName {
  std::string_view name;
  Format format;
  std::string_view delimiter;
};

inline constexpr std::array<FormatName, 11> format_names = {{
    {"sasrec", Format::sasrec, ""},
    {"user-lines", Format::user_lines, ""},
    {"lines", Format::user_lines, ""},
    {"ml-100k", Format::ml100k, ""},
    {"ml100k", Format::ml100k, ""},
    {"ml-1m", Format::ml1m, "::"},
    {"ml1m", Format::ml1m, "::"},
    {"csv", Format::delimited, ","},
    {"delimited", Format::delimited, ","},
    {"tsv", Format::delimited, "\t"},
    {"lastfm", Format::lastfm, "\t"},
}};

// The canonical name: "sasrec", "user-lines", "ml-100k", "ml-1m", "csv", "lastfm".
inline constexpr std::string_view to_string(Format f) {
  for (const FormatName& n : format_names)
    if (n.format == f) return n.name;
  return "?";
}

// The delimiter a format implies ("" for the whitespace formats).
inline constexpr std::string_view default_delimiter(Format f) {
  for (const FormatName& n : format_names)
    if (n.format == f) return n.delimiter;
  return "";
}

// The one list of names shown in errors and --help, e.g. "sasrec, user-lines (or lines), ..., csv (or
// delimited, tsv = tab-separated), lastfm".
inline std::string describe_formats() {
  std::string out;
  for (Format f : all_formats) {
    if (!out.empty()) out += ", ";
    out += to_string(f);
    std::string aliases;
    for (const FormatName& n : format_names) {
      if (n.format != f || n.name == to_string(f)) continue;
      aliases += aliases.empty() ? " (or " : ", ";
      aliases += n.name;
      if (n.delimiter != default_delimiter(f))  // tsv: say what differs
        aliases +=
            n.delimiter == "\t" ? std::string(" = tab-separated") : " = '" + std::string(n.delimiter) + "'-separated";
    }
    out += aliases.empty() ? "" : aliases + ")";
  }
  return out;
}

// The entry for a typed name; case-insensitive, '_' read as '-' ("ML_100K" is ml-100k). Unknown names throw
// Errc::invalid_argument listing describe_formats().
inline FormatName find_format(std::string_view name) {
  std::string key(name);
  for (char& c : key) c = c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const FormatName& n : format_names)
    if (key == n.name) return n;
  SEQREC_THROW(Errc::invalid_argument, "unknown data format '", name, "'; valid formats: ", describe_formats());
}

inline Format parse_format(std::string_view name) { return find_format(name).format; }

// A --delimiter as typed -> the delimiter string: "tab" / "\\t" / a real tab, "comma", "semicolon", "space",
// "pipe", "colons" ("::"), or any other string taken literally ("::", "|", ";"). Empty strings and line ends
// throw Errc::invalid_argument.
inline std::string parse_delimiter(std::string_view name) {
  struct Named {
    std::string_view name, delimiter;
  };
  static constexpr Named named[] = {{"tab", "\t"},      {"\\t", "\t"},    {"comma", ","},
                                    {"semicolon", ";"}, {"space", " "},   {"pipe", "|"},
                                    {"colon", ":"},     {"colons", "::"}, {"double-colon", "::"}};
  for (const Named& n : named)
    if (name == n.name) return std::string(n.delimiter);
  SEQREC_REQUIRE(!name.empty(),
                 "empty delimiter; expected a character or string such as ',' or '::', or one of "
                 "tab, comma, semicolon, space, pipe, colons");
  SEQREC_REQUIRE(name.find_first_of("\r\n") == std::string_view::npos, "the delimiter cannot contain a line end, got ",
                 detail::show(name));
  return std::string(name);
}

// Known dataset files by name: a folder given as data resolves to the first of these it holds, and a file of
// this name read without an explicit format takes its format.
struct KnownDataFile {
  std::string_view file_name;
  Format format;
  std::string_view dataset;
};

inline constexpr std::array<KnownDataFile, 3> known_data_files = {{
    {"u.data", Format::ml100k, "MovieLens-100K"},
    {"ratings.dat", Format::ml1m, "MovieLens-1M/10M"},
    {"user_artists.dat", Format::lastfm, "HetRec Last.fm"},
}};

// The known file `path` names (by its file name), if any.
inline std::optional<KnownDataFile> known_data_file(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  for (const KnownDataFile& k : known_data_files)
    if (name == k.file_name) return k;
  return std::nullopt;
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
  // Format::delimited only. One character or several ("::"); parse_delimiter() turns "tab" etc. into one.
  std::string delimiter = ",";
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

// Not inlined: inlined into a caller's default ReadOptions, g++ 12 -O3 warns (-Wmaybe-uninitialized, a false
// positive) that the unset optionals' payloads are read. Called once per file, so the call costs nothing.
[[gnu::noinline]] inline RatingRange rating_range(const ReadOptions& o, double lo, double hi) {
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
  SEQREC_REQUIRE(!options.delimiter.empty(), "read ", source, ": the delimiter is empty");
  SEQREC_REQUIRE(options.delimiter.find_first_of("\r\n") == std::string::npos, "read ", source,
                 ": the delimiter cannot contain a line end, got ", detail::show(options.delimiter));
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
    detail::split_delimited(line, options.delimiter, f, true);
    width = f.size();
  } else {
    for (const Column* c : wanted)
      if (!c->name.empty())
        SEQREC_THROW(Errc::invalid_argument, "read ", source, ": column '", c->name,
                     "' is given by name but the file has no header (has_header = false)");
    have_row = lines.next(line);
    if (!have_row) detail::parse_error(source, 1, "empty file: no interactions");
    detail::split_delimited(line, options.delimiter, f, true);
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
    detail::split_delimited(line, options.delimiter, f, true);
    row();
  }
  return detail::finish(std::move(x), lines,
                        options.has_header ? "no data after the header" : "empty file: no interactions", options);
}

// HetRec Last.fm user_artists.dat: `userID\tartistID\tweight` with that header, CRLF line ends; weight = the
// user's play count of the artist (implicit feedback with a weight, >= 0 unless options say otherwise). No
// timestamps: time is the row's order, so a leave-one-out split holds out each user's last rows in the file.
// The layout is fixed: the options' delimiter, header and columns are not used.
inline Interactions parse_lastfm(std::string_view text, std::string_view source, const ReadOptions& options = {}) {
  ReadOptions o = options;
  o.delimiter = "\t";
  o.has_header = true;
  o.user = "userID";
  o.item = "artistID";
  o.weight = "weight";
  o.time = Column();
  if (!o.min_id) o.min_id = 1;
  if (!o.rating_min) o.rating_min = 0;
  return parse_delimited(text, source, o);
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
    case Format::lastfm:
      return parse_lastfm(text, source, options);
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
inline Interactions read_lastfm(const std::filesystem::path& path, const ReadOptions& options = {}) {
  return read(path, Format::lastfm, options);
}

}  // namespace seqrec::data
