#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {
void needs_positive(int n) { SEQREC_REQUIRE(n > 0, "n must be positive, got ", n); }
}  // namespace

TEST_CASE("SEQREC_REQUIRE throws seqrec::Error with the check's file:line and the message", "[core][error]") {
  CHECK_NOTHROW(needs_positive(3));
  try {
    needs_positive(-2);
    FAIL("no exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::invalid_argument);
    CHECK(e.message() == "n must be positive, got -2");
    CHECK_THAT(std::string(e.file()), Contains("test_error.cpp"));
    CHECK(e.line() > 0);
    CHECK_THAT(std::string(e.what()), Contains("test_error.cpp:" + std::to_string(e.line()) +
                                               ": invalid argument: n must be positive, got -2"));
  }
}

TEST_CASE("SEQREC_REQUIRE_EQ reports expected and actual", "[core][error]") {
  const int dim = 50;
  try {
    SEQREC_REQUIRE_EQ(dim, 64, "embedding dim");
    FAIL("no exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::shape_mismatch);
    CHECK(e.message() == "embedding dim: expected 64, got 50");
  }
  CHECK_NOTHROW([] { SEQREC_REQUIRE_EQ(4, 4, "x"); }());
}

TEST_CASE("SEQREC_REQUIRE_INDEX rejects negative ids and ids past the end", "[core][error]") {
  auto check = [](long id) { SEQREC_REQUIRE_INDEX(id, 10, "item id"); };
  CHECK_NOTHROW(check(0));
  CHECK_NOTHROW(check(9));
  CHECK_THROWS_WITH(check(10), Contains("item id 10 out of range [0, 10)"));
  CHECK_THROWS_WITH(check(-1), Contains("item id -1 out of range [0, 10)"));
  try {
    check(12);
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::out_of_range);
  }
}

TEST_CASE("SEQREC_REQUIRE_SHAPE names the view and both shapes", "[core][error]") {
  Kokkos::View<float**, Kokkos::HostSpace> v("v", 3, 4);
  CHECK_NOTHROW(SEQREC_REQUIRE_SHAPE(v, "hidden", 3, 4));
  CHECK_THROWS_WITH(SEQREC_REQUIRE_SHAPE(v, "hidden", 3, 5),
                    Contains("shape of 'hidden': expected [3, 5], got [3, 4]"));
  CHECK_THROWS_WITH(SEQREC_REQUIRE_SHAPE(v, "hidden", 3), Contains("expected [3], got [3, 4]"));
}

TEST_CASE("SEQREC_THROW carries the chosen error code", "[core][error]") {
  try {
    SEQREC_THROW(seqrec::Errc::parse, "data.txt:7: expected 2 fields, got 1");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::parse);
    CHECK_THAT(std::string(e.what()), Contains("parse error: data.txt:7: expected 2 fields, got 1"));
  }
}

namespace {
struct GoodComponent {
  using scalar_type = float;
  using execution_space = Kokkos::DefaultHostExecutionSpace;
  using memory_space = execution_space::memory_space;
};
struct NoSpace {
  using scalar_type = float;
};
}  // namespace

TEST_CASE("concepts accept what they should and reject the rest", "[core][concepts]") {
  STATIC_REQUIRE(seqrec::ExecutionSpace<Kokkos::Serial>);
  STATIC_REQUIRE(seqrec::ExecutionSpace<Kokkos::DefaultExecutionSpace>);
  STATIC_REQUIRE_FALSE(seqrec::ExecutionSpace<Kokkos::HostSpace>);
  STATIC_REQUIRE(seqrec::MemorySpace<Kokkos::HostSpace>);
  STATIC_REQUIRE(seqrec::Scalar<float>);
  STATIC_REQUIRE(seqrec::Scalar<double>);
  STATIC_REQUIRE_FALSE(seqrec::Scalar<int>);
  STATIC_REQUIRE_FALSE(seqrec::Scalar<long double>);
  STATIC_REQUIRE(seqrec::ViewOfRank<Kokkos::View<float**>, 2>);
  STATIC_REQUIRE_FALSE(seqrec::ViewOfRank<Kokkos::View<float*>, 2>);
  STATIC_REQUIRE(seqrec::Component<GoodComponent>);
  STATIC_REQUIRE_FALSE(seqrec::Component<NoSpace>);
  STATIC_REQUIRE(seqrec::check_component<GoodComponent>());
  STATIC_REQUIRE(seqrec::is_host_accessible_v<Kokkos::Serial>);
}
