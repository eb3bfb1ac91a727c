// Side information for the users and items of an Interactions object, indexed by its dense ids:
//
//   ItemAttributes  item -> attribute ids (CSR), e.g. S3-Rec's Beauty brand/category ids or MovieLens genres
//   MovieInfo       MovieLens titles and release dates, with the genres as ItemAttributes
//   UserInfo        MovieLens user age, gender, occupation and zip code
//
// Rows are aligned with the interactions passed in: entries for ids the interactions do not have are
// skipped and counted (skipped_*), ids of the interactions the file does not list get empty rows and are
// counted too (missing_*). Titles keep the file's bytes (MovieLens is latin-1). Malformed files throw
// Errc::parse with "file:line: " first, like the interaction readers.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/data/detail/tokenizer.hpp>
#include <seqrec/data/interactions.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace seqrec::data {

// Attribute ids per item in CSR form: item i (dense, 1..num_items()) has values[offsets[i] .. offsets[i+1]);
// row 0 is the padding item and always empty. Attribute ids are dense from 0 (they index outputs of an
// attribute head); `attributes` maps them back to the file's ids.
struct ItemAttributes {
  std::vector<index_t> offsets;    // num_items() + 2 entries
  std::vector<id_t> values;        // dense attribute ids, in file order within an item
  IdMap attributes{0};             // original attribute id <-> dense attribute id
  std::vector<std::string> names;  // by dense attribute id where the file names them (genres), else empty
  index_t skipped_items = 0;       // items in the file that the interactions do not have (ignored)
  index_t missing_items = 0;       // items of the interactions that the file does not list (empty rows)
  std::string source;

  index_t num_items() const { return offsets.size() < 2 ? 0 : static_cast<index_t>(offsets.size()) - 2; }
  index_t num_attributes() const { return attributes.size(); }
  index_t size() const { return static_cast<index_t>(values.size()); }
  index_t count(id_t item) const { return offsets[row(item)] - offsets[row(item) - 1]; }
  std::span<const id_t> of(id_t item) const {
    const std::size_t r = row(item);
    return {values.data() + offsets[r - 1], static_cast<std::size_t>(offsets[r] - offsets[r - 1])};
  }
  // Items with at least one attribute.
  index_t covered_items() const {
    index_t n = 0;
    for (std::size_t r = 1; r < offsets.size(); ++r) n += offsets[r] > offsets[r - 1];
    return n;
  }

 private:
  std::size_t row(id_t item) const {
    SEQREC_REQUIRE_INDEX(item, num_items() + 1, "item id");
    return static_cast<std::size_t>(item) + 1;
  }
};

// MovieLens movies: by dense item id (entry 0, the padding item, is empty).
struct MovieInfo {
  std::vector<std::string> titles;         // bytes as in the file (latin-1 in MovieLens)
  std::vector<std::string> release_dates;  // ML-100K's "01-Jan-1995" ('' when absent, and for ML-1M)
  ItemAttributes genres;                   // genres.names are the genre names; skipped/missing counts live there
};

// MovieLens users: by dense user id. Users the file does not list keep the defaults below.
struct UserInfo {
  std::vector<std::int32_t> age;         // years (ML-100K) or ML-1M's age group (1, 18, 25, ...); -1: missing
  std::vector<char> gender;              // 'M' or 'F'; '?': missing
  std::vector<id_t> occupation;          // index into occupations; -1: missing
  std::vector<std::string> occupations;  // occupation names
  std::vector<std::string> zip;          // zip code as written (not always numeric)
  index_t skipped_users = 0;             // users in the file that the interactions do not have
  index_t missing_users = 0;             // users of the interactions that the file does not list
  std::string source;
};

// Genre names of ML-100K's 19 flag columns (u.genre), and ML-1M/10M's genre list (README, plus IMAX).
inline constexpr std::array<std::string_view, 19> ml100k_genres = {
    "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};
inline constexpr std::array<std::string_view, 19> ml1m_genres = {
    "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",   "Documentary",
    "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller",  "War",       "Western",    "IMAX"};
// ML-1M users.dat occupation codes 0..20 (README).
// clang-format off
inline constexpr std::array<std::string_view, 21> ml1m_occupations = {
    "other or not specified", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student",
    "lawyer", "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
    "tradesman/craftsman", "unemployed", "writer"};
// clang-format on

namespace detail {

// Collects attribute lists per dense item, then flattens them to CSR.
class AttributeRows {
 public:
  AttributeRows(const Interactions& x, std::string_view source)
      : items_(x.items), rows_(static_cast<std::size_t>(x.num_items()) + 1), listed_(rows_.size(), 0) {
    out_.source = std::string(source);
  }

  // The dense item of `original`, or -1 (and counted as skipped) when the interactions lack it. `line` and
  // `shown` are for the duplicate message.
  id_t item(std::int64_t original, std::string_view source, std::int64_t line) {
    if (!seen_.insert(original).second) parse_error(source, line, "item ", original, " is listed twice");
    const id_t i = items_.find(original);
    if (i < 0) {
      ++out_.skipped_items;
      return -1;
    }
    listed_[static_cast<std::size_t>(i)] = 1;
    return i;
  }
  void add(id_t item, std::int64_t original_attribute) {
    rows_[static_cast<std::size_t>(item)].push_back(out_.attributes.insert(original_attribute));
  }
  ItemAttributes& attributes() { return out_; }

  ItemAttributes finish() {
    out_.offsets.assign(rows_.size() + 1, 0);
    for (std::size_t i = 0; i < rows_.size(); ++i)
      out_.offsets[i + 1] = out_.offsets[i] + static_cast<index_t>(rows_[i].size());
    out_.values.reserve(static_cast<std::size_t>(out_.offsets.back()));
    for (const auto& r : rows_) out_.values.insert(out_.values.end(), r.begin(), r.end());
    for (std::size_t i = 1; i < listed_.size(); ++i) out_.missing_items += listed_[i] == 0;
    return std::move(out_);
  }

 private:
  const IdMap& items_;
  std::vector<std::vector<id_t>> rows_;
  std::vector<char> listed_;
  std::unordered_set<std::int64_t> seen_;
  ItemAttributes out_;
};

// Named attributes (genres) whose original id is their position in `names`: dense id == original id.
inline void name_attributes(ItemAttributes& a, std::span<const std::string_view> names) {
  for (std::size_t g = 0; g < names.size(); ++g) {
    a.attributes.insert(static_cast<std::int64_t>(g));
    a.names.emplace_back(names[g]);
  }
}

// A char iterator that publishes how far nlohmann's lexer has read, so SAX events get a line number.
class TrackedChars {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedChars(const char* p, const char** at) : p_(p), at_(at) {}
  reference operator*() const { return *p_; }
  TrackedChars& operator++() {
    *at_ = ++p_;
    return *this;
  }
  TrackedChars operator++(int) {
    TrackedChars old = *this;
    ++*this;
    return old;
  }
  bool operator==(const TrackedChars& o) const { return p_ == o.p_; }

 private:
  const char* p_;
  const char** at_;
};

// SAX handler for {"item": [attribute ids], ...}.
class ItemAttributesJson {
 public:
  using json = nlohmann::json;

  ItemAttributesJson(std::string_view text, std::string_view source, AttributeRows& rows, const char** at)
      : text_(text), source_(source), rows_(rows), at_(at) {}

  bool start_object(std::size_t) {
    if (depth_ != 0) wrong("an object");
    depth_ = 1;
    return true;
  }
  bool end_object() {
    depth_ = 0;
    return true;
  }
  bool key(json::string_t& k) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), v);
    if (ec == std::errc::result_out_of_range) fail("item key ", show(k), " overflows a 64-bit integer");
    if (ec != std::errc() || ptr != k.data() + k.size()) fail("item key ", show(k), " is not an integer");
    key_ = k;
    item_ = rows_.item(v, source_, line());
    ++items_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ != 1) wrong("an array");
    depth_ = 2;
    return true;
  }
  bool end_array() {
    depth_ = 1;
    return true;
  }
  bool number_integer(json::number_integer_t v) { return value(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    if (v > static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max()))
      fail("attribute id ", v, item_note(), " overflows a 64-bit integer");
    return value(static_cast<std::int64_t>(v));
  }
  bool number_float(json::number_float_t, const json::string_t& s) { return wrong("number ", show(s)); }
  bool string(json::string_t& s) { return wrong("string ", show(s)); }
  bool boolean(bool b) { return wrong(b ? "true" : "false"); }
  bool null() { return wrong("null"); }
  bool binary(json::binary_t&) { return wrong("binary value"); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& e) {
    std::string_view what = e.what();
    if (const auto p = what.find("] "); what.starts_with("[json.exception") && p != std::string_view::npos)
      what.remove_prefix(p + 2);
    detail::parse_error(source_, line_at(position), "invalid JSON: ", what);
  }

  std::int64_t items() const { return items_; }

 private:
  bool value(std::int64_t v) {
    if (depth_ != 2) wrong("number ", v);
    if (item_ >= 0) rows_.add(item_, v);
    return true;
  }
  template <class... Args>
  bool wrong(Args&&... got) {
    if (depth_ == 0) fail("expected a JSON object {\"item\": [attribute ids], ...}, got ", std::forward<Args>(got)...);
    if (depth_ == 1) fail("expected an array of attribute ids", item_note(), ", got ", std::forward<Args>(got)...);
    fail("attribute ids are integers", item_note(), ", got ", std::forward<Args>(got)...);
    return false;  // not reached: fail() throws
  }
  std::string item_note() const { return key_.empty() ? std::string() : " for item " + show(key_); }
  std::int64_t line_at(std::size_t position) const {
    const std::size_t end = std::min(position, text_.size());
    return 1 + std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(end), '\n');
  }
  // Line of the last character the lexer consumed before it (numbers are read one character ahead).
  std::int64_t line() const {
    const auto read = static_cast<std::size_t>(*at_ - text_.data());
    return line_at(read == 0 ? 0 : read - 1);
  }
  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    detail::parse_error(source_, line(), std::forward<Args>(args)...);
  }

  std::string_view text_;
  std::string_view source_;
  AttributeRows& rows_;
  const char** at_;
  int depth_ = 0;
  std::string key_;
  id_t item_ = -1;
  std::int64_t items_ = 0;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------- JSON

// S3-Rec's item2attributes.json: {"item": [attribute ids], ...}, item keys are the interactions' original
// item ids. Dense attribute ids follow first appearance among the interactions' items.
inline ItemAttributes parse_item_attributes_json(std::string_view text, std::string_view source,
                                                 const Interactions& x) {
  detail::AttributeRows rows(x, source);
  const char* at = text.data();
  detail::ItemAttributesJson handler(text, source, rows, &at);
  nlohmann::json::sax_parse(detail::TrackedChars(text.data(), &at),
                            detail::TrackedChars(text.data() + text.size(), &at), &handler);
  if (handler.items() == 0) detail::parse_error(source, 1, "no items in the file");
  return rows.finish();
}

// ------------------------------------------------------------------------------------------- MovieLens

// ML-100K u.item: `id|title|release date|video release date|url|19 genre flags` (0/1).
inline MovieInfo parse_ml100k_items(std::string_view text, std::string_view source, const Interactions& x) {
  MovieInfo m;
  m.titles.resize(static_cast<std::size_t>(x.num_items()) + 1);
  m.release_dates.resize(m.titles.size());
  detail::AttributeRows rows(x, source);
  detail::name_attributes(rows.attributes(), ml100k_genres);
  detail::Lines lines(text, source);
  std::vector<std::string_view> f;
  std::string_view line;
  while (lines.next(line)) {
    detail::split_char(line, '|', f, false);
    const detail::Fields p(source, lines.number());
    p.expect_count(f.size(), 5 + ml100k_genres.size());
    const id_t i = rows.item(p.id(f[0], 1, 1, "item"), source, lines.number());
    for (std::size_t g = 0; g < ml100k_genres.size(); ++g) {
      const std::string_view flag = f[5 + g];
      if (flag != "0" && flag != "1") p.fail("field ", 6 + g, ' ', detail::show(flag), " is not a 0/1 genre flag");
      if (i >= 0 && flag == "1") rows.add(i, static_cast<std::int64_t>(g));
    }
    if (i < 0) continue;
    m.titles[static_cast<std::size_t>(i)] = std::string(f[1]);
    m.release_dates[static_cast<std::size_t>(i)] = std::string(f[2]);
  }
  if (lines.number() == 0) detail::parse_error(source, 1, "empty file: no items");
  m.genres = rows.finish();
  return m;
}

// ML-1M / 10M movies.dat: `id::title::Genre|Genre|...`. Genres take ml1m_genres' order; others found in the
// file follow in order of appearance; "(no genres listed)" means none.
inline MovieInfo parse_ml1m_movies(std::string_view text, std::string_view source, const Interactions& x) {
  MovieInfo m;
  m.titles.resize(static_cast<std::size_t>(x.num_items()) + 1);
  m.release_dates.resize(m.titles.size());
  detail::AttributeRows rows(x, source);
  ItemAttributes& a = rows.attributes();
  detail::name_attributes(a, ml1m_genres);
  detail::Lines lines(text, source);
  std::vector<std::string_view> f;
  std::vector<std::string_view> genres;
  std::string_view line;
  while (lines.next(line)) {
    detail::split_string(line, "::", f);
    const detail::Fields p(source, lines.number());
    p.expect_count(f.size(), 3);
    const id_t i = rows.item(p.id(f[0], 1, 1, "item"), source, lines.number());
    if (f[2] == "(no genres listed)") f[2] = {};
    detail::split_char(f[2], '|', genres, false);
    if (genres.size() == 1 && genres[0].empty()) genres.clear();
    for (const std::string_view g : genres) {
      if (g.empty()) p.fail("field 3 ", detail::show(f[2]), " has an empty genre");
      auto it = std::find(a.names.begin(), a.names.end(), g);
      if (it == a.names.end()) {
        a.attributes.insert(static_cast<std::int64_t>(a.names.size()));
        it = a.names.emplace(a.names.end(), g);
      }
      if (i >= 0) rows.add(i, it - a.names.begin());
    }
    if (i >= 0) m.titles[static_cast<std::size_t>(i)] = std::string(f[1]);
  }
  if (lines.number() == 0) detail::parse_error(source, 1, "empty file: no movies");
  m.genres = rows.finish();
  return m;
}

namespace detail {

inline UserInfo start_users(const Interactions& x, std::string_view source) {
  UserInfo u;
  const auto n = static_cast<std::size_t>(x.num_users());
  u.age.assign(n, -1);
  u.gender.assign(n, '?');
  u.occupation.assign(n, -1);
  u.zip.assign(n, std::string());
  u.source = std::string(source);
  return u;
}

inline char gender(const Fields& p, std::string_view f, std::size_t k) {
  if (f != "M" && f != "F") p.fail("field ", k, ' ', show(f), " is not a gender (M or F)");
  return f[0];
}

inline std::int32_t age(const Fields& p, std::string_view f, std::size_t k) {
  const std::int64_t v = p.integer(f, k);
  if (v < 0 || v > 200) p.fail("field ", k, ' ', show(f), " is not an age");
  return static_cast<std::int32_t>(v);
}

// The dense user of `original`, or -1 (counted as skipped); a user listed twice throws.
inline id_t listed_user(const Interactions& x, UserInfo& u, std::vector<char>& listed, std::int64_t original,
                        const Fields& p) {
  const id_t d = x.users.find(original);
  if (d < 0) {
    ++u.skipped_users;
    return -1;
  }
  if (listed[static_cast<std::size_t>(d)]) p.fail("user ", original, " is listed twice");
  listed[static_cast<std::size_t>(d)] = 1;
  return d;
}

inline void finish_users(UserInfo& u, const std::vector<char>& listed, const Lines& lines) {
  if (lines.number() == 0) parse_error(lines.source(), 1, "empty file: no users");
  u.missing_users = static_cast<index_t>(std::count(listed.begin(), listed.end(), 0));
}

}  // namespace detail

// ML-100K u.user: `id|age|gender|occupation|zip`. Occupations are numbered in sorted name order (the order
// of ML-100K's u.occupation).
inline UserInfo parse_ml100k_users(std::string_view text, std::string_view source, const Interactions& x) {
  UserInfo u = detail::start_users(x, source);
  std::vector<char> listed(u.age.size(), 0);
  std::vector<std::pair<id_t, std::string>> occupation;  // (user, name), numbered once all names are known
  detail::Lines lines(text, source);
  std::vector<std::string_view> f;
  std::string_view line;
  while (lines.next(line)) {
    detail::split_char(line, '|', f, false);
    const detail::Fields p(source, lines.number());
    p.expect_count(f.size(), 5);
    const std::int64_t original = p.id(f[0], 1, 1, "user");
    const std::int32_t age = detail::age(p, f[1], 2);
    const char gender = detail::gender(p, f[2], 3);
    if (f[3].empty()) p.fail("field 4 is empty (an occupation)");
    const id_t d = detail::listed_user(x, u, listed, original, p);
    if (d < 0) continue;
    const auto k = static_cast<std::size_t>(d);
    u.age[k] = age;
    u.gender[k] = gender;
    u.zip[k] = std::string(f[4]);
    occupation.emplace_back(d, std::string(f[3]));
  }
  detail::finish_users(u, listed, lines);
  for (const auto& [d, name] : occupation) u.occupations.push_back(name);
  std::sort(u.occupations.begin(), u.occupations.end());
  u.occupations.erase(std::unique(u.occupations.begin(), u.occupations.end()), u.occupations.end());
  for (const auto& [d, name] : occupation)
    u.occupation[static_cast<std::size_t>(d)] =
        static_cast<id_t>(std::lower_bound(u.occupations.begin(), u.occupations.end(), name) - u.occupations.begin());
  return u;
}

// ML-1M users.dat: `id::gender::age group::occupation code (0..20)::zip`.
inline UserInfo parse_ml1m_users(std::string_view text, std::string_view source, const Interactions& x) {
  UserInfo u = detail::start_users(x, source);
  u.occupations.assign(ml1m_occupations.begin(), ml1m_occupations.end());
  std::vector<char> listed(u.age.size(), 0);
  detail::Lines lines(text, source);
  std::vector<std::string_view> f;
  std::string_view line;
  while (lines.next(line)) {
    detail::split_string(line, "::", f);
    const detail::Fields p(source, lines.number());
    p.expect_count(f.size(), 5);
    const std::int64_t original = p.id(f[0], 1, 1, "user");
    const char gender = detail::gender(p, f[1], 2);
    const std::int32_t age = detail::age(p, f[2], 3);
    const std::int64_t occupation = p.integer(f[3], 4);
    if (occupation < 0 || occupation >= static_cast<std::int64_t>(ml1m_occupations.size()))
      p.fail("field 4 ", detail::show(f[3]), " is not an occupation code (0..", ml1m_occupations.size() - 1, ")");
    const id_t d = detail::listed_user(x, u, listed, original, p);
    if (d < 0) continue;
    const auto k = static_cast<std::size_t>(d);
    u.age[k] = age;
    u.gender[k] = gender;
    u.occupation[k] = static_cast<id_t>(occupation);
    u.zip[k] = std::string(f[4]);
  }
  detail::finish_users(u, listed, lines);
  return u;
}

// ------------------------------------------------------------------------------------------- from files

inline ItemAttributes read_item_attributes_json(const std::filesystem::path& path, const Interactions& x) {
  return parse_item_attributes_json(detail::read_file(path), path.string(), x);
}
inline MovieInfo read_ml100k_items(const std::filesystem::path& path, const Interactions& x) {
  return parse_ml100k_items(detail::read_file(path), path.string(), x);
}
inline MovieInfo read_ml1m_movies(const std::filesystem::path& path, const Interactions& x) {
  return parse_ml1m_movies(detail::read_file(path), path.string(), x);
}
inline UserInfo read_ml100k_users(const std::filesystem::path& path, const Interactions& x) {
  return parse_ml100k_users(detail::read_file(path), path.string(), x);
}
inline UserInfo read_ml1m_users(const std::filesystem::path& path, const Interactions& x) {
  return parse_ml1m_users(detail::read_file(path), path.string(), x);
}

}  // namespace seqrec::data
