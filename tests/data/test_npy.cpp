#include "support/backends.hpp"

#include <seqrec/data/npy.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace seqrec::test {

namespace {

namespace fs = std::filesystem;

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path =
        fs::temp_directory_path() / ("seqrec_test_npy_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

template <class T>
T value_at(std::size_t i, std::size_t j) {
  if constexpr (std::is_floating_point_v<T>)
    return T(0.25) * T(i) - T(1.5) * T(j) + T(1) / T(3);
  else
    return static_cast<T>(1000 * i) - static_cast<T>(j) + (sizeof(T) == 8 ? (T(1) << 40) : T(7));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The bytes NumPy's np.save writes for a header (format 1.0, padded with spaces to a multiple of 64).
std::string numpy_header(const std::string& dict) {
  std::string h = dict;
  const std::size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  return out + h;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a seqrec::Error");
  return Error(Errc::invalid_argument, "unreachable", __FILE__, __LINE__);
}

}  // namespace

TEMPLATE_TEST_CASE("npy round trip of device views", "[data][npy]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  TempDir dir;

  for (auto [rows, cols] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 1}, {3, 4}, {5, 1}, {1, 7}, {0, 3}}) {
    View2<T, Space> a("test::a", rows, cols);
    auto h = Kokkos::create_mirror_view(a);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) h(i, j) = value_at<T>(i, j);
    Kokkos::deep_copy(a, h);
    const fs::path file = dir.path / ("a_" + std::to_string(rows) + "x" + std::to_string(cols) + ".npy");
    data::save_npy(file, a);

    const auto header = data::read_npy_header(file);
    CHECK(header.descr == (sizeof(T) == 4 ? "<f4" : "<f8"));
    CHECK_FALSE(header.fortran_order);
    CHECK(header.shape == std::vector<std::uint64_t>{rows, cols});
    CHECK(header.data_offset % 64 == 0);  // NumPy's alignment

    const auto b = data::load_npy<View2<T, Space>>(file);
    REQUIRE(b.extent(0) == rows);
    REQUIRE(b.extent(1) == cols);
    auto hb = to_host(b);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) CHECK(hb(i, j) == h(i, j));  // bit-exact

    View2<T, Space> c("test::c", rows, cols);
    data::load_npy_into(file, c);
    auto hc = to_host(c);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) CHECK(hc(i, j) == h(i, j));
  }

  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(9)}) {
    auto v = from_vector<Space, T>([&] {
      std::vector<T> x;
      for (std::size_t i = 0; i < n; ++i) x.push_back(value_at<T>(i, 2));
      return x;
    }());
    const fs::path file = dir.path / ("v" + std::to_string(n) + ".npy");
    data::save_npy(file, v);
    const auto w = data::load_npy<View1<T, Space>>(file, "loaded");
    REQUIRE(w.extent(0) == n);
    CHECK(w.label() == "seqrec::loaded");
    auto hw = to_host(w);
    for (std::size_t i = 0; i < n; ++i) CHECK(hw(i) == value_at<T>(i, 2));
  }
}

TEMPLATE_TEST_CASE("npy round trip of every supported dtype, layouts and strides", "[data][npy]", float, double,
                   std::int32_t, std::int64_t) {
  using T = TestType;
  using HostView2 = Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  TempDir dir;

  // A column-major view and a strided subview are written in C order, as NumPy reads them.
  Kokkos::View<T**, Kokkos::LayoutLeft, Kokkos::HostSpace> left("test::left", 4, 3);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) left(i, j) = value_at<T>(i, j);
  data::save_npy(dir.path / "left.npy", left);
  const auto a = data::load_npy<HostView2>(dir.path / "left.npy");
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(a(i, j) == left(i, j));

  auto column = Kokkos::subview(left, Kokkos::ALL, 1);  // rank 1, stride 1; and a row: stride 4
  auto row = Kokkos::subview(left, 2, Kokkos::ALL);
  data::save_npy(dir.path / "row.npy", row);
  data::save_npy(dir.path / "column.npy", column);
  const auto r = data::load_npy<Kokkos::View<T*, Kokkos::HostSpace>>(dir.path / "row.npy");
  const auto c = data::load_npy<Kokkos::View<T*, Kokkos::HostSpace>>(dir.path / "column.npy");
  REQUIRE(r.extent(0) == 3);
  REQUIRE(c.extent(0) == 4);
  for (std::size_t j = 0; j < 3; ++j) CHECK(r(j) == left(2, j));
  for (std::size_t i = 0; i < 4; ++i) CHECK(c(i) == left(i, 1));

  // Loading into a LayoutLeft view works too.
  Kokkos::View<T**, Kokkos::LayoutLeft, Kokkos::HostSpace> back("test::back", 4, 3);
  data::load_npy_into(dir.path / "left.npy", back);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(back(i, j) == left(i, j));

  // The in-memory twins agree with the files.
  CHECK(data::to_npy(left) == slurp(dir.path / "left.npy"));
}

TEST_CASE("npy reads what NumPy writes, C and Fortran order", "[data][npy]") {
  using HostView2 = Kokkos::View<std::int64_t**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  // np.arange(6).reshape(2, 3) in C order, then the same array saved with order='F'.
  const std::string c_order = numpy_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }") +
                              raw(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
  const std::string f_order = numpy_header("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }") +
                              raw(std::vector<std::int64_t>{0, 3, 1, 4, 2, 5});
  for (const auto& bytes : {c_order, f_order}) {
    const auto v = data::parse_npy<HostView2>(bytes, "mem.npy");
    REQUIRE(v.extent(0) == 2);
    REQUIRE(v.extent(1) == 3);
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 3; ++j) CHECK(v(i, j) == std::int64_t(3 * i + j));
  }
  // A 1-d shape is written "(n,)".
  const std::string one =
      numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + raw(std::vector<float>{1.5f, -2.0f});
  const auto v = data::parse_npy<Kokkos::View<float*, Kokkos::HostSpace>>(one, "one.npy");
  REQUIRE(v.extent(0) == 2);
  CHECK(v(1) == -2.0f);
}

TEST_CASE("npy reads format versions 2.0 and 3.0 and long headers", "[data][npy]") {
  using HostView2 = Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string data = raw(std::vector<float>{1, 2, 3, 4});
  // (version, total header bytes): a 4-byte length field for 2.0 and 3.0; a length of 182 (0xb6) and one of 4022
  // (0x0fb6), whose low byte has its high bit set.
  for (auto [version, total] : std::vector<std::pair<int, std::size_t>>{{2, 192}, {3, 128}, {1, 192}, {1, 4032}}) {
    const std::size_t len_bytes = version == 1 ? 2 : 4;
    std::string h = dict;
    h.append(total - 8 - len_bytes - h.size() - 1, ' ');
    h.push_back('\n');
    std::string bytes = "\x93NUMPY";
    bytes.push_back(static_cast<char>(version));
    bytes.push_back('\x00');
    for (std::size_t k = 0; k < len_bytes; ++k) bytes.push_back(static_cast<char>((h.size() >> (8 * k)) & 0xff));
    bytes += h + data;
    REQUIRE(bytes.size() == total + 16);
    const auto header = data::parse_npy_header(bytes, "v.npy");
    CHECK(header.data_offset == total);
    const auto v = data::parse_npy<HostView2>(bytes, "v.npy");
    CHECK(v(0, 0) == 1.0f);
    CHECK(v(1, 1) == 4.0f);
  }
}

TEST_CASE("npy load errors say what was expected and what the file holds", "[data][npy]") {
  using F2 = Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  using F1 = Kokkos::View<float*, Kokkos::HostSpace>;
  using D2 = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  TempDir dir;
  D2 d("test::d", 2, 3);
  Kokkos::deep_copy(d, 1.0);
  const fs::path file = dir.path / "d.npy";
  data::save_npy(file, d);
  const std::string good = slurp(file);

  SECTION("wrong dtype") {
    const Error e = error_of([&] { (void)data::load_npy<F2>(file); });
    CHECK(e.code() == Errc::invalid_argument);
    CHECK_THAT(std::string(e.what()), Catch::Contains(file.string() + ": dtype: expected '<f4' (float32), got '<f8' "
                                                                      "(float64)"));
    const Error i = error_of(
        [&] { (void)data::load_npy<Kokkos::View<std::int32_t**, Kokkos::LayoutRight, Kokkos::HostSpace>>(file); });
    CHECK_THAT(std::string(i.what()), Catch::Contains("expected '<i4' (int32), got '<f8' (float64)"));
  }
  SECTION("wrong rank and wrong shape") {
    const Error e = error_of([&] { (void)data::load_npy<Kokkos::View<double*, Kokkos::HostSpace>>(file); });
    CHECK(e.code() == Errc::shape_mismatch);
    CHECK_THAT(std::string(e.what()), Catch::Contains("rank: expected 1, got 2 (shape [2, 3])"));
    D2 wrong("test::wrong", 3, 2);
    const Error s = error_of([&] { data::load_npy_into(file, wrong); });
    CHECK(s.code() == Errc::shape_mismatch);
    CHECK_THAT(std::string(s.what()), Catch::Contains("shape: expected [3, 2], got [2, 3]"));
  }
  SECTION("truncated data, truncated header, extra bytes") {
    const Error e = error_of([&] { (void)data::parse_npy<D2>(good.substr(0, good.size() - 5), "cut.npy"); });
    CHECK(e.code() == Errc::parse);
    CHECK_THAT(std::string(e.what()),
               Catch::Contains("cut.npy: truncated .npy data: shape [2, 3] of '<f8' (float64) needs 48 bytes, the "
                               "file has 43"));
    for (std::size_t n : {std::size_t(7), std::size_t(9), std::size_t(30)}) {
      const Error h = error_of([&] { (void)data::parse_npy<D2>(good.substr(0, n), "head.npy"); });
      CHECK(h.code() == Errc::parse);
      CHECK_THAT(std::string(h.what()), Catch::Contains("head.npy: truncated .npy header"));
    }
    const Error x = error_of([&] { (void)data::parse_npy<D2>(good + "zz", "long.npy"); });
    CHECK_THAT(std::string(x.what()), Catch::Contains("long.npy: .npy data too long"));
    // Through a file as well.
    spit(dir.path / "cut.npy", good.substr(0, good.size() - 8));
    const Error f = error_of([&] { (void)data::load_npy<D2>(dir.path / "cut.npy"); });
    CHECK_THAT(std::string(f.what()), Catch::Contains("cut.npy: truncated .npy data"));
  }
  SECTION("not an npy file, malformed headers, missing file") {
    spit(dir.path / "text.npy", "user item\n1 2\n");
    const Error e = error_of([&] { (void)data::load_npy<F1>(dir.path / "text.npy"); });
    CHECK(e.code() == Errc::parse);
    CHECK_THAT(std::string(e.what()), Catch::Contains("text.npy: not a .npy file"));
    const Error empty = error_of([&] { (void)data::parse_npy<F1>("", "empty.npy"); });
    CHECK_THAT(std::string(empty.what()), Catch::Contains("empty.npy: not a .npy file"));

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", "fortran_order must be True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", "non-negative integer in the shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", "unexpected key 'extra'"},
        {"['descr', '<f4']", "expected '{'"},
    };
    for (const auto& [dict, what] : bad) {
      const Error h = error_of([&] {
        (void)data::parse_npy<F1>(numpy_header(dict) + raw(std::vector<float>{1, 2}), "h.npy");
      });
      CHECK(h.code() == Errc::parse);
      CHECK_THAT(std::string(h.what()), Catch::Contains("h.npy: malformed .npy header") && Catch::Contains(what));
    }
    const Error big = error_of([&] {
      (void)data::parse_npy<F1>(numpy_header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }") + "abcd",
                                "big.npy");
    });
    CHECK(big.code() == Errc::invalid_argument);
    CHECK_THAT(std::string(big.what()), Catch::Contains("got '>f4' (float32, big-endian)"));
    const Error obj = error_of([&] {
      (void)data::parse_npy<F1>(numpy_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }") + "abcdefgh",
                                "obj.npy");
    });
    CHECK(obj.code() == Errc::unsupported);
    std::string v9 = good;
    v9[6] = 9;
    CHECK(error_of([&] { (void)data::parse_npy<D2>(v9, "v9.npy"); }).code() == Errc::unsupported);

    const Error io = error_of([&] { (void)data::load_npy<F1>(dir.path / "missing.npy"); });
    CHECK(io.code() == Errc::io);
  }
}

TEST_CASE("npy files are written atomically", "[data][npy]") {
  using F2 = Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  TempDir dir;
  F2 a("test::a", 3, 2), b("test::b", 2, 5);
  Kokkos::deep_copy(a, 1.0f);
  Kokkos::deep_copy(b, 2.0f);
  const fs::path file = dir.path / "scores.npy";
  data::save_npy(file, a);
  data::save_npy(file, b);  // replaces the old file whole
  CHECK(dir.entries() == std::vector<std::string>{"scores.npy"});
  const auto loaded = data::load_npy<F2>(file);
  CHECK(loaded.extent(0) == 2);
  CHECK(loaded(1, 4) == 2.0f);

  // A write that cannot finish (the target is a directory) leaves nothing behind and reports I/O.
  fs::create_directories(dir.path / "taken.npy");
  const Error e = error_of([&] { data::save_npy(dir.path / "taken.npy", a); });
  CHECK(e.code() == Errc::io);
  auto entries = dir.entries();
  std::sort(entries.begin(), entries.end());
  CHECK(entries == std::vector<std::string>{"scores.npy", "taken.npy"});
  CHECK(fs::is_directory(dir.path / "taken.npy"));
  // Into a missing directory: an error, no file.
  CHECK(error_of([&] { data::save_npy(dir.path / "no" / "such.npy", a); }).code() == Errc::io);
  CHECK_FALSE(fs::exists(dir.path / "no"));
}

}  // namespace seqrec::test
