// Side-information readers: item attributes (JSON), MovieLens items and users, aligned with the dense ids of
// an Interactions object; malformed files with their file:line; the real files when SEQREC_DATA has them.
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>

#include <catch2/catch.hpp>

#include <chrono>
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
using seqrec::data::Interactions;
using seqrec::data::ItemAttributes;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ =
        fs::temp_directory_path() / ("seqrec-test-attributes-" + std::to_string(stamp) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

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

// Users 1, 2, 3 and items 10, 20, 30, 40 (dense items 1..4 in that order).
Interactions small_interactions() { return seqrec::data::parse_sasrec("1 10\n1 20\n2 30\n3 40\n3 10\n", "small"); }

// The original attribute ids of `item` (an original item id).
std::vector<std::int64_t> attributes_of(const ItemAttributes& a, const Interactions& x, std::int64_t item) {
  std::vector<std::int64_t> out;
  for (auto d : a.of(x.items.dense(item))) out.push_back(a.attributes.original(d));
  return out;
}

template <class Reader>
void expect_parse_error(Reader read, const std::string& text, int line, const std::string& what) {
  TempDir dir;
  const fs::path p = dir.write("bad", text);
  const Interactions x = small_interactions();
  const auto e = error_of([&] { read(p, x); });
  INFO("text: " << text);
  REQUIRE(e.has_value());
  CHECK(e->code() == Errc::parse);
  CHECK_THAT(e->message(), StartsWith(p.string() + ":" + std::to_string(line) + ": "));
  CHECK_THAT(e->message(), Contains(what));
}

const auto read_json = [](const fs::path& p, const Interactions& x) {
  return seqrec::data::read_item_attributes_json(p, x);
};
const auto read_items = [](const fs::path& p, const Interactions& x) { return seqrec::data::read_ml100k_items(p, x); };
const auto read_users = [](const fs::path& p, const Interactions& x) { return seqrec::data::read_ml100k_users(p, x); };
const auto read_movies = [](const fs::path& p, const Interactions& x) { return seqrec::data::read_ml1m_movies(p, x); };
const auto read_users_1m = [](const fs::path& p, const Interactions& x) { return seqrec::data::read_ml1m_users(p, x); };

}  // namespace

TEST_CASE("item attributes JSON: CSR on the interactions' dense items, unknown items skipped and counted",
          "[data][attributes]") {
  TempDir dir;
  const Interactions x = small_interactions();
  // Item 99 is not in the interactions; item 40 is not in the file.
  const auto p = dir.write("attrs.json", "{\"20\": [7, 3], \"99\": [5], \"10\": [3, 8, 9], \"30\": []}");
  const ItemAttributes a = seqrec::data::read_item_attributes_json(p, x);
  CHECK(a.source == p.string());
  CHECK(a.num_items() == 4);
  CHECK(a.offsets.size() == 6);
  CHECK(a.count(0) == 0);  // padding row
  CHECK(a.skipped_items == 1);
  CHECK(a.missing_items == 1);
  CHECK(a.covered_items() == 2);
  CHECK(a.num_attributes() == 4);  // 7, 3, 8, 9: attribute 5 belongs to the skipped item only
  CHECK(a.attributes.dense(7) == 0);
  CHECK(a.attributes.dense(3) == 1);
  CHECK(attributes_of(a, x, 10) == std::vector<std::int64_t>{3, 8, 9});
  CHECK(attributes_of(a, x, 20) == std::vector<std::int64_t>{7, 3});
  CHECK(a.of(x.items.dense(30)).empty());
  CHECK(a.of(x.items.dense(40)).empty());
  CHECK(a.size() == 5);
  CHECK_THROWS_AS(a.of(5), seqrec::Error);  // past the last item
}

TEST_CASE("item attributes JSON: malformed files name the line and what is wrong", "[data][attributes]") {
  expect_parse_error(read_json, "{\"10\": [1, 2],\n \"20\": [3,, 4]}", 2, "invalid JSON: ");
  expect_parse_error(read_json, "", 1, "invalid JSON: ");
  expect_parse_error(read_json, "{\"10\": [1]} x", 1, "invalid JSON: ");
  expect_parse_error(read_json, "{\"10\": [1],\n\"abc\": [2]}", 2, "item key 'abc' is not an integer");
  expect_parse_error(read_json, "{\"99999999999999999999\": [2]}", 1, "item key '99999999999999999999' overflows");
  expect_parse_error(read_json, "{\"10\": [1],\n\n \"20\": [2.5]}", 3,
                     "attribute ids are integers for item '20', got number '2.5'");
  expect_parse_error(read_json, "{\"10\": [\"red\"]}", 1, "attribute ids are integers for item '10', got string 'red'");
  expect_parse_error(read_json, "{\"10\": [[1]]}", 1, "attribute ids are integers for item '10', got an array");
  expect_parse_error(read_json, "{\"10\": 3}", 1, "expected an array of attribute ids for item '10', got number 3");
  expect_parse_error(read_json, "{\"10\": {\"a\": 1}}", 1,
                     "expected an array of attribute ids for item '10', got an object");
  expect_parse_error(read_json, "[1, 2]", 1, "expected a JSON object {\"item\": [attribute ids], ...}, got an array");
  expect_parse_error(read_json, "{\"10\": [1], \"10\": [2]}", 1, "item 10 is listed twice");
  expect_parse_error(read_json, "{\"10\": [18446744073709551615]}", 1, "overflows a 64-bit integer");
  expect_parse_error(read_json, "{}", 1, "no items in the file");
}

TEST_CASE("ML-100K u.item: titles as bytes, release dates, 19 genre flags", "[data][attributes]") {
  TempDir dir;
  const Interactions x = small_interactions();
  const std::string flags_a = "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
  const std::string flags_b = "|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0";
  const std::string flags_unknown = "|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0";
  const auto p = dir.write("u.item", "10|Toy Story (1995)|01-Jan-1995||http://x" + flags_a + "\n" +
                                         "20|Mis\xe9rables, Les (1995)|01-Jan-1995||http://y" + flags_b + "\r\n" +
                                         "77|Not rated here (1990)|01-Jan-1990||" + flags_b + "\n" + "30|unknown|||" +
                                         flags_unknown + "\n");
  const seqrec::data::MovieInfo m = seqrec::data::read_ml100k_items(p, x);
  REQUIRE(m.titles.size() == 5);
  CHECK(m.titles[0].empty());
  CHECK(m.titles[static_cast<std::size_t>(x.items.dense(10))] == "Toy Story (1995)");
  CHECK(m.titles[static_cast<std::size_t>(x.items.dense(20))] == "Mis\xe9rables, Les (1995)");  // latin-1 byte kept
  CHECK(m.release_dates[static_cast<std::size_t>(x.items.dense(10))] == "01-Jan-1995");
  CHECK(m.release_dates[static_cast<std::size_t>(x.items.dense(30))].empty());
  CHECK(m.genres.num_attributes() == 19);
  REQUIRE(m.genres.names.size() == 19);
  CHECK(m.genres.names[3] == "Animation");
  CHECK(attributes_of(m.genres, x, 10) == std::vector<std::int64_t>{3, 4, 5});  // Animation, Children's, Comedy
  CHECK(attributes_of(m.genres, x, 20) == std::vector<std::int64_t>{8});        // Drama
  CHECK(attributes_of(m.genres, x, 30) == std::vector<std::int64_t>{0});        // unknown
  CHECK(m.genres.skipped_items == 1);
  CHECK(m.genres.missing_items == 1);  // item 40
}

TEST_CASE("ML-100K u.item: malformed lines", "[data][attributes]") {
  const std::string flags = "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
  expect_parse_error(read_items, "10|Toy Story (1995)|01-Jan-1995||url" + flags + "\n20|x|||url|0|1\n", 2,
                     "expected 24 fields, got 7");
  expect_parse_error(read_items, "10|T|d||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|2|0\n", 1,
                     "field 23 '2' is not a 0/1 genre flag");
  expect_parse_error(read_items, "x|T|d||url" + flags + "\n", 1, "field 1 'x' is not an integer");
  expect_parse_error(read_items, "0|T|d||url" + flags + "\n", 1, "field 1 '0' is not a valid item id");
  expect_parse_error(read_items, "10|T|d||url" + flags + "\n10|T|d||url" + flags + "\n", 2, "item 10 is listed twice");
  expect_parse_error(read_items, "", 1, "empty file");
}

TEST_CASE("ML-100K u.user: age, gender, occupation numbered by name, zip as text", "[data][attributes]") {
  TempDir dir;
  const Interactions x = small_interactions();
  const auto p = dir.write("u.user", "1|24|M|technician|85711\n3|23|F|writer|T8H1N\n8|40|M|artist|00000\n");
  const seqrec::data::UserInfo u = seqrec::data::read_ml100k_users(p, x);
  const auto d1 = static_cast<std::size_t>(x.users.dense(1));
  const auto d2 = static_cast<std::size_t>(x.users.dense(2));
  const auto d3 = static_cast<std::size_t>(x.users.dense(3));
  REQUIRE(u.age.size() == 3);
  CHECK(u.age[d1] == 24);
  CHECK(u.gender[d1] == 'M');
  CHECK(u.zip[d3] == "T8H1N");
  CHECK(u.gender[d3] == 'F');
  CHECK(u.occupations == std::vector<std::string>{"technician", "writer"});  // only listed users' occupations
  CHECK(u.occupations[static_cast<std::size_t>(u.occupation[d1])] == "technician");
  CHECK(u.occupations[static_cast<std::size_t>(u.occupation[d3])] == "writer");
  CHECK(u.age[d2] == -1);  // user 2 is not in the file
  CHECK(u.gender[d2] == '?');
  CHECK(u.occupation[d2] == -1);
  CHECK(u.skipped_users == 1);
  CHECK(u.missing_users == 1);
  expect_parse_error(read_users, "1|24|M|technician|85711\n2|30|X|writer|1\n", 2,
                     "field 3 'X' is not a gender (M or F)");
  expect_parse_error(read_users, "1|old|M|technician|85711\n", 1, "field 2 'old' is not an integer");
  expect_parse_error(read_users, "1|24|M|technician\n", 1, "expected 5 fields, got 4");
  expect_parse_error(read_users, "1|24|M||85711\n", 1, "field 4 is empty");
  expect_parse_error(read_users, "1|24|M|a|1\n1|24|M|a|1\n", 2, "user 1 is listed twice");
}

TEST_CASE("ML-1M movies.dat and users.dat", "[data][attributes]") {
  TempDir dir;
  const Interactions x = small_interactions();
  const auto movies = dir.write("movies.dat",
                                "10::Toy Story (1995)::Animation|Children's|Comedy\n"
                                "20::Heat (1995)::Action|Crime|Thriller|Noir-ish\n"
                                "30::Nothing (2000)::(no genres listed)\n"
                                "50::Elsewhere (1999)::Drama\n");
  const seqrec::data::MovieInfo m = seqrec::data::read_ml1m_movies(movies, x);
  CHECK(m.titles[static_cast<std::size_t>(x.items.dense(20))] == "Heat (1995)");
  CHECK(m.genres.num_attributes() == 20);  // 19 known genres + "Noir-ish"
  CHECK(m.genres.names[19] == "Noir-ish");
  CHECK(attributes_of(m.genres, x, 10) == std::vector<std::int64_t>{2, 3, 4});
  CHECK(attributes_of(m.genres, x, 20) == std::vector<std::int64_t>{0, 5, 15, 19});
  CHECK(attributes_of(m.genres, x, 30).empty());
  CHECK(m.genres.skipped_items == 1);
  CHECK(m.genres.missing_items == 1);
  expect_parse_error(read_movies, "10::Toy Story (1995)\n", 1, "expected 3 fields, got 2");
  expect_parse_error(read_movies, "10::T::Drama||Comedy\n", 1, "has an empty genre");

  const auto users = dir.write("users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
  const seqrec::data::UserInfo u = seqrec::data::read_ml1m_users(users, x);
  const auto d1 = static_cast<std::size_t>(x.users.dense(1));
  CHECK(u.gender[d1] == 'F');
  CHECK(u.age[d1] == 1);
  CHECK(u.occupations[static_cast<std::size_t>(u.occupation[d1])] == "K-12 student");
  CHECK(u.zip[d1] == "48067");
  CHECK(u.missing_users == 1);
  expect_parse_error(read_users_1m, "1::F::1::21::48067\n", 1, "field 4 '21' is not an occupation code (0..20)");
  expect_parse_error(read_users_1m, "1::F::1::1\n", 1, "expected 5 fields, got 4");
}

TEST_CASE("real side information matches the interactions", "[data][attributes][real]") {
  using seqrec::data::data_file;
  using seqrec::data::has_data_file;
  if (has_data_file("beauty/beauty.txt") && has_data_file("beauty/beauty_item2attributes.json")) {
    const Interactions x = seqrec::data::read_user_lines(data_file("beauty/beauty.txt"));
    const ItemAttributes a =
        seqrec::data::read_item_attributes_json(data_file("beauty/beauty_item2attributes.json"), x);
    CHECK(a.num_items() == 12101);
    CHECK(a.covered_items() == 12101);
    CHECK(a.skipped_items == 0);
    CHECK(a.missing_items == 0);
    CHECK(a.num_attributes() == 637);
    CHECK(attributes_of(a, x, 4) == std::vector<std::int64_t>{1, 2, 3});  // the file's first entry
  } else {
    WARN("beauty/ not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
  if (has_data_file("ml-100k/u.data") && has_data_file("ml-100k/u.item") && has_data_file("ml-100k/u.user")) {
    const Interactions x = seqrec::data::read_ml100k(data_file("ml-100k/u.data"));
    const seqrec::data::MovieInfo m = seqrec::data::read_ml100k_items(data_file("ml-100k/u.item"), x);
    CHECK(m.genres.skipped_items == 0);
    CHECK(m.genres.missing_items == 0);
    CHECK(m.genres.covered_items() == 1682);
    CHECK(m.titles[static_cast<std::size_t>(x.items.dense(1))] == "Toy Story (1995)");
    CHECK(m.titles[static_cast<std::size_t>(x.items.dense(543))] == "Mis\xe9rables, Les (1995)");
    const seqrec::data::UserInfo u = seqrec::data::read_ml100k_users(data_file("ml-100k/u.user"), x);
    CHECK(u.skipped_users == 0);
    CHECK(u.missing_users == 0);
    CHECK(u.occupations.size() == 21);
    CHECK(u.occupations.front() == "administrator");
    const auto d1 = static_cast<std::size_t>(x.users.dense(1));
    CHECK(u.age[d1] == 24);
    CHECK(u.gender[d1] == 'M');
    CHECK(u.occupations[static_cast<std::size_t>(u.occupation[d1])] == "technician");
    CHECK(u.zip[d1] == "85711");
  } else {
    WARN("ml-100k/ not under " << seqrec::data::data_root() << ": skipped (set SEQREC_DATA)");
  }
}
