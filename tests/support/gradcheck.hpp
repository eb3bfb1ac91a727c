// Finite-difference gradient checks for backward passes (run them in double).
//
//   auto loss = [&] { layer.forward(...); return seqrec::test::weighted_sum(space, y, r); };
//   layer.backward(...)   // with dy = r, so the analytic gradient of loss is what backward produced
//   seqrec::test::check_gradient(space, x, dx, loss);
#pragma once

#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace seqrec::test {

// sum_i y[i] * r[i] over views of the same shape (any rank, contiguous), accumulated in double.
template <class Space, class Y, class R>
double weighted_sum(const Space& space, const Y& y, const R& r) {
  REQUIRE(y.size() == r.size());
  const auto* yd = y.data();
  const auto* rd = r.data();
  double s = 0;
  Kokkos::parallel_reduce(
      "seqrec::test::weighted_sum", Kokkos::RangePolicy<Space>(space, 0, y.size()),
      KOKKOS_LAMBDA(std::int64_t i, double& acc) { acc += double(yd[i]) * double(rd[i]); }, s);
  return s;
}

namespace detail {
template <class V>
typename V::non_const_value_type get(const V& v, std::size_t i) {
  typename V::non_const_value_type x{};
  Kokkos::deep_copy(
      Kokkos::View<typename V::non_const_value_type, Kokkos::HostSpace>(&x),
      Kokkos::View<typename V::non_const_value_type, typename V::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
          v.data() + i));
  return x;
}
template <class V>
void set(const V& v, std::size_t i, typename V::non_const_value_type x) {
  Kokkos::deep_copy(
      Kokkos::View<typename V::non_const_value_type, typename V::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
          v.data() + i),
      Kokkos::View<typename V::non_const_value_type, Kokkos::HostSpace>(&x));
}
}  // namespace detail

// Compares analytic[i] with (loss(x+eps e_i) - loss(x-eps e_i)) / 2eps on up to `samples` elements of x
// (all when x is small), chosen by a seeded stream. `loss` must recompute from x each call.
template <class Space, class X, class G, class Loss>
void check_gradient(const Space& space, const X& x, const G& analytic, Loss&& loss, const std::string& what,
                    int samples = 64, double eps = 1e-6, double rtol = 1e-6, double atol = 1e-7) {
  REQUIRE(x.size() == analytic.size());
  const std::size_t n = x.size();
  const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, analytic);
  const auto* gd = g.data();
  RandomStream pick(12345, n);
  const std::size_t count = std::min<std::size_t>(n, static_cast<std::size_t>(samples));
  for (std::size_t s = 0; s < count; ++s) {
    const std::size_t i = n <= static_cast<std::size_t>(samples) ? s : pick.below(s, n);
    const auto x0 = detail::get(x, i);
    detail::set(x, i, x0 + eps);
    space.fence();
    const double up = loss();
    detail::set(x, i, x0 - eps);
    space.fence();
    const double down = loss();
    detail::set(x, i, x0);
    space.fence();
    const double numeric = (up - down) / (2 * eps);
    INFO(what << "[" << i << "]: analytic " << gd[i] << ", numeric " << numeric);
    CHECK(std::abs(double(gd[i]) - numeric) <= atol + rtol * std::max(std::abs(numeric), std::abs(double(gd[i]))));
  }
}

}  // namespace seqrec::test
