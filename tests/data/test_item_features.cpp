#include "support/backends.hpp"

#include <seqrec/data/item_features.hpp>
#include <seqrec/data/npy.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace seqrec::test {

namespace {

namespace fs = std::filesystem;
using Catch::Contains;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("seqrec_test_item_features_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Original ids 10, 20, 30, 40 get dense ids 1..4, like Interactions::items.
data::IdMap four_items() {
  data::IdMap m{1};
  for (std::int64_t id : {10, 20, 30, 40}) m.insert(id);
  return m;
}

// A value that tells which item (by original id) and which column it belongs to, exact in float.
double feature(std::int64_t id, std::size_t k) { return 0.5 * double(id) + 0.25 * double(k) - 3.0; }

template <class T>
void save_features(const fs::path& p, const std::vector<std::int64_t>& ids, std::size_t dim) {
  Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace> v("test::features", ids.size(), dim);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::size_t k = 0; k < dim; ++k) v(i, k) = static_cast<T>(feature(ids[i], k));
  data::save_npy(p, v);
}

template <class I>
void save_ids(const fs::path& p, const std::vector<std::int64_t>& ids) {
  Kokkos::View<I*, Kokkos::HostSpace> v("test::ids", ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) v(i) = static_cast<I>(ids[i]);
  data::save_npy(p, v);
}

// Raw .npy bytes with any header dictionary (dtypes save_npy does not write).
void save_raw(const fs::path& p, const std::string& dict, const std::string& data) {
  std::string h = dict;
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  std::ofstream f(p, std::ios::binary);
  f << out << h << data;
}

void check_aligned(const data::ItemFeatures& f, const data::IdMap& items, std::size_t dim) {
  REQUIRE(f.num_items == items.size());
  REQUIRE(f.dim == index_t(dim));
  REQUIRE(f.values.size() == (items.size() + 1) * dim);
  for (std::size_t k = 0; k < dim; ++k) CHECK(f.at(0, index_t(k)) == 0.0);
  for (id_t d = 1; d <= items.size(); ++d)
    for (std::size_t k = 0; k < dim; ++k) CHECK(f.at(d, index_t(k)) == feature(items.original(d), k));
}

}  // namespace

TEST_CASE("item features align shuffled rows with dense ids, every dtype pair", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const std::vector<std::int64_t> shuffled{30, 10, 40, 20};
  const std::size_t dim = 3;

  int pair = 0;
  for (bool f64 : {false, true})
    for (bool i64 : {false, true}) {
      const fs::path feats = dir.path / ("f" + std::to_string(pair) + ".npy");
      const fs::path ids = dir.path / ("i" + std::to_string(pair++) + ".npy");
      f64 ? save_features<double>(feats, shuffled, dim) : save_features<float>(feats, shuffled, dim);
      i64 ? save_ids<std::int64_t>(ids, shuffled) : save_ids<std::int32_t>(ids, shuffled);
      const auto f = data::read_item_features(feats, items, ids);
      INFO("float64 " << f64 << ", int64 ids " << i64);
      CHECK(f.dtype == (f64 ? "float64" : "float32"));
      CHECK(f.extra_rows == 0);
      CHECK(f.source == feats.string());
      CHECK(f.ids_source == ids.string());
      check_aligned(f, items, dim);
    }

  // float64 values that float32 cannot hold come back exactly.
  {
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> v("test::precise", 4, 1);
    for (std::size_t i = 0; i < 4; ++i) v(i, 0) = 1.0 + double(i + 1) * 1e-12;
    data::save_npy(dir.path / "precise.npy", v);
    save_ids<std::int64_t>(dir.path / "precise.ids.npy", {10, 20, 30, 40});
    const auto f = data::read_item_features(dir.path / "precise.npy", items);
    for (id_t d = 1; d <= 4; ++d) CHECK(f.at(d, 0) == 1.0 + double(d) * 1e-12);
  }
}

TEST_CASE("item features: the default ids path is <stem>.ids.npy beside the features", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const std::vector<std::int64_t> order{40, 30, 20, 10};
  CHECK(data::default_item_feature_ids_path("/a/b/ml100k-minilm.npy") == fs::path("/a/b/ml100k-minilm.ids.npy"));
  save_features<float>(dir.path / "ml100k-minilm.npy", order, 2);
  save_ids<std::int64_t>(dir.path / "ml100k-minilm.ids.npy", order);
  const auto f = data::read_item_features(dir.path / "ml100k-minilm.npy", items);
  CHECK(f.ids_source == (dir.path / "ml100k-minilm.ids.npy").string());
  check_aligned(f, items, 2);

  // Without that file, the message names the path it looked for.
  save_features<float>(dir.path / "lonely.npy", order, 2);
  const std::string msg = message_of([&] { data::read_item_features(dir.path / "lonely.npy", items); });
  CHECK_THAT(msg, Contains("lonely.ids.npy") && Contains("does not exist"));
  // An explicit path that does not exist is an I/O error naming it.
  CHECK_THROWS_WITH(data::read_item_features(dir.path / "lonely.npy", items, dir.path / "nope.npy"),
                    Contains("nope.npy"));
}

TEST_CASE("item features: to_device gives a [(num_items + 1), F] view", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const std::vector<std::int64_t> order{20, 40, 10, 30};
  save_features<double>(dir.path / "x.npy", order, 5);
  save_ids<std::int32_t>(dir.path / "x.ids.npy", order);
  const auto f = data::read_item_features(dir.path / "x.npy", items);
  Kokkos::DefaultExecutionSpace space;
  const auto v = f.to_device<float>(space);
  REQUIRE(v.extent(0) == 5);
  REQUIRE(v.extent(1) == 5);
  auto h = to_host(v);
  for (std::size_t k = 0; k < 5; ++k) CHECK(h(0, k) == 0.0f);
  for (id_t d = 1; d <= 4; ++d)
    for (std::size_t k = 0; k < 5; ++k) CHECK(h(d, k) == static_cast<float>(feature(items.original(d), k)));
  const auto w = f.to_device<double>(Kokkos::Serial{}, "named");
  CHECK(w.label() == "seqrec::named");
  CHECK(w(3, 2) == f.at(3, 2));
}

TEST_CASE("item features: missing, extra and duplicate ids", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const auto feats = dir.path / "f.npy", ids = dir.path / "f.ids.npy";

  // Item 30 (dense 3) has no row.
  save_features<float>(feats, {10, 40, 20}, 2);
  save_ids<std::int64_t>(ids, {10, 40, 20});
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("f.npy") && Contains("missing id 30") &&
                                                                Contains("dense item 3") && Contains("1 have none"));
  // Every row present but two dataset items missing: counted.
  save_features<float>(feats, {40, 10}, 2);
  save_ids<std::int64_t>(ids, {40, 10});
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("missing id 20") && Contains("2 have none"));

  // Id 99 is not in the dataset: an error, or skipped and counted with allow_extra.
  const std::vector<std::int64_t> with_extra{99, 20, 10, 7, 40, 30};
  save_features<float>(feats, with_extra, 2);
  save_ids<std::int64_t>(ids, with_extra);
  CHECK_THROWS_WITH(data::read_item_features(feats, items),
                    Contains("f.ids.npy") && Contains("extra id 99 at row 0") && Contains("allow_extra"));
  const auto f = data::read_item_features(feats, items, std::nullopt, true);
  CHECK(f.extra_rows == 2);
  check_aligned(f, items, 2);
  // allow_extra does not excuse a missing item.
  save_features<float>(feats, {99, 20, 10, 40}, 2);
  save_ids<std::int64_t>(ids, {99, 20, 10, 40});
  CHECK_THROWS_WITH(data::read_item_features(feats, items, std::nullopt, true), Contains("missing id 30"));

  // Duplicates, whether or not the id is in the dataset.
  save_features<float>(feats, {10, 20, 30, 20, 40}, 2);
  save_ids<std::int64_t>(ids, {10, 20, 30, 20, 40});
  CHECK_THROWS_WITH(data::read_item_features(feats, items),
                    Contains("f.ids.npy") && Contains("duplicate id 20 at rows 1 and 3"));
  save_features<float>(feats, {10, 20, 30, 40, 99, 99}, 2);
  save_ids<std::int32_t>(ids, {10, 20, 30, 40, 99, 99});
  CHECK_THROWS_WITH(data::read_item_features(feats, items, std::nullopt, true), Contains("duplicate id 99"));

  // The item map must be the items' one (dense ids from 1).
  data::IdMap users{0};
  users.insert(10);
  CHECK_THROWS_WITH(data::read_item_features(feats, users), Contains("must start at 1"));
}

TEST_CASE("item features: dtypes, ranks, shapes and counts", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const std::vector<std::int64_t> order{10, 20, 30, 40};
  const auto feats = dir.path / "f.npy", ids = dir.path / "f.ids.npy";
  save_ids<std::int64_t>(ids, order);

  // Features of an integer dtype, or of float16, or big-endian float32.
  {
    Kokkos::View<std::int32_t**, Kokkos::LayoutRight, Kokkos::HostSpace> v("test::int", 4, 2);
    data::save_npy(feats, v);
  }
  CHECK_THROWS_WITH(
      data::read_item_features(feats, items),
      Contains("f.npy") && Contains("expected '<f4' (float32) or '<f8' (float64)") && Contains("'<i4' (int32)"));
  save_raw(feats, "{'descr': '<f2', 'fortran_order': False, 'shape': (4, 2), }", std::string(16, '\0'));
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("got '<f2' (float16)"));
  save_raw(feats, "{'descr': '>f4', 'fortran_order': False, 'shape': (4, 2), }", std::string(32, '\0'));
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("float32, big-endian"));

  // Ids of a float or unsigned dtype.
  save_features<float>(feats, order, 2);
  {
    Kokkos::View<double*, Kokkos::HostSpace> v("test::float_ids", 4);
    data::save_npy(ids, v);
  }
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("f.ids.npy") &&
                                                                Contains("expected '<i4' (int32) or '<i8' (int64)") &&
                                                                Contains("'<f8' (float64)"));
  save_raw(ids, "{'descr': '<u8', 'fortran_order': False, 'shape': (4,), }", std::string(32, '\0'));
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("uint64"));

  // Wrong ranks.
  save_ids<std::int64_t>(ids, order);
  {
    Kokkos::View<float*, Kokkos::HostSpace> v("test::flat", 8);
    data::save_npy(feats, v);
  }
  CHECK_THROWS_WITH(data::read_item_features(feats, items),
                    Contains("f.npy") && Contains("rank: expected 2") && Contains("got 1 (shape [8])"));
  save_features<float>(feats, order, 2);
  {
    Kokkos::View<std::int64_t**, Kokkos::LayoutRight, Kokkos::HostSpace> v("test::ids2", 4, 1);
    data::save_npy(ids, v);
  }
  CHECK_THROWS_WITH(data::read_item_features(feats, items),
                    Contains("f.ids.npy") && Contains("rank: expected 1") && Contains("[4, 1]"));
  // No feature columns.
  save_raw(feats, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 0), }", "");
  save_ids<std::int64_t>(ids, order);
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("at least one feature column"));

  // Ids count != rows.
  save_features<float>(feats, order, 2);
  save_ids<std::int64_t>(ids, {10, 20, 30});
  CHECK_THROWS_WITH(data::read_item_features(feats, items),
                    Contains("f.ids.npy") && Contains("ids count: expected 4") && Contains("got 3"));

  // A truncated file is npy.hpp's parse error, naming the file.
  save_raw(feats, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", std::string(12, '\0'));
  save_ids<std::int64_t>(ids, order);
  CHECK_THROWS_WITH(data::read_item_features(feats, items), Contains("f.npy") && Contains("truncated"));
}

TEST_CASE("item features: NaN and Inf are refused", "[data][item_features]") {
  TempDir dir;
  const auto items = four_items();
  const std::vector<std::int64_t> order{10, 20, 30, 40, 50};
  const auto feats = dir.path / "f.npy", ids = dir.path / "f.ids.npy";
  save_ids<std::int64_t>(ids, order);
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace> v("test::f", 5, 3);
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t k = 0; k < 3; ++k) v(i, k) = static_cast<float>(feature(order[i], k));
    v(2, 1) = static_cast<float>(bad);
    data::save_npy(feats, v);
    INFO(bad);
    CHECK_THROWS_WITH(data::read_item_features(feats, items, std::nullopt, true),
                      Contains("f.npy") && Contains("non-finite value") && Contains("row 2 (item id 30), column 1"));
    // Also in a row that allow_extra would skip: the file itself is broken.
    v(2, 1) = 0.0f;
    v(4, 0) = static_cast<float>(bad);
    data::save_npy(feats, v);
    CHECK_THROWS_WITH(data::read_item_features(feats, items, std::nullopt, true), Contains("row 4 (item id 50)"));
  }
}

}  // namespace seqrec::test
