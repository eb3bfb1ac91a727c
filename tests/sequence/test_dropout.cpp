#include "support/backends.hpp"

#include <seqrec/sequence/dropout.hpp>

#include <catch2/catch.hpp>

TEMPLATE_TEST_CASE("dropout drops at its rate, rescales, and backward reuses the mask", "[sequence][dropout]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const int n = 40000;
  seqrec::sequence::Dropout<T, Space> drop(T(0.25));
  seqrec::View1<T, Space> x("x", n), y("y", n), dy("dy", n), dx("dx", n);
  Kokkos::deep_copy(x, T(1));
  Kokkos::deep_copy(dy, T(3));
  const seqrec::RandomStream rs(5, 9);
  drop.forward(space, x, y, rs);
  drop.backward(space, dy, dx, rs);
  auto hy = seqrec::to_host(y), hdx = seqrec::to_host(dx);
  int zeros = 0;
  for (int i = 0; i < n; ++i) {
    if (hy(i) == T(0)) {
      ++zeros;
      REQUIRE(hdx(i) == T(0));
    } else {
      REQUIRE(hy(i) == Approx(4.0 / 3.0));
      REQUIRE(hdx(i) == Approx(4.0));
    }
  }
  CHECK(double(zeros) / n == Approx(0.25).margin(0.01));
  // In place, and rate 0 is the identity.
  drop.forward(space, x, x, rs);
  CHECK(seqrec::to_host(x)(0) == hy(0));
  seqrec::sequence::Dropout<T, Space> none(T(0));
  none.forward(space, dy, y, rs);
  CHECK(seqrec::to_host(y)(17) == T(3));
  CHECK_THROWS_AS((seqrec::sequence::Dropout<T, Space>(T(1))), seqrec::Error);
}
