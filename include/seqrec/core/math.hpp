// Math functions usable in kernels on every backend. Kokkos 3.4 keeps them in Kokkos::Experimental;
// later versions moved them to Kokkos::. Everything in seqrec calls these, never either namespace directly.
#pragma once

#include <Kokkos_Core.hpp>

namespace seqrec::math {

#if KOKKOS_VERSION >= 30700
namespace kmath = ::Kokkos;
#else
namespace kmath = ::Kokkos::Experimental;
#endif

#define SEQREC_MATH_UNARY(f)        \
  template <class T>                \
  KOKKOS_INLINE_FUNCTION T f(T x) { \
    return kmath::f(x);             \
  }
SEQREC_MATH_UNARY(exp)
SEQREC_MATH_UNARY(log)
SEQREC_MATH_UNARY(log1p)
SEQREC_MATH_UNARY(expm1)
SEQREC_MATH_UNARY(sqrt)
SEQREC_MATH_UNARY(tanh)
SEQREC_MATH_UNARY(fabs)
SEQREC_MATH_UNARY(erf)
SEQREC_MATH_UNARY(cos)
SEQREC_MATH_UNARY(sin)
#undef SEQREC_MATH_UNARY

template <class T>
KOKKOS_INLINE_FUNCTION T pow(T x, T y) {
  return kmath::pow(x, y);
}
template <class T>
KOKKOS_INLINE_FUNCTION T fmax(T x, T y) {
  return kmath::fmax(x, y);
}
template <class T>
KOKKOS_INLINE_FUNCTION T fmin(T x, T y) {
  return kmath::fmin(x, y);
}
template <class T>
KOKKOS_INLINE_FUNCTION bool isfinite(T x) {
  return kmath::isfinite(x);
}

// sigmoid without overflow for large |x|.
template <class T>
KOKKOS_INLINE_FUNCTION T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

// log(sigmoid(x)) = -softplus(-x), accurate for large |x|.
template <class T>
KOKKOS_INLINE_FUNCTION T log_sigmoid(T x) {
  return x >= T(0) ? -log1p(exp(-x)) : x - log1p(exp(x));
}

// softplus(x) = log(1 + e^x).
template <class T>
KOKKOS_INLINE_FUNCTION T softplus(T x) {
  return -log_sigmoid(-x);
}

}  // namespace seqrec::math
