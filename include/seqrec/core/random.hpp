// Seeded, counter-based random numbers. A value depends only on (seed, stream, counter), never on which
// thread draws it, so one seed reproduces a run exactly on Serial and OpenMP whatever the thread count,
// and a CUDA run draws the same integers (floating-point transforms may differ in the last bit).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cmath>
#include <cstdint>

namespace seqrec {

namespace detail {
// SplitMix64's finaliser: a bijection on 64 bits with full avalanche.
KOKKOS_INLINE_FUNCTION std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace detail

// A cheap, trivially copyable key captured into kernels: draw(i) is the i-th number of this stream.
class RandomStream {
 public:
  KOKKOS_DEFAULTED_FUNCTION RandomStream() = default;
  KOKKOS_INLINE_FUNCTION RandomStream(std::uint64_t seed, std::uint64_t stream)
      : key_(detail::mix64(seed ^ detail::mix64(stream + 0x9E3779B97F4A7C15ull))) {}

  KOKKOS_INLINE_FUNCTION std::uint64_t bits(std::uint64_t counter) const {
    return detail::mix64(key_ + (counter + 1) * 0x9E3779B97F4A7C15ull);
  }

  // Uniform in [0, 1), with the type's full mantissa.
  template <class T>
  KOKKOS_INLINE_FUNCTION T uniform(std::uint64_t counter) const {
    // Converted through signed integers: x86 converts those in one instruction, unsigned 64-bit ones not.
    if constexpr (sizeof(T) == 4)
      return T(static_cast<std::int32_t>(bits(counter) >> 40)) * T(5.9604644775390625e-08);  // 2^-24
    else
      return T(static_cast<std::int64_t>(bits(counter) >> 11)) * T(1.1102230246251565e-16);  // 2^-53
  }

  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
  KOKKOS_INLINE_FUNCTION std::uint64_t below(std::uint64_t counter, std::uint64_t n) const {
    const std::uint64_t x = bits(counter) >> 32;
    return (x * n) >> 32;
  }

  // Standard normal (Box-Muller on two draws of this counter).
  template <class T>
  KOKKOS_INLINE_FUNCTION T normal(std::uint64_t counter) const {
    const RandomStream second(key_, 0xA5A5A5A5ull);
    const T u1 = T(1) - uniform<T>(counter);  // (0, 1]: log stays finite
    const T u2 = second.uniform<T>(counter);
    return math::sqrt(T(-2) * math::log(u1)) * math::cos(T(6.283185307179586) * u2);
  }

  KOKKOS_INLINE_FUNCTION std::uint64_t key() const { return key_; }

 private:
  std::uint64_t key_ = 0;
};

// Host-side source of streams: each call to next() names a fresh, independent stream (per epoch, per
// layer...), so the sequence of streams is itself reproducible from the seed.
class RandomSource {
 public:
  explicit RandomSource(std::uint64_t seed) : seed_(seed) {}
  RandomStream next() { return RandomStream(seed_, next_++); }
  RandomStream stream(std::uint64_t id) const { return RandomStream(seed_, id); }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t streams_used() const { return next_; }
  void set_streams_used(std::uint64_t n) { next_ = n; }  // restore after a checkpoint

 private:
  std::uint64_t seed_;
  std::uint64_t next_ = 0;
};

// Kokkos' own pool, for code that prefers a stateful generator (order-dependent on threaded backends).
template <ExecutionSpace Space>
using RandomPool = Kokkos::Random_XorShift64_Pool<Space>;

// v[i] = uniform in [lo, hi), for any rank (the counter is the flat index in LayoutRight order).
template <ExecutionSpace Space, class V>
void fill_uniform(const Space& space, const V& v, RandomStream rs, typename V::value_type lo,
                  typename V::value_type hi) {
  using T = typename V::value_type;
  static_assert(std::is_same_v<typename V::array_layout, Kokkos::LayoutRight>,
                "seqrec::fill_uniform: the view must be LayoutRight and contiguous");
  SEQREC_REQUIRE(v.span_is_contiguous(), "fill_uniform: view '", v.label(), "' is not contiguous");
  T* data = v.data();
  Kokkos::parallel_for(
      "seqrec::fill_uniform", Kokkos::RangePolicy<Space>(space, 0, v.size()),
      KOKKOS_LAMBDA(std::int64_t i) { data[i] = lo + (hi - lo) * rs.uniform<T>(static_cast<std::uint64_t>(i)); });
}

// v[i] = mean + stddev * N(0, 1).
template <ExecutionSpace Space, class V>
void fill_normal(const Space& space, const V& v, RandomStream rs, typename V::value_type mean,
                 typename V::value_type stddev) {
  using T = typename V::value_type;
  static_assert(std::is_same_v<typename V::array_layout, Kokkos::LayoutRight>,
                "seqrec::fill_normal: the view must be LayoutRight and contiguous");
  SEQREC_REQUIRE(v.span_is_contiguous(), "fill_normal: view '", v.label(), "' is not contiguous");
  T* data = v.data();
  Kokkos::parallel_for(
      "seqrec::fill_normal", Kokkos::RangePolicy<Space>(space, 0, v.size()),
      KOKKOS_LAMBDA(std::int64_t i) { data[i] = mean + stddev * rs.normal<T>(static_cast<std::uint64_t>(i)); });
}

// Glorot/Xavier uniform for a weight of fan_in inputs and fan_out outputs: U(-a, a), a = sqrt(6/(in+out)).
template <ExecutionSpace Space, class V>
void fill_xavier_uniform(const Space& space, const V& v, RandomStream rs, index_t fan_in, index_t fan_out) {
  using T = typename V::value_type;
  SEQREC_REQUIRE(fan_in > 0 && fan_out > 0, "fill_xavier_uniform: fan_in and fan_out must be positive, got ", fan_in,
                 " and ", fan_out);
  const T a = static_cast<T>(std::sqrt(6.0 / static_cast<double>(fan_in + fan_out)));
  fill_uniform(space, v, rs, -a, a);
}

}  // namespace seqrec
