// Interaction readers: every format on small files written here, every documented error with its file:line,
// and the real datasets when SEQREC_DATA has them.
#include <seqrec/data/data_source.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/weight_transform.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using seqrec::Errc;
using seqrec::data::Format;
using seqrec::data::Interactions;
using seqrec::data::ReadOptions;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() / ("seqrec-test-readers-" + std::to_string(stamp) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `bytes` verbatim (binary: CRLF stays CRLF) and returns the file's path.
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::optional<seqrec::Error> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const seqrec::Error& e) {
    return e;
  }
  return std::nullopt;
}

// Reads `text` from a file with `format`, expecting a parse error whose message starts with "<file>:<line>: "
// and contains `what`.
void expect_parse_error(const std::string& text, Format format, int line, const std::string& what,
                        const ReadOptions& options = {}) {
  TempDir dir;
  const fs::path p = dir.write("bad.txt", text);
  const auto e = error_of([&] { seqrec::data::read(p, format, options); });
  INFO("format " << seqrec::data::to_string(format) << ", text: " << text);
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::parse);
  CHECK_THAT(e->message(), StartsWith(p.string() + ":" + std::to_string(line) + ": "));
  CHECK_THAT(e->message(), Contains(what));
  CHECK_THAT(std::string(e->what()), Contains(p.string() + ":" + std::to_string(line) + ": " + what));
}

// (original user, original item, weight, time) rows in the order of the interactions.
struct Row {
  std::int64_t user, item;
  float weight;
  std::int64_t time;
  bool operator==(const Row&) const = default;
};
std::vector<Row> rows(const Interactions& x) {
  std::vector<Row> out;
  for (seqrec::index_t k = 0; k < x.size(); ++k) {
    const auto j = static_cast<std::size_t>(k);
    out.push_back({x.users.original(x.user[j]), x.items.original(x.item[j]), x.weight[j], x.time[j]});
  }
  return out;
}

// Every id dense (users 0.., items 1..) and every user's rows contiguous and chronological. Counts the
// rows that break a rule, so a million-row file costs one assertion per rule.
void check_invariants(const Interactions& x) {
  std::size_t bad_user = 0, bad_item = 0, unsorted = 0;
  for (std::size_t k = 0; k < x.user.size(); ++k) {
    bad_user += x.user[k] < 0 || x.user[k] >= x.num_users();
    bad_item += x.item[k] < 1 || x.item[k] > x.num_items();
    if (k > 0) unsorted += x.user[k - 1] > x.user[k] || (x.user[k - 1] == x.user[k] && x.time[k - 1] > x.time[k]);
  }
  CHECK(bad_user == 0);
  CHECK(bad_item == 0);
  CHECK(unsorted == 0);
  CHECK(x.item.size() == x.user.size());
  CHECK(x.weight.size() == x.user.size());
  CHECK(x.time.size() == x.user.size());
  CHECK(x.users.base() == 0);
  CHECK(x.items.base() == 1);
}

}  // namespace

TEST_CASE("parse_format knows the CLI names and lists them when it does not", "[data][readers]") {
  for (Format f : seqrec::data::all_formats) CHECK(seqrec::data::parse_format(seqrec::data::to_string(f)) == f);
  CHECK(seqrec::data::to_string(Format::user_lines) == "user-lines");
  CHECK(seqrec::data::to_string(Format::delimited) == "csv");
  CHECK(seqrec::data::to_string(Format::lastfm) == "lastfm");
  const auto e = error_of([] { seqrec::data::parse_format("parquet"); });
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::invalid_argument);
  CHECK_THAT(e->message(), Contains("'parquet'") && Contains("valid formats: " + seqrec::data::describe_formats()));
}

TEST_CASE("format aliases: every spelling, its format and implied delimiter; one list for errors and --help",
          "[data][readers]") {
  struct Case {
    const char* name;
    Format format;
    const char* delimiter;
  };
  for (const Case& c :
       {Case{"sasrec", Format::sasrec, ""}, Case{"user-lines", Format::user_lines, ""},
        Case{"lines", Format::user_lines, ""}, Case{"ml-100k", Format::ml100k, ""}, Case{"ml100k", Format::ml100k, ""},
        Case{"ml-1m", Format::ml1m, "::"}, Case{"ml1m", Format::ml1m, "::"}, Case{"csv", Format::delimited, ","},
        Case{"delimited", Format::delimited, ","}, Case{"tsv", Format::delimited, "\t"},
        Case{"lastfm", Format::lastfm, "\t"},
        // Case and '_' for '-' do not matter.
        Case{"ML-100K", Format::ml100k, ""}, Case{"user_lines", Format::user_lines, ""},
        Case{"TSV", Format::delimited, "\t"}, Case{"ml_1m", Format::ml1m, "::"}}) {
    INFO(c.name);
    CHECK(seqrec::data::parse_format(c.name) == c.format);
    CHECK(seqrec::data::find_format(c.name).format == c.format);
    CHECK(seqrec::data::find_format(c.name).delimiter == c.delimiter);
  }
  CHECK(seqrec::data::find_format("lines").name == "lines");
  CHECK(seqrec::data::describe_formats() ==
        "sasrec, user-lines (or lines), ml-100k (or ml100k), ml-1m (or ml1m), csv (or delimited, tsv = "
        "tab-separated), lastfm");
  const auto e = error_of([] { seqrec::data::find_format("ml-20m"); });
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::invalid_argument);
  CHECK(e->message() ==
        "unknown data format 'ml-20m'; valid formats: sasrec, user-lines (or lines), ml-100k (or ml100k), ml-1m (or "
        "ml1m), csv (or delimited, tsv = tab-separated), lastfm");
  CHECK_THAT(std::string(e->what()), Contains("readers.hpp:"));  // file:line of the check
  CHECK(error_of([] { seqrec::data::parse_format(""); }).has_value());
}

TEST_CASE("delimiter names: tab, comma, ... and literal strings; a format refuses a delimiter it does not use",
          "[data][readers]") {
  using seqrec::data::parse_delimiter;
  CHECK(parse_delimiter("tab") == "\t");
  CHECK(parse_delimiter("\\t") == "\t");  // as typed in a shell: backslash, t
  CHECK(parse_delimiter("\t") == "\t");
  CHECK(parse_delimiter("comma") == ",");
  CHECK(parse_delimiter(",") == ",");
  CHECK(parse_delimiter("semicolon") == ";");
  CHECK(parse_delimiter(";") == ";");
  CHECK(parse_delimiter("space") == " ");
  CHECK(parse_delimiter("pipe") == "|");
  CHECK(parse_delimiter("colons") == "::");
  CHECK(parse_delimiter("::") == "::");
  for (const char* bad : {"", "\n", "a\r"}) {
    INFO(seqrec::data::detail::show(bad));
    const auto e = error_of([&] { parse_delimiter(bad); });
    REQUIRE(e.has_value());
    CHECK(e->code() == Errc::invalid_argument);
  }

  using seqrec::data::choose_delimiter;
  using seqrec::data::find_format;
  CHECK(choose_delimiter(find_format("csv"), "") == ",");
  CHECK(choose_delimiter(find_format("tsv"), "") == "\t");
  CHECK(choose_delimiter(find_format("csv"), "::") == "::");
  CHECK(choose_delimiter(find_format("tsv"), ";") == ";");  // a typed delimiter wins over tsv's tab
  CHECK(choose_delimiter(find_format("ml-1m"), "::") == "::");
  CHECK(choose_delimiter(find_format("lastfm"), "tab") == "\t");
  CHECK(choose_delimiter(find_format("ml-100k"), "tab") == "");  // whitespace formats split on both anyway
  CHECK(choose_delimiter(find_format("sasrec"), "space") == "");
  const auto e = error_of([] { choose_delimiter(find_format("sasrec"), ","); });
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::invalid_argument);
  CHECK(e->message() ==
        "delimiter ',' does not apply to format sasrec, which is separated by spaces or tabs; for another layout use "
        "format csv with that delimiter");
  const auto l = error_of([] { choose_delimiter(find_format("lastfm"), "comma"); });
  REQUIRE(l.has_value());
  CHECK_THAT(l->message(), Contains("format lastfm, which is separated by '\\x09'"));
}

TEST_CASE("sasrec format: dense ids by first appearance, originals kept, time = line number", "[data][readers]") {
  TempDir dir;
  // User 30 appears again after user 7: its rows must come back together and in file order.
  const auto p = dir.write("games.txt", "30 500\n30 42\n7 42\n7 9\n30 9\n");
  const Interactions x = seqrec::data::read_sasrec(p);
  check_invariants(x);
  CHECK(x.source == p.string());
  CHECK_FALSE(x.has_weight);
  CHECK_FALSE(x.has_time);
  CHECK(x.size() == 5);
  CHECK(x.num_users() == 2);
  CHECK(x.num_items() == 3);
  CHECK(x.users.dense(30) == 0);  // first appearance order
  CHECK(x.users.dense(7) == 1);
  CHECK(x.items.dense(500) == 1);
  CHECK(x.items.dense(42) == 2);
  CHECK(x.items.dense(9) == 3);
  const std::vector<Row> expected = {{30, 500, 1, 1}, {30, 42, 1, 2}, {30, 9, 1, 5}, {7, 42, 1, 3}, {7, 9, 1, 4}};
  CHECK(rows(x) == expected);
  // The in-memory entry point reads the same, and Sequences accepts the result.
  const Interactions y = seqrec::data::parse_sasrec("30 500\n30 42\n7 42\n7 9\n30 9\n", "mem");
  CHECK(rows(y) == expected);
  const auto s = seqrec::data::Sequences::from(y);
  CHECK(s.num_users() == 2);
  CHECK(s.length(0) == 3);
}

TEST_CASE("sasrec format: tabs, runs of spaces, no final newline", "[data][readers]") {
  const Interactions x = seqrec::data::parse_sasrec("  1\t2\n1    3  \n2 2", "mem");
  CHECK(x.size() == 3);
  CHECK(rows(x) == std::vector<Row>{{1, 2, 1, 1}, {1, 3, 1, 2}, {2, 2, 1, 3}});
}

TEST_CASE("user-lines format: one user per line, time = position in the file", "[data][readers]") {
  TempDir dir;
  const auto p = dir.write("beauty.txt", "5 10 11 12\n3 11\n5 13\n");
  const Interactions x = seqrec::data::read(p, Format::user_lines);
  check_invariants(x);
  CHECK_FALSE(x.has_weight);
  CHECK_FALSE(x.has_time);
  CHECK(x.num_users() == 2);
  CHECK(x.num_items() == 4);
  // User 5 is listed twice: the second line's item comes after the first line's.
  CHECK(rows(x) == std::vector<Row>{{5, 10, 1, 1}, {5, 11, 1, 2}, {5, 12, 1, 3}, {5, 13, 1, 5}, {3, 11, 1, 4}});
}

TEST_CASE("ml-100k format: ratings, timestamps, chronological with file order breaking ties", "[data][readers]") {
  TempDir dir;
  const auto p = dir.write("u.data",
                           "196\t242\t3\t881250949\n"
                           "186\t302\t3\t891717742\n"
                           "196\t377\t1\t878887116\n"
                           "196\t51\t2\t881250949\n"   // same time as the first row: stays after it
                           "186\t242\t5\t891717742\n"  // same time as 186's first row: stays after it
                           "196\t346\t4\t881250949\n");
  const Interactions x = seqrec::data::read_ml100k(p);
  check_invariants(x);
  CHECK(x.has_weight);
  CHECK(x.has_time);
  CHECK(x.num_users() == 2);
  CHECK(x.num_items() == 5);
  const std::vector<Row> expected = {{196, 377, 1, 878887116}, {196, 242, 3, 881250949}, {196, 51, 2, 881250949},
                                     {196, 346, 4, 881250949}, {186, 302, 3, 891717742}, {186, 242, 5, 891717742}};
  CHECK(rows(x) == expected);
}

TEST_CASE("keep_file_order returns the rows as the file lists them", "[data][readers]") {
  const char* text = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n";
  seqrec::data::ReadOptions o;
  o.keep_file_order = true;
  const Interactions x = seqrec::data::parse_ml100k(text, "mem", o);
  const std::vector<Row> expected = {{196, 242, 3, 881250949}, {186, 302, 3, 891717742}, {196, 377, 1, 878887116}};
  CHECK(rows(x) == expected);
  CHECK(rows(seqrec::data::parse_ml100k(text, "mem")) != expected);  // the default sorts
}

TEST_CASE("ml-1m format: '::' separators, half stars within the default range", "[data][readers]") {
  TempDir dir;
  const auto p = dir.write("ratings.dat", "1::1193::5::978300760\n1::661::3.5::978302109\n2::1193::0.5::978298413\n");
  const Interactions x = seqrec::data::read(p, Format::ml1m);
  check_invariants(x);
  CHECK(x.has_weight);
  CHECK(x.has_time);
  CHECK(rows(x) == std::vector<Row>{{1, 1193, 5, 978300760}, {1, 661, 3.5f, 978302109}, {2, 1193, 0.5f, 978298413}});
  // ML-1M proper has whole stars only: declare it and a half star is an error.
  ReadOptions whole;
  whole.rating_min = 1;
  whole.rating_max = 5;
  expect_parse_error("1::1193::5::978300760\n2::1193::0.5::978298413\n", Format::ml1m, 2,
                     "field 3 '0.5' is outside the declared rating range [1, 5]", whole);
}

TEST_CASE("delimited format: columns by header name or position, optional weight and time", "[data][readers]") {
  TempDir dir;
  SECTION("Last.fm layout: tab-separated, header, weight, no time") {
    const auto p =
        dir.write("user_artists.dat", "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n4\t51\t7\r\n");
    ReadOptions o;
    o.delimiter = '\t';
    o.user = "userID";
    o.item = "artistID";
    o.weight = "weight";
    const Interactions x = seqrec::data::read_delimited(p, o);
    check_invariants(x);
    CHECK(x.has_weight);
    CHECK_FALSE(x.has_time);
    CHECK(rows(x) == std::vector<Row>{{2, 51, 13883, 1}, {2, 52, 11690, 2}, {4, 51, 7, 3}});
  }
  SECTION("CSV with spaces, quoted header names, columns in another order, a time column") {
    const auto p = dir.write("ratings.csv",
                             "\"timestamp\", \"movieId\", \"rating\", \"userId\"\n"
                             "20, 7, 4.5, 1\n"
                             "10, 8, 3, 1\n"
                             "15, 7, 2, 0\n");
    ReadOptions o;
    o.user = "userId";
    o.item = "movieId";
    o.weight = "rating";
    o.time = "timestamp";
    const Interactions x = seqrec::data::read(p, Format::delimited, o);
    check_invariants(x);
    CHECK(x.has_weight);
    CHECK(x.has_time);
    CHECK(rows(x) == std::vector<Row>{{1, 8, 3, 10}, {1, 7, 4.5f, 20}, {0, 7, 2, 15}});  // user id 0 is fine here
  }
  SECTION("no header, columns by position") {
    const auto p = dir.write("plain.csv", "9,x,100\n8,y,200\n");
    ReadOptions o;
    o.has_header = false;
    o.user = 2;
    o.item = 0;
    const Interactions x = seqrec::data::read(p, Format::delimited, o);
    CHECK_FALSE(x.has_weight);
    CHECK(rows(x) == std::vector<Row>{{100, 9, 1, 1}, {200, 8, 1, 2}});
  }
  SECTION("a column name the header lacks, or a name without a header") {
    ReadOptions o;
    o.user = "user";
    o.item = "song";
    expect_parse_error("user,item\n1,2\n", Format::delimited, 1,
                       "item column 'song' is not in the header ('user', 'item')", o);
    ReadOptions by_position;
    by_position.item = 5;
    expect_parse_error("user,item\n1,2\n", Format::delimited, 1, "item column 5 (0-based) is past the 2 fields",
                       by_position);
    ReadOptions no_header;
    no_header.has_header = false;
    no_header.user = "user";
    const auto e = error_of([&] { seqrec::data::parse_delimited("1,2\n", "mem", no_header); });
    REQUIRE(e.has_value());
    CHECK(e->code() == Errc::invalid_argument);
    CHECK_THAT(e->message(), Contains("has_header = false"));
  }
}

TEST_CASE("delimited format: '::', tab and other string delimiters, with CRLF", "[data][readers]") {
  ReadOptions o;
  o.has_header = false;
  o.weight = 2;
  o.time = 3;
  o.delimiter = "::";
  const std::vector<Row> expected{{1, 10, 4.5f, 100}, {1, 11, 3, 200}, {2, 10, 1, 50}};
  CHECK(rows(seqrec::data::parse_delimited("1::10::4.5::100\n2::10::1::50\n1::11::3::200\n", "colons", o)) == expected);
  CHECK(rows(seqrec::data::parse_delimited("1::10::4.5::100\r\n2::10::1::50\r\n1::11::3::200\r\n", "crlf", o)) ==
        expected);
  // Spaces around fields are trimmed, and a single ':' inside a "::"-separated file is not a delimiter.
  CHECK(rows(seqrec::data::parse_delimited(" 1 :: 10 :: 4.5 :: 100\n", "spaced", o)) ==
        std::vector<Row>{{1, 10, 4.5f, 100}});
  expect_parse_error("1::10::4.5::100\n1:11::3::200\n", Format::delimited, 2, "expected 4 fields, got 3", o);
  // The same as ml-1m reads it.
  ReadOptions colons;
  colons.has_header = false;
  colons.delimiter = "::";
  colons.weight = 2;
  colons.time = 3;
  colons.min_id = 1;
  const std::string ml1m = "1::1193::5::978300760\r\n1::661::3::978302109\r\n2::1193::4::978298413\r\n";
  CHECK(rows(seqrec::data::parse_delimited(ml1m, "csv", colons)) == rows(seqrec::data::parse_ml1m(ml1m, "ml1m")));

  o.delimiter = "\t";
  CHECK(rows(seqrec::data::parse_delimited("1\t10\t4.5\t100\r\n2\t10\t1\t50\r\n1\t11\t3\t200\r\n", "tab", o)) ==
        expected);
  o.delimiter = "; ";
  CHECK(rows(seqrec::data::parse_delimited("1; 10; 4.5; 100\n", "two-char", o)) ==
        std::vector<Row>{{1, 10, 4.5f, 100}});

  for (const char* bad : {"", "\n", ";\r"}) {
    ReadOptions b;
    b.delimiter = bad;
    const auto e = error_of([&] { seqrec::data::parse_delimited("u,i\n1,2\n", "mem", b); });
    REQUIRE(e.has_value());
    CHECK(e->code() == Errc::invalid_argument);
    CHECK_THAT(e->message(), StartsWith("read mem: the delimiter"));
  }
}

TEST_CASE("lastfm format: tab, header userID artistID weight, CRLF, play counts as weights", "[data][readers]") {
  TempDir dir;
  const auto p = dir.write("user_artists.dat",
                           "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n4\t51\t7\r\n3\t9\t0\r\n");
  const Interactions x = seqrec::data::read(p, Format::lastfm);
  check_invariants(x);
  CHECK(x.has_weight);
  CHECK_FALSE(x.has_time);  // no timestamps: time is the row's order in the file
  CHECK(rows(x) == std::vector<Row>{{2, 51, 13883, 1}, {2, 52, 11690, 2}, {4, 51, 7, 3}, {3, 9, 0, 4}});
  CHECK(rows(seqrec::data::read_lastfm(p)) == rows(x));
  // The layout is fixed: a caller's csv settings do not change how it reads.
  ReadOptions csv;
  csv.delimiter = ",";
  csv.has_header = false;
  csv.user = 1;
  CHECK(rows(seqrec::data::read(p, Format::lastfm, csv)) == rows(x));
  // LF files too, and the same rows as the delimited reader with the Last.fm columns.
  const std::string lf = "userID\tartistID\tweight\n2\t51\t13883\n";
  CHECK(rows(seqrec::data::parse_lastfm(lf, "lf")) == std::vector<Row>{{2, 51, 13883, 1}});

  expect_parse_error("user\tartist\tweight\r\n2\t51\t1\r\n", Format::lastfm, 1,
                     "user column 'userID' is not in the header ('user', 'artist', 'weight')");
  expect_parse_error("userID\tartistID\tweight\r\n2\t51\t-3\r\n", Format::lastfm, 2,
                     "field 3 '-3' is outside the declared rating range [0, inf]");
  expect_parse_error("userID\tartistID\tweight\r\n2\t51\r\n", Format::lastfm, 2, "expected 3 fields, got 2");
  expect_parse_error("userID\tartistID\tweight\r\n0\t51\t1\r\n", Format::lastfm, 2,
                     "field 1 '0' is not a valid user id (ids start at 1)");
  expect_parse_error("userID\tartistID\tweight\r\n", Format::lastfm, 1, "no data after the header");
}

TEST_CASE("weight transforms: raw, log1p, binary", "[data][readers]") {
  using seqrec::data::WeightTransform;
  for (WeightTransform t : seqrec::data::all_weight_transforms)
    CHECK(seqrec::data::parse_weight_transform(seqrec::data::to_string(t)) == t);
  const auto e = error_of([] { seqrec::data::parse_weight_transform("log"); });
  REQUIRE(e.has_value());
  CHECK(e->message() == "unknown weight transform 'log'; expected raw, log1p or binary");

  const std::string text = "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t1\r\n4\t51\t0\r\n";
  const Interactions x = seqrec::data::parse_lastfm(text, "mem");
  Interactions raw = x, log = x, binary = x;
  seqrec::data::transform_weights(raw, WeightTransform::raw);
  CHECK(raw.weight == x.weight);
  seqrec::data::transform_weights(log, WeightTransform::log1p);
  CHECK(log.has_weight);
  REQUIRE(log.weight.size() == 3);
  CHECK(log.weight[0] == Approx(std::log1p(13883.0)));  // 9.5385...
  CHECK(log.weight[0] == Approx(9.538564));
  CHECK(log.weight[1] == Approx(std::log(2.0)));
  CHECK(log.weight[2] == 0.0f);
  seqrec::data::transform_weights(binary, WeightTransform::binary);
  CHECK(binary.weight == std::vector<float>{1, 1, 1});
  CHECK_FALSE(binary.has_weight);

  ReadOptions signed_weights;
  signed_weights.weight = 2;
  signed_weights.has_header = false;
  Interactions bad = seqrec::data::parse_delimited("7,8,-1\n", "neg.csv", signed_weights);
  const auto b = error_of([&] { seqrec::data::transform_weights(bad, WeightTransform::log1p); });
  REQUIRE(b.has_value());
  CHECK(b->message() == "neg.csv: weight transform log1p needs weights > -1, got -1 for user 7, item 8");
}

TEST_CASE("resolve_data_path: files as given, folders to their known file, clear errors", "[data][readers]") {
  TempDir dir;
  const fs::path ml = dir.path() / "ml-100k";
  fs::create_directories(ml);
  const std::string udata = "1\t10\t3\t881250949\r\n1\t11\t5\t881250950\r\n2\t10\t4\t881250951\r\n";
  std::ofstream(ml / "u.data", std::ios::binary) << udata;
  std::ofstream(ml / "u.item", std::ios::binary) << "not read\n";
  CHECK(seqrec::data::resolve_data_path(ml.string()) == ml / "u.data");
  CHECK(seqrec::data::resolve_data_path((ml / "u.data").string()) == ml / "u.data");
  CHECK(seqrec::data::resolve_data_path((ml / "u.item").string()) == ml / "u.item");  // a file is taken as given

  const fs::path mixed = dir.path() / "mixed";  // several known files: the first of known_data_files
  fs::create_directories(mixed);
  std::ofstream(mixed / "user_artists.dat") << "x";
  std::ofstream(mixed / "ratings.dat") << "x";
  CHECK(seqrec::data::resolve_data_path(mixed.string()) == mixed / "ratings.dat");

  const fs::path empty = dir.path() / "empty";
  fs::create_directories(empty);
  const auto e = error_of([&] { seqrec::data::resolve_data_path(empty.string()); });
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::io);
  CHECK(e->message() == "data folder '" + empty.string() +
                            "' holds none of the files a folder resolves to: expected u.data (MovieLens-100K), "
                            "ratings.dat (MovieLens-1M/10M), user_artists.dat (HetRec Last.fm); name the file itself");

  const auto m = error_of([] { seqrec::data::resolve_data_path("no-such-dataset/x.txt"); });
  REQUIRE(m.has_value());
  CHECK(m->code() == Errc::io);
  CHECK_THAT(m->message(),
             StartsWith("data 'no-such-dataset/x.txt' not found: neither 'no-such-dataset/x.txt' nor '") &&
                 Contains("SEQREC_DATA"));

  SECTION("read_data_source: a folder, the format its file implies, notes saying so") {
    seqrec::data::DataRequest r;
    r.data = ml.string();
    r.format = "sasrec";
    r.infer_format = true;
    const auto s = seqrec::data::read_data_source(r);
    CHECK(s.path == ml / "u.data");
    CHECK(s.format == Format::ml100k);
    CHECK(s.interactions.size() == 3);
    CHECK(s.interactions.has_time);
    REQUIRE(s.notes.size() == 2);
    CHECK_THAT(s.notes[0], Contains("is a folder: reading " + (ml / "u.data").string()));
    CHECK_THAT(s.notes[1], StartsWith("format ml-100k from the file name (MovieLens-100K's u.data)"));
    // A format the user chose is kept (and here fails, naming the line).
    r.infer_format = false;
    const auto f = error_of([&] { seqrec::data::read_data_source(r); });
    REQUIRE(f.has_value());
    CHECK(f->code() == Errc::parse);
    CHECK_THAT(f->message(), Contains("u.data:1: expected 2 fields, got 4"));
    r.format = "ml100k";
    CHECK(seqrec::data::read_data_source(r).format == Format::ml100k);
  }
  SECTION("read_data_source: tsv, '::' csv, lastfm with log1p; the note on file order") {
    seqrec::data::DataRequest r;
    r.data = dir.write("plays.tsv", "user\titem\r\n5\t6\r\n5\t7\r\n").string();
    r.format = "tsv";
    auto s = seqrec::data::read_data_source(r);
    CHECK(s.format == Format::delimited);
    CHECK(rows(s.interactions) == std::vector<Row>{{5, 6, 1, 1}, {5, 7, 1, 2}});
    REQUIRE(s.notes.size() == 1);
    CHECK_THAT(s.notes[0], Contains("without timestamps: each user's rows keep file order"));

    r.data = dir.write("plays.dat", "u::i\r\n5::6\r\n").string();
    r.format = "csv";
    r.delimiter = "colons";
    CHECK(rows(seqrec::data::read_data_source(r).interactions) == std::vector<Row>{{5, 6, 1, 1}});
    r.format = "sasrec";
    const auto e = error_of([&] { seqrec::data::read_data_source(r); });
    REQUIRE(e.has_value());
    CHECK_THAT(e->message(), Contains("does not apply to format sasrec"));

    const fs::path lastfm = dir.path() / "lastfm-2k";
    fs::create_directories(lastfm);
    std::ofstream(lastfm / "user_artists.dat", std::ios::binary) << "userID\tartistID\tweight\r\n2\t51\t99\r\n";
    r = {};
    r.data = lastfm.string();
    r.format = "sasrec";
    r.infer_format = true;
    r.weights = seqrec::data::WeightTransform::log1p;
    s = seqrec::data::read_data_source(r);
    CHECK(s.format == Format::lastfm);
    REQUIRE(s.interactions.size() == 1);
    CHECK(s.interactions.weight[0] == Approx(std::log(100.0)));
    CHECK_THAT(s.notes.back(), StartsWith("lastfm data without timestamps"));
  }
}

TEST_CASE("CRLF line ends and a byte order mark read like plain LF files", "[data][readers]") {
  const std::string lf = "1 2 3 4\n2 3 4\n";
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  CHECK(rows(seqrec::data::parse_user_lines(crlf, "crlf")) == rows(seqrec::data::parse_user_lines(lf, "lf")));
  CHECK(rows(seqrec::data::parse_ml100k("1\t2\t3\t4\r\n1\t3\t5\t6\r\n", "crlf")) ==
        rows(seqrec::data::parse_ml100k("1\t2\t3\t4\n1\t3\t5\t6\n", "lf")));
  CHECK(rows(seqrec::data::parse_ml1m("1::2::3::4\r\n", "crlf")) == std::vector<Row>{{1, 2, 3, 4}});
  CHECK(seqrec::data::parse_sasrec("1 2\r\n1 3\r\n\r\n\r\n", "crlf").size() == 2);  // blank CRLF lines at the end
}

TEST_CASE("blank lines are allowed at the end only", "[data][readers]") {
  CHECK(seqrec::data::parse_sasrec("1 2\n1 3\n\n  \n\t\n", "mem").size() == 2);
  expect_parse_error("1 2\n\n1 3\n", Format::sasrec, 2, "blank line before the end of the file");
  expect_parse_error("1 2 3\n   \n2 3\n", Format::user_lines, 2, "blank line before the end of the file");
  expect_parse_error("\n1\t2\t3\t4\n", Format::ml100k, 1, "blank line before the end of the file");
}

TEST_CASE("wrong field counts name the line, the expected and the actual count", "[data][readers]") {
  expect_parse_error("1 2\n1 2 3\n", Format::sasrec, 2, "expected 2 fields, got 3");
  expect_parse_error("1 2\n1\n", Format::sasrec, 2, "expected 2 fields, got 1");
  expect_parse_error("1 2 3\n4\n", Format::user_lines, 2,
                     "expected at least 2 fields (a user and at least one item), got 1");
  expect_parse_error("1\t2\t3\t4\n1\t2\t3\n", Format::ml100k, 2, "expected 4 fields, got 3");
  expect_parse_error("1::2::3::4\n1::2::3::4::5\n", Format::ml1m, 2, "expected 4 fields, got 5");
  expect_parse_error("1::2::3:4\n", Format::ml1m, 1, "expected 4 fields, got 3");
  expect_parse_error("u,i\n1,2\n1,2,\n", Format::delimited, 3, "expected 2 fields, got 3");
  ReadOptions no_header;
  no_header.has_header = false;
  expect_parse_error("1,2\n1,2\n3\n", Format::delimited, 3, "expected 2 fields, got 1", no_header);
}

TEST_CASE("non-numeric fields and trailing garbage name the field", "[data][readers]") {
  expect_parse_error("1 2\n1 abc\n", Format::sasrec, 2, "field 2 'abc' is not an integer");
  expect_parse_error("1 2\nx1 2\n", Format::sasrec, 2, "field 1 'x1' is not an integer");
  expect_parse_error("1 2\n1 12x\n", Format::sasrec, 2, "field 2 '12x' is not an integer");
  expect_parse_error("1 2\n1 1.5\n", Format::sasrec, 2, "field 2 '1.5' is not an integer");
  expect_parse_error("1 2\n1 +3\n", Format::sasrec, 2, "field 2 '+3' is not an integer");
  expect_parse_error("1 2 3 4q\n", Format::user_lines, 1, "field 4 '4q' is not an integer");
  expect_parse_error("1\t2\tgood\t4\n", Format::ml100k, 1, "field 3 'good' is not a number");
  expect_parse_error("1\t2\t3\t4.5\n", Format::ml100k, 1, "field 4 '4.5' is not an integer");
  expect_parse_error("1\t2\t3\t4\n1\t2\t3\t4 trailing\n", Format::ml100k, 2, "expected 4 fields, got 5");
  expect_parse_error("1::2::3::4x\n", Format::ml1m, 1, "field 4 '4x' is not an integer");
  expect_parse_error("u,i\n1,\n", Format::delimited, 2, "field 2 '' is not an integer");
  expect_parse_error("1 2\n1 \x01\xff\n", Format::sasrec, 2, "field 2 '\\x01\\xff' is not an integer");
}

TEST_CASE("ids must start at 1 where the format says so", "[data][readers]") {
  expect_parse_error("1 2\n0 2\n", Format::sasrec, 2, "field 1 '0' is not a valid user id (ids start at 1)");
  expect_parse_error("1 2\n1 -2\n", Format::sasrec, 2, "field 2 '-2' is not a valid item id (ids start at 1)");
  expect_parse_error("1 2 0\n", Format::user_lines, 1, "field 3 '0' is not a valid item id");
  expect_parse_error("1\t0\t3\t4\n", Format::ml100k, 1, "field 2 '0' is not a valid item id");
  expect_parse_error("-1::2::3::4\n", Format::ml1m, 1, "field 1 '-1' is not a valid user id");
  expect_parse_error("u,i\n-1,2\n", Format::delimited, 2, "field 1 '-1' is not a valid user id (ids start at 0)");
  ReadOptions any;
  any.min_id = INT64_MIN;
  CHECK(seqrec::data::parse_delimited("u,i\n-1,-2\n", "mem", any).users.original(0) == -1);
  ReadOptions from_zero;
  from_zero.min_id = 0;
  CHECK(seqrec::data::parse_sasrec("0 0\n", "mem", from_zero).items.original(1) == 0);
}

TEST_CASE("ids overflowing int64 are parse errors", "[data][readers]") {
  expect_parse_error("1 9223372036854775808\n", Format::sasrec, 1,
                     "field 2 '9223372036854775808' overflows a 64-bit integer");
  expect_parse_error("1\t2\t3\t99999999999999999999999\n", Format::ml100k, 1,
                     "field 4 '99999999999999999999999' overflows a 64-bit integer");
  CHECK(seqrec::data::parse_sasrec("9223372036854775807 1\n", "mem").users.original(0) == INT64_MAX);
}

TEST_CASE("ratings outside the declared range, NaN and infinite weights", "[data][readers]") {
  expect_parse_error("1\t2\t3\t4\n1\t3\t6\t5\n", Format::ml100k, 2,
                     "field 3 '6' is outside the declared rating range [1, 5]");
  expect_parse_error("1\t2\t0\t4\n", Format::ml100k, 1, "field 3 '0' is outside the declared rating range [1, 5]");
  expect_parse_error("1\t2\tnan\t4\n", Format::ml100k, 1, "field 3 'nan' is not a finite number");
  expect_parse_error("1::2::inf::4\n", Format::ml1m, 1, "field 3 'inf' is not a finite number");
  expect_parse_error("u,i,w\n1,2,NaN\n", Format::delimited, 2, "field 3 'NaN' is not a finite number", [] {
    ReadOptions o;
    o.weight = 2;
    return o;
  }());
  expect_parse_error("u,i,w\n1,2,1e39\n", Format::delimited, 2, "field 3 '1e39' is out of range for a float", [] {
    ReadOptions o;
    o.weight = "w";
    return o;
  }());
  ReadOptions play_counts;  // a declared range on a delimited file
  play_counts.weight = "w";
  play_counts.rating_min = 1;
  expect_parse_error("u,i,w\n1,2,3\n1,3,-4\n", Format::delimited, 3,
                     "field 3 '-4' is outside the declared rating range [1, inf]", play_counts);
  ReadOptions wide;  // the default ml-100k range can be replaced
  wide.rating_min = 0;
  wide.rating_max = 10;
  CHECK(seqrec::data::parse_ml100k("1\t2\t7\t4\n", "mem", wide).weight[0] == 7.0f);
}

TEST_CASE("empty files and header-only files are parse errors", "[data][readers]") {
  for (Format f : {Format::sasrec, Format::user_lines, Format::ml100k, Format::ml1m, Format::delimited})
    expect_parse_error("", f, 1, "empty file");
  expect_parse_error("\n\n", Format::sasrec, 1, "empty file");
  expect_parse_error("userID\tartistID\n", Format::delimited, 1, "no data after the header", [] {
    ReadOptions o;
    o.delimiter = '\t';
    return o;
  }());
}

TEST_CASE("a missing file is an I/O error naming the path", "[data][readers]") {
  TempDir dir;
  const fs::path missing = dir.path() / "no_such_file.txt";
  for (Format f : {Format::sasrec, Format::ml100k}) {
    const auto e = error_of([&] { seqrec::data::read(missing, f); });
    REQUIRE(e.has_value());
    CHECK(e->code() == Errc::io);
    CHECK_THAT(e->message(), Contains(missing.string()));
  }
  const auto d = error_of([&] { seqrec::data::read(dir.path(), Format::sasrec); });
  REQUIRE(d.has_value());
  CHECK(d->code() == Errc::io);
  CHECK_THAT(d->message(), Contains("is a directory"));
}

TEST_CASE("data_file names the missing file and SEQREC_DATA", "[data][readers]") {
  const auto e = error_of([] { seqrec::data::data_file("no/such/dataset.txt"); });
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::io);
  CHECK_THAT(e->message(), Contains("no/such/dataset.txt") && Contains("SEQREC_DATA"));
  CHECK_FALSE(seqrec::data::has_data_file("no/such/dataset.txt"));
}

TEST_CASE("a 100k-line file: fast and general parsing paths, both entry points, all agree", "[data][readers]") {
  // Users in random order with ties in time: the O(n) chronological sort must match a stable sort. Some
  // lines carry leading zeros, "4.0" ratings or wider spacing, which the one-pass path leaves to the general one.
  std::mt19937_64 rng(7);
  std::string text;
  for (int k = 0; k < 100000; ++k) {
    const auto rating = std::to_string(1 + rng() % 5);
    text += (rng() % 50 == 0 ? "00" : "") + std::to_string(1 + rng() % 5000) + '\t' + std::to_string(1 + rng() % 3000) +
            '\t' + (rng() % 40 == 0 ? rating + ".0" : rating) + '\t' + std::to_string(rng() % 50) + '\n';
  }
  const Interactions x = seqrec::data::parse_ml100k(text, "random");
  check_invariants(x);
  CHECK(x.size() == 100000);
  Interactions y = x;
  y.sort_chronological();  // already in that order: a stable sort changes nothing
  CHECK(rows(y) == rows(x));
  TempDir dir;
  CHECK(rows(seqrec::data::read_ml100k(dir.write("u.data", text))) == rows(x));

  std::string colons;
  for (char c : text) colons += c == '\t' ? std::string("::") : std::string(1, c);
  ReadOptions stars;
  stars.rating_min = 1;
  stars.rating_max = 5;
  CHECK(rows(seqrec::data::parse_ml1m(colons, "colons", stars)) == rows(x));
  ReadOptions tsv;
  tsv.delimiter = '\t';
  tsv.has_header = false;
  tsv.weight = 2;
  tsv.time = 3;
  CHECK(rows(seqrec::data::parse_delimited(text, "tsv", tsv)) == rows(x));
}

TEST_CASE("sasrec: the one-pass path agrees with the general delimited path", "[data][readers]") {
  std::mt19937_64 rng(11);
  std::string text;
  for (int k = 0; k < 20000; ++k)
    text += std::to_string(1 + rng() % 700) + ' ' + std::to_string(1 + rng() % 900) + '\n';
  ReadOptions plain;
  plain.delimiter = ' ';
  plain.has_header = false;
  CHECK(rows(seqrec::data::parse_sasrec(text, "sasrec")) == rows(seqrec::data::parse_delimited(text, "csv", plain)));
}

// ---------------------------------------------------------------------------------------------- real data

TEST_CASE("real datasets read with their published sizes", "[data][readers][real]") {
  using seqrec::data::data_file;
  using seqrec::data::has_data_file;
  if (has_data_file("games/games.txt")) {
    const Interactions x = seqrec::data::read(data_file("games/games.txt"), Format::sasrec);
    check_invariants(x);
    CHECK(x.size() == 287107);
    CHECK(x.num_users() == 31013);
    CHECK(x.num_items() == 23715);
    // Users are contiguous in the file with ids from 1, so dense ids are the file's ids minus one.
    CHECK(x.users.original(0) == 1);
    CHECK(x.users.original(31012) == 31013);
  } else {
    WARN("games/games.txt not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
  if (has_data_file("beauty/beauty.txt")) {
    const Interactions x = seqrec::data::read(data_file("beauty/beauty.txt"), Format::user_lines);
    check_invariants(x);
    CHECK(x.size() == 198502);
    CHECK(x.num_users() == 22363);
    CHECK(x.num_items() == 12101);
    const auto s = seqrec::data::Sequences::from(x);
    seqrec::index_t shortest = x.size(), longest = 0;
    for (seqrec::index_t u = 0; u < s.num_users(); ++u) {
      shortest = std::min(shortest, s.length(u));
      longest = std::max(longest, s.length(u));
    }
    CHECK(shortest == 5);
    CHECK(longest == 204);
  } else {
    WARN("beauty/beauty.txt not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
  if (has_data_file("ml-100k/u.data")) {
    ReadOptions ratings;  // declared explicitly: MovieLens-100K has whole stars 1..5
    ratings.rating_min = 1;
    ratings.rating_max = 5;
    const Interactions x = seqrec::data::read(data_file("ml-100k/u.data"), Format::ml100k, ratings);
    check_invariants(x);
    CHECK(x.size() == 100000);
    CHECK(x.num_users() == 943);
    CHECK(x.num_items() == 1682);
    CHECK(x.has_weight);
    CHECK(x.has_time);
    CHECK(*std::min_element(x.weight.begin(), x.weight.end()) == 1.0f);
    CHECK(*std::max_element(x.weight.begin(), x.weight.end()) == 5.0f);
    CHECK(std::all_of(x.weight.begin(), x.weight.end(), [](float w) { return w == std::round(w); }));
    CHECK(*std::min_element(x.time.begin(), x.time.end()) == 874724710);  // 1997-09-20
    CHECK(*std::max_element(x.time.begin(), x.time.end()) == 893286638);  // 1998-04-22
  } else {
    WARN("ml-100k/u.data not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
  if (has_data_file("lastfm-2k/user_artists.dat")) {
    ReadOptions o;
    o.delimiter = '\t';
    o.user = "userID";
    o.item = "artistID";
    o.weight = "weight";
    const Interactions x = seqrec::data::read(data_file("lastfm-2k/user_artists.dat"), Format::delimited, o);
    check_invariants(x);
    CHECK(x.size() == 92834);
    CHECK(x.num_users() == 1892);
    CHECK(x.num_items() == 17632);
    CHECK(x.has_weight);
    CHECK_FALSE(x.has_time);
    CHECK(*std::min_element(x.weight.begin(), x.weight.end()) == 1.0f);
    CHECK(*std::max_element(x.weight.begin(), x.weight.end()) == 352698.0f);
    // The lastfm format and a folder read the same rows; log1p as the tools apply it.
    CHECK(rows(seqrec::data::read(data_file("lastfm-2k/user_artists.dat"), Format::lastfm)) == rows(x));
    seqrec::data::DataRequest r;
    r.data = "lastfm-2k";
    r.format = "sasrec";
    r.infer_format = true;
    r.weights = seqrec::data::WeightTransform::log1p;
    const auto s = seqrec::data::read_data_source(r);
    CHECK(s.format == Format::lastfm);
    CHECK(s.path.filename() == "user_artists.dat");
    CHECK(s.interactions.size() == 92834);
    CHECK(s.interactions.num_users() == 1892);
    CHECK(s.interactions.num_items() == 17632);
    CHECK(*std::max_element(s.interactions.weight.begin(), s.interactions.weight.end()) ==
          Approx(std::log1p(352698.0)));
  } else {
    WARN("lastfm-2k/user_artists.dat not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
}
