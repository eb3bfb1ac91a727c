#include "support/backends.hpp"

#include <seqrec/core/block_table.hpp>
#include <seqrec/core/parameter.hpp>

#include <catch2/catch.hpp>

#include <vector>

using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("block table: one launch visits every element of every buffer group once", "[core][blocks]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View1<T, Space>;
  using Table = seqrec::BlockTable<T, Space, 2>;
  Space space;
  // Lengths around the block size (3): shorter, equal, longer and not a multiple, empty.
  const std::vector<seqrec::index_t> lengths = {1, 3, 7, 0, 6};
  std::vector<typename Table::group> groups;
  std::vector<V> src, dst;
  for (std::size_t p = 0; p < lengths.size(); ++p) {
    std::vector<T> values;
    for (seqrec::index_t j = 0; j < lengths[p]; ++j) values.push_back(T(100 * p + j));
    src.push_back(seqrec::test::from_vector<Space, T>(values, "src"));
    dst.push_back(V("dst", lengths[p]));
    groups.push_back({dst.back(), src.back()});
  }
  Table table(space, groups, 3);
  CHECK(table.numel() == 17);
  CHECK(table.num_blocks() == 1 + 1 + 3 + 0 + 2);
  // dst += src + 1: a visited-twice element would show 2 * src + 2, a missed one 0.
  table.for_each(
      space, "test",
      KOKKOS_LAMBDA(const typename Table::pointers& b, seqrec::index_t j) { b[0][j] += b[1][j] + T(1); });
  space.fence();
  for (std::size_t p = 0; p < lengths.size(); ++p) {
    auto h = seqrec::to_host(dst[p]);
    for (seqrec::index_t j = 0; j < lengths[p]; ++j) CHECK(h(j) == T(100 * p + j + 1));
  }
  // Buffers of one group must have equal lengths.
  CHECK_THROWS_WITH(Table(space, {{V("a", 4), V("b", 5)}}), Contains("length of buffer 1 of group 0"));
  CHECK_THROWS_WITH(Table(space, groups, 0), Contains("block size must be >= 1"));
  Table empty(space, {});
  CHECK(empty.num_blocks() == 0);
  empty.for_each(space, "empty", KOKKOS_LAMBDA(const typename Table::pointers&, seqrec::index_t){});
}

TEMPLATE_TEST_CASE("zero_grad clears every gradient, also of parameters added after the first call",
                   "[core][blocks][parameter]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> set;
  auto a = set.add(space, "a", {5000});  // more than one default block
  Kokkos::deep_copy(a.grad(), T(3));
  set.zero_grad(space);
  auto b = set.add(space, "b", {2, 3});
  Kokkos::deep_copy(a.grad(), T(1));
  Kokkos::deep_copy(b.grad(), T(2));
  Kokkos::deep_copy(b.value(), T(7));
  set.zero_grad(space);
  space.fence();
  for (const auto& p : set) {
    auto g = seqrec::to_host(p.grad());
    for (std::size_t i = 0; i < g.extent(0); ++i) REQUIRE(g(i) == T(0));
  }
  CHECK(seqrec::to_host(b.value())(5) == T(7));  // values untouched
}
