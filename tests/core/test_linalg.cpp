#include "support/backends.hpp"

#include <seqrec/core/linalg.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/team_gemm.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using Catch::Matchers::Contains;
using seqrec::index_t;
using seqrec::linalg::Impl;
using seqrec::linalg::Trans;

namespace {

// A host copy of a matrix, row-major, in double.
struct HostMatrix {
  index_t rows = 0, cols = 0;
  std::vector<double> v;
  double operator()(index_t i, index_t j) const { return v[static_cast<std::size_t>(i * cols + j)]; }
};

// Reads any rank-2 view (any layout, any space) through a kernel, so strided subviews need no deep_copy.
template <class Space, class V>
HostMatrix read(const Space& space, const V& view) {
  using T = typename V::non_const_value_type;
  const index_t r = view.extent(0), c = view.extent(1);
  seqrec::View2<T, Space> tmp("tmp", r, c);
  Kokkos::parallel_for(
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {r, c}),
      KOKKOS_LAMBDA(index_t i, index_t j) { tmp(i, j) = view(i, j); });
  auto h = seqrec::to_host(tmp);
  HostMatrix out{r, c, std::vector<double>(static_cast<std::size_t>(r * c))};
  for (index_t i = 0; i < r; ++i)
    for (index_t j = 0; j < c; ++j) out.v[static_cast<std::size_t>(i * c + j)] = static_cast<double>(h(i, j));
  return out;
}

// Values in [-1, 1) from a counter-based stream (the host can regenerate any entry).
template <class Space, class V>
void fill(const Space& space, const V& view, std::uint64_t seed) {
  using T = typename V::value_type;
  const seqrec::RandomStream rs(seed, 7);
  const index_t r = view.extent(0), c = view.extent(1);
  Kokkos::parallel_for(
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {r, c}), KOKKOS_LAMBDA(index_t i, index_t j) {
        view(i, j) = T(2) * rs.uniform<T>(static_cast<std::uint64_t>(i * c + j)) - T(1);
      });
}

template <class T>
T generated(std::uint64_t seed, index_t i, index_t j, index_t cols) {
  return T(2) * seqrec::RandomStream(seed, 7).uniform<T>(static_cast<std::uint64_t>(i * cols + j)) - T(1);
}

template <class Space, class V>
void fill_value(const Space& space, const V& view, typename V::value_type x) {
  const index_t r = view.extent(0), c = view.extent(1);
  Kokkos::parallel_for(
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {r, c}),
      KOKKOS_LAMBDA(index_t i, index_t j) { view(i, j) = x; });
}

// C(i, j) at the given places, read on the device.
template <class Space, class V>
std::vector<double> gather(const Space& space, const V& C, const std::vector<std::pair<index_t, index_t>>& at) {
  Kokkos::View<index_t* [2], Kokkos::HostSpace> idx("idx", at.size());
  for (std::size_t s = 0; s < at.size(); ++s) idx(s, 0) = at[s].first, idx(s, 1) = at[s].second;
  auto idx_d = seqrec::to_space(space, idx);
  Kokkos::View<double*, typename Space::memory_space> got("got", at.size());
  Kokkos::parallel_for(
      Kokkos::RangePolicy<Space>(space, 0, at.size()),
      KOKKOS_LAMBDA(std::size_t s) { got(s) = static_cast<double>(C(idx_d(s, 0), idx_d(s, 1))); });
  auto h = seqrec::to_host(got);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

double op(const HostMatrix& m, Trans t, index_t i, index_t j) { return t == Trans::N ? m(i, j) : m(j, i); }

// Largest |got - ref| over the size of the terms (|alpha| sum |a b| + |beta c|): a relative error that
// stays meaningful where the result cancels to near zero.
double gemm_error(Trans ta, Trans tb, double alpha, const HostMatrix& A, const HostMatrix& B, double beta,
                  const HostMatrix& C0, const HostMatrix& C) {
  const index_t k = ta == Trans::N ? A.cols : A.rows;
  double worst = 0;
  for (index_t i = 0; i < C.rows; ++i)
    for (index_t j = 0; j < C.cols; ++j) {
      double sum = 0, mag = 0;
      for (index_t p = 0; p < k; ++p) {
        const double x = op(A, ta, i, p) * op(B, tb, p, j);
        sum += x;
        mag += std::fabs(x);
      }
      const double c0 = beta == 0 ? 0 : C0(i, j);  // beta == 0: C0 may hold NaN and must not leak
      const double ref = alpha * sum + beta * c0;
      const double err = std::fabs(C(i, j) - ref) / (std::fabs(alpha) * mag + std::fabs(beta * c0) + 1e-300);
      worst = std::max(worst, std::isfinite(C(i, j)) ? err : std::numeric_limits<double>::infinity());
    }
  return worst;
}

const char* name(Trans t) { return t == Trans::N ? "N" : "T"; }
const char* name(Impl i) { return i == Impl::automatic ? "automatic" : "portable"; }

// The layouts gemm must accept. Subviews keep their parent alive.
template <class Space, class T>
struct Make {
  using mem = typename Space::memory_space;
  static auto right(index_t r, index_t c) { return Kokkos::View<T**, Kokkos::LayoutRight, mem>("right", r, c); }
  static auto left(index_t r, index_t c) { return Kokkos::View<T**, Kokkos::LayoutLeft, mem>("left", r, c); }
  // Every other row of a padded row-major parent: unit column stride, row stride 2 (c + 3).
  static auto rows_strided(index_t r, index_t c) {
    Kokkos::View<T***, Kokkos::LayoutRight, mem> parent("parent", r, 2, c + 3);
    return Kokkos::subview(parent, Kokkos::ALL, 1, std::make_pair(index_t(1), c + 1));
  }
  // Every other column: no unit stride at all, so never a BLAS call.
  static auto cols_strided(index_t r, index_t c) {
    Kokkos::View<T***, Kokkos::LayoutRight, mem> parent("parent", r, c, 2);
    return Kokkos::subview(parent, Kokkos::ALL, Kokkos::ALL, 1);
  }
  // An inner block of a column-major parent: unit row stride, column stride r + 5.
  static auto left_block(index_t r, index_t c) {
    Kokkos::View<T**, Kokkos::LayoutLeft, mem> parent("parent", r + 5, c + 2);
    return Kokkos::subview(parent, std::make_pair(index_t(2), r + 2), std::make_pair(index_t(1), c + 1));
  }
};

struct GemmShape {
  index_t m, n, k;
};

// Every transpose pair and implementation over the shapes, with A, B, C made by the given functions.
template <class Space, class T, class MA, class MB, class MC>
void check_gemm(const Space& space, MA make_a, MB make_b, MC make_c, const std::vector<GemmShape>& shapes,
                const char* layouts) {
  for (const auto& s : shapes)
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T})
        for (Impl impl : {Impl::automatic, Impl::portable}) {
          INFO(layouts << ' ' << s.m << 'x' << s.n << 'x' << s.k << " op " << name(ta) << name(tb) << ' '
                       << name(impl));
          auto A = ta == Trans::N ? make_a(s.m, s.k) : make_a(s.k, s.m);
          auto B = tb == Trans::N ? make_b(s.k, s.n) : make_b(s.n, s.k);
          auto C = make_c(s.m, s.n);
          fill(space, A, 11);
          fill(space, B, 12);
          fill(space, C, 13);
          const auto a = read(space, A), b = read(space, B), c0 = read(space, C);
          seqrec::linalg::gemm(space, ta, tb, T(0.75), A, B, T(-0.5), C, impl);
          CHECK(gemm_error(ta, tb, 0.75, a, b, -0.5, c0, read(space, C)) <= seqrec::test::tolerance<T>());
        }
}

template <class T>
constexpr T nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

}  // namespace

TEMPLATE_TEST_CASE("gemm matches a double-precision reference for every transpose, layout and implementation",
                   "[core][linalg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  Space space;
  auto right = [](index_t r, index_t c) { return M::right(r, c); };
  auto left = [](index_t r, index_t c) { return M::left(r, c); };
  auto rows_strided = [](index_t r, index_t c) { return M::rows_strided(r, c); };
  auto cols_strided = [](index_t r, index_t c) { return M::cols_strided(r, c); };
  auto left_block = [](index_t r, index_t c) { return M::left_block(r, c); };

  // Not tile multiples, vectors, a single element, and k past the host kernel's 256-deep blocks with
  // m and n past one tile.
  const std::vector<GemmShape> small = {{37, 23, 19}, {1, 17, 1}, {16, 1, 9}, {1, 1, 1}, {13, 9, 300}};
  const std::vector<GemmShape> large = {{37, 23, 19}, {200, 530, 70}, {97, 41, 300}};
  check_gemm<Space, T>(space, right, right, right, large, "right right right");
  check_gemm<Space, T>(space, left, left, left, small, "left left left");
  check_gemm<Space, T>(space, right, left, right, small, "right left right");
  check_gemm<Space, T>(space, left, right, left, small, "left right left");
  check_gemm<Space, T>(space, rows_strided, left_block, right, small, "rows_strided left_block right");
  check_gemm<Space, T>(space, left_block, rows_strided, rows_strided, small, "left_block rows_strided rows_strided");
  check_gemm<Space, T>(space, cols_strided, right, left_block, small, "cols_strided right left_block");
  check_gemm<Space, T>(space, right, cols_strided, cols_strided, small, "right cols_strided cols_strided");
}

TEMPLATE_TEST_CASE("host gemm split across the space's threads when BLAS runs on one thread", "[core][linalg]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  Space space;
  const int before = seqrec::linalg::blas_threads();
  seqrec::linalg::set_blas_threads(1);
  if constexpr (seqrec::linalg::detail::runs_on_host_v<Space> && seqrec::linalg::has_cblas) {
    // Over 4 MFLOP: one slab per thread (at least 32 rows or columns each); below, or one thread: one call.
    const int threads = space.concurrency();
    CHECK(seqrec::linalg::detail::host_gemm_parts(space, 300, 200, 50) == std::min(threads, 300 / 32));
    CHECK(seqrec::linalg::detail::host_gemm_parts(space, 300, 200, 30) == 1);
  }
  auto right = [](index_t r, index_t c) { return M::right(r, c); };
  auto left = [](index_t r, index_t c) { return M::left(r, c); };
  auto rows_strided = [](index_t r, index_t c) { return M::rows_strided(r, c); };
  auto left_block = [](index_t r, index_t c) { return M::left_block(r, c); };
  // Split along rows (m > n) and along columns (n > m), with slabs of unequal size (m, n odd).
  const std::vector<GemmShape> shapes = {{301, 200, 50}, {120, 701, 40}};
  check_gemm<Space, T>(space, right, right, right, shapes, "split: right right right");
  check_gemm<Space, T>(space, left, left, left, shapes, "split: left left left");
  check_gemm<Space, T>(space, right, left, left, shapes, "split: right left left");
  check_gemm<Space, T>(space, rows_strided, left_block, right, shapes, "split: rows_strided left_block right");
  check_gemm<Space, T>(space, left_block, right, rows_strided, shapes, "split: left_block right rows_strided");
  seqrec::linalg::set_blas_threads(before);
}

TEMPLATE_TEST_CASE("gemm with beta = 0 overwrites C even where it holds NaN", "[core][linalg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  Space space;
  const index_t m = 29, n = 31, k = 17;
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T})
      for (Impl impl : {Impl::automatic, Impl::portable})
        for (int layout = 0; layout < 3; ++layout) {
          INFO("op " << name(ta) << name(tb) << ' ' << name(impl) << " C layout " << layout);
          auto A = ta == Trans::N ? M::right(m, k) : M::right(k, m);
          auto B = tb == Trans::N ? M::left(k, n) : M::left(n, k);
          fill(space, A, 21);
          fill(space, B, 22);
          const auto a = read(space, A), b = read(space, B);
          auto run = [&](auto C) {
            fill_value(space, C, nan<T>());
            const auto c0 = read(space, C);
            seqrec::linalg::gemm(space, ta, tb, T(1.25), A, B, T(0), C, impl);
            return gemm_error(ta, tb, 1.25, a, b, 0.0, c0, read(space, C));
          };
          const double err = layout == 0   ? run(M::right(m, n))
                             : layout == 1 ? run(M::left(m, n))
                                           : run(M::cols_strided(m, n));
          CHECK(err <= seqrec::test::tolerance<T>());
        }
}

TEMPLATE_TEST_CASE("gemm with k = 0 or alpha = 0 gives beta * C without reading A or B", "[core][linalg]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  Space space;
  for (Impl impl : {Impl::automatic, Impl::portable}) {
    INFO(name(impl));
    // k = 0: C = beta * C.
    auto A0 = M::right(7, 0);
    auto B0 = M::right(0, 5);
    auto C = M::right(7, 5);
    fill(space, C, 31);
    const auto c0 = read(space, C);
    seqrec::linalg::gemm(space, Trans::N, Trans::N, T(2), A0, B0, T(-3), C, impl);
    auto c = read(space, C);
    for (index_t i = 0; i < 7; ++i)
      for (index_t j = 0; j < 5; ++j) CHECK(c(i, j) == Approx(-3 * c0(i, j)).epsilon(seqrec::test::tolerance<T>()));
    // k = 0 and beta = 0 over NaN: zeros.
    fill_value(space, C, nan<T>());
    seqrec::linalg::gemm(space, Trans::T, Trans::T, T(2), M::right(0, 7), M::right(5, 0), T(0), C, impl);
    c = read(space, C);
    CHECK(std::all_of(c.v.begin(), c.v.end(), [](double x) { return x == 0.0; }));
    // alpha = 0 with NaN in A: C = beta * C.
    auto A = M::right(7, 4);
    auto B = M::right(4, 5);
    fill_value(space, A, nan<T>());
    fill(space, B, 32);
    fill(space, C, 33);
    const auto c1 = read(space, C);
    seqrec::linalg::gemm(space, Trans::N, Trans::N, T(0), A, B, T(0.5), C, impl);
    c = read(space, C);
    for (index_t i = 0; i < 7; ++i)
      for (index_t j = 0; j < 5; ++j) CHECK(c(i, j) == Approx(0.5 * c1(i, j)).epsilon(seqrec::test::tolerance<T>()));
    // m = 0 or n = 0: nothing to do, nothing touched.
    CHECK_NOTHROW(seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), M::right(0, 4), B, T(0), M::right(0, 5), impl));
    CHECK_NOTHROW(seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), A, M::right(4, 0), T(0), M::right(7, 0), impl));
  }
}

TEMPLATE_TEST_CASE("gemm on the model's shapes: [6400x50]*[50x50] and logits against 23715 items", "[core][linalg]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  const index_t rows = 6400, d = 50, items = 23715;

  SECTION("projection [6400x50]*[50x50], every entry") {
    V X("X", rows, d), W("W", d, d), Y("Y", rows, d);
    fill(space, X, 41);
    fill(space, W, 42);
    const auto x = read(space, X), w = read(space, W);
    for (Impl impl : {Impl::automatic, Impl::portable}) {
      INFO(name(impl));
      fill_value(space, Y, nan<T>());
      const auto y0 = read(space, Y);
      seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), X, W, T(0), Y, impl);
      CHECK(gemm_error(Trans::N, Trans::N, 1.0, x, w, 0.0, y0, read(space, Y)) <= seqrec::test::tolerance<T>());
    }
  }

  SECTION("logits, their item gradient and hidden gradient, on sampled entries") {
    // H [rows, d] and E [items, d] as a SASRec stores them; G stands in for d(loss)/d(logits).
    V H("H", rows, d), E("E", items, d);
    V big(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "logits"), rows, items);
    V Et("dE^T", d, items), dH("dH", rows, d);
    fill(space, H, 51);
    fill(space, E, 52);
    const std::uint64_t seed_g = 53;
    auto h = [&](index_t i, index_t j) { return double(generated<T>(51, i, j, d)); };
    auto e = [&](index_t i, index_t j) { return double(generated<T>(52, i, j, d)); };
    auto g = [&](index_t i, index_t j) { return double(generated<T>(seed_g, i, j, items)); };

    // Sampled (i, j) of a result, read on the device and compared with a host dot product.
    auto check_sampled = [&](const auto& C, index_t k, std::size_t samples, auto&& a_of, auto&& b_of) {
      std::vector<std::pair<index_t, index_t>> at = {{0, 0}, {index_t(C.extent(0)) - 1, index_t(C.extent(1)) - 1}};
      std::uint64_t state = 12345;
      auto next = [&](index_t n) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<index_t>((state >> 33) % static_cast<std::uint64_t>(n));
      };
      while (at.size() < samples) {
        const index_t i = next(C.extent(0));
        at.emplace_back(i, next(C.extent(1)));
      }
      const auto got = gather(space, C, at);
      double worst = 0;
      for (std::size_t s = 0; s < at.size(); ++s) {
        double sum = 0, mag = 0;
        for (index_t p = 0; p < k; ++p) {
          const double x = a_of(at[s].first, p) * b_of(p, at[s].second);
          sum += x;
          mag += std::fabs(x);
        }
        worst = std::max(worst, std::fabs(got[s] - sum) / (mag + 1e-300));
      }
      return worst;
    };

    // logits = H E^T: [6400x50] * [50x23715]. The portable kernel runs on a 2048-item slice: the full
    // width adds 30 s under AddressSanitizer and nothing the smaller shapes do not cover.
    seqrec::linalg::gemm(space, Trans::N, Trans::T, T(1), H, E, T(0), big);
    CHECK(check_sampled(big, d, 3000, h, [&](index_t p, index_t j) { return e(j, p); }) <=
          seqrec::test::tolerance<T>());
    const auto slice = std::make_pair(index_t(0), index_t(2048));
    auto big_slice = Kokkos::subview(big, Kokkos::ALL, slice);
    seqrec::linalg::gemm(space, Trans::N, Trans::T, T(1), H, Kokkos::subview(E, slice, Kokkos::ALL), T(0), big_slice,
                         Impl::portable);
    CHECK(check_sampled(big_slice, d, 3000, h, [&](index_t p, index_t j) { return e(j, p); }) <=
          seqrec::test::tolerance<T>());
    // dE^T = H^T G: [50x6400]^T-form with k = 6400.
    fill(space, big, seed_g);
    seqrec::linalg::gemm(space, Trans::T, Trans::N, T(1), H, big, T(0), Et);
    CHECK(check_sampled(
              Et, rows, 1000, [&](index_t i, index_t p) { return h(p, i); }, g) <= seqrec::test::tolerance<T>());
    // dH = G E: k = 23715.
    seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), big, E, T(0), dH);
    CHECK(check_sampled(dH, items, 300, g, e) <= seqrec::test::tolerance<T>());
  }
}

TEMPLATE_TEST_CASE("gemv matches the reference for both transposes, strided vectors and beta = 0 over NaN",
                   "[core][linalg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  using mem = typename Space::memory_space;
  Space space;
  // A vector as an (n x 1) matrix, so fill and read reuse the matrix helpers; `strided` takes every
  // other element of a parent.
  auto vec = [](index_t n, bool strided) {
    Kokkos::View<T**, Kokkos::LayoutRight, mem> parent("x", n, strided ? 2 : 1);
    return Kokkos::subview(parent, Kokkos::ALL, strided ? 1 : 0);
  };
  auto as_matrix = [](const auto& v) {
    return Kokkos::View<T**, Kokkos::LayoutStride, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
        v.data(), Kokkos::LayoutStride(v.extent(0), v.stride(0), 1, 1));
  };
  struct Shape {
    index_t m, n;  // op(A) is m x n
  };
  for (Shape s : {Shape{37, 23}, Shape{1, 5}, Shape{5, 1}, Shape{40, 300}})
    for (Trans ta : {Trans::N, Trans::T})
      for (Impl impl : {Impl::automatic, Impl::portable})
        for (int layout = 0; layout < 3; ++layout)
          for (bool strided : {false, true})
            for (double beta : {-0.5, 0.0}) {
              INFO(s.m << 'x' << s.n << " op " << name(ta) << ' ' << name(impl) << " layout " << layout
                       << (strided ? " strided" : " contiguous") << " beta " << beta);
              auto check = [&](auto A) {
                auto x = vec(s.n, strided);
                auto y = vec(s.m, !strided);
                fill(space, A, 61);
                fill(space, as_matrix(x), 62);
                if (beta == 0)
                  fill_value(space, as_matrix(y), nan<T>());
                else
                  fill(space, as_matrix(y), 63);
                const auto a = read(space, A), xm = read(space, as_matrix(x)), y0 = read(space, as_matrix(y));
                seqrec::linalg::gemv(space, ta, T(0.75), A, x, T(beta), y, impl);
                return gemm_error(ta, Trans::N, 0.75, a, xm, beta, y0, read(space, as_matrix(y)));
              };
              const index_t r = ta == Trans::N ? s.m : s.n, c = ta == Trans::N ? s.n : s.m;
              const double err = layout == 0   ? check(M::right(r, c))
                                 : layout == 1 ? check(M::left(r, c))
                                               : check(M::cols_strided(r, c));
              CHECK(err <= seqrec::test::tolerance<T>());
            }
  // Empty inner dimension: y = beta * y.
  auto y = seqrec::View1<T, Space>("y", 4);
  Kokkos::deep_copy(y, T(2));
  seqrec::linalg::gemv(space, Trans::N, T(1), M::right(4, 0), seqrec::View1<T, Space>("x", 0), T(3), y);
  CHECK(seqrec::to_host(y)(3) == T(6));
}

TEMPLATE_TEST_CASE("shape mismatches throw Errc::shape_mismatch naming both shapes", "[core][linalg]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  using V3 = seqrec::View3<T, Space>;
  Space space;
  auto code_and_message = [](auto&& f) -> std::tuple<seqrec::Errc, std::string> {
    try {
      f();
    } catch (const seqrec::Error& e) {
      return {e.code(), e.message()};
    }
    return {seqrec::Errc::invalid_argument, "no exception"};
  };
  V A("A", 64, 50), B("B", 50, 23), C("C", 63, 23), Bk("Bk", 49, 23), Cn("Cn", 64, 24), At("At", 50, 64);
  {
    auto [code, msg] = code_and_message([&] { seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), A, B, T(0), C); });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("gemm: op(A) is 64x50 but C is 63x23"));
  }
  {
    auto [code, msg] =
        code_and_message([&] { seqrec::linalg::gemm(space, Trans::N, Trans::N, T(1), A, Bk, T(0), Cn); });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(A) is 64x50") && Contains("op(B) is 49x23") && Contains("inner"));
  }
  {
    auto [code, msg] =
        code_and_message([&] { seqrec::linalg::gemm(space, Trans::T, Trans::N, T(1), At, B, T(0), Cn); });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(B) is 50x23 but C is 64x24"));
  }
  {
    auto [code, msg] = code_and_message([&] { seqrec::linalg::gemm(space, Trans::T, Trans::N, T(1), A, B, T(0), C); });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(A) = A^T is 50x64") && Contains("op(B) is 50x23"));
  }
  {
    auto [code, msg] = code_and_message([&] {
      seqrec::linalg::gemv(space, Trans::N, T(1), A, seqrec::View1<T, Space>("x", 49), T(0),
                           seqrec::View1<T, Space>("y", 64));
    });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(A) is 64x50 but x has 49 elements"));
  }
  {
    auto [code, msg] = code_and_message([&] {
      seqrec::linalg::gemv(space, Trans::T, T(1), A, seqrec::View1<T, Space>("x", 64), T(0),
                           seqrec::View1<T, Space>("y", 49));
    });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(A) = A^T is 50x64 but y has 49 elements"));
  }
  {
    auto [code, msg] = code_and_message([&] {
      seqrec::linalg::batched_gemm(space, Trans::N, Trans::N, T(1), V3("A", 3, 4, 5), V3("B", 3, 5, 6), T(0),
                                   V3("C", 2, 4, 6));
    });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("batched_gemm") && Contains("C 2"));
  }
  {
    auto [code, msg] = code_and_message([&] {
      seqrec::linalg::batched_gemm(space, Trans::N, Trans::T, T(1), V3("A", 3, 4, 5), V3("B", 3, 5, 6), T(0),
                                   V3("C", 3, 4, 6));
    });
    CHECK(code == seqrec::Errc::shape_mismatch);
    CHECK_THAT(msg, Contains("op(A) is 4x5 but op(B) = B^T is 6x5"));
  }
  // Nothing was written by the failed calls.
  CHECK(seqrec::to_host(C)(0, 0) == T(0));
}

TEMPLATE_TEST_CASE("batched_gemm and team_gemm match the reference", "[core][linalg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using mem = typename Space::memory_space;
  Space space;
  const index_t batch = 7, m = 13, n = 11, k = 9;

  SECTION("batched_gemm, every transpose, beta = 0 over NaN and beta != 0") {
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T})
        for (double beta : {0.0, -0.5}) {
          INFO("op " << name(ta) << name(tb) << " beta " << beta);
          seqrec::View3<T, Space> A("A", batch, ta == Trans::N ? m : k, ta == Trans::N ? k : m);
          seqrec::View3<T, Space> B("B", batch, tb == Trans::N ? k : n, tb == Trans::N ? n : k);
          seqrec::View3<T, Space> C("C", batch, m, n);
          std::vector<HostMatrix> a, b, c0;
          for (index_t i = 0; i < batch; ++i) {
            auto Ai = Kokkos::subview(A, i, Kokkos::ALL, Kokkos::ALL);
            auto Bi = Kokkos::subview(B, i, Kokkos::ALL, Kokkos::ALL);
            auto Ci = Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL);
            fill(space, Ai, 70 + i);
            fill(space, Bi, 80 + i);
            if (beta == 0)
              fill_value(space, Ci, nan<T>());
            else
              fill(space, Ci, 90 + i);
            a.push_back(read(space, Ai));
            b.push_back(read(space, Bi));
            c0.push_back(read(space, Ci));
          }
          seqrec::linalg::batched_gemm(space, ta, tb, T(1.5), A, B, T(beta), C);
          for (index_t i = 0; i < batch; ++i) {
            INFO("batch entry " << i);
            const auto c = read(space, Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL));
            CHECK(gemm_error(ta, tb, 1.5, a[i], b[i], beta, c0[i], c) <= seqrec::test::tolerance<T>());
          }
        }
  }

  SECTION("team_gemm inside a user kernel, on LayoutLeft subviews, then reading C after a barrier") {
    // C_i = A_i^T B_i with A [batch, k, m] and B [batch, k, n] column-major; then each row of C is summed
    // by the same team, which needs the barrier documented on team_gemm.
    Kokkos::View<T***, Kokkos::LayoutLeft, mem> A("A", batch, k, m), B("B", batch, k, n);
    Kokkos::View<T***, Kokkos::LayoutLeft, mem> C("C", batch, m, n);
    Kokkos::View<T**, Kokkos::LayoutRight, mem> row_sums("row_sums", batch, m);
    for (index_t i = 0; i < batch; ++i) {
      fill(space, Kokkos::subview(A, i, Kokkos::ALL, Kokkos::ALL), 100 + i);
      fill(space, Kokkos::subview(B, i, Kokkos::ALL, Kokkos::ALL), 110 + i);
      fill_value(space, Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL), nan<T>());
    }
    using policy = Kokkos::TeamPolicy<Space>;
    Kokkos::parallel_for(
        policy(space, static_cast<int>(batch), Kokkos::AUTO), KOKKOS_LAMBDA(const typename policy::member_type& team) {
          const int i = team.league_rank();
          auto Ci = Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL);
          seqrec::linalg::team_gemm(team, Trans::T, Trans::N, T(1), Kokkos::subview(A, i, Kokkos::ALL, Kokkos::ALL),
                                    Kokkos::subview(B, i, Kokkos::ALL, Kokkos::ALL), T(0), Ci);
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, Ci.extent(0)), [&](std::size_t r) {
            T s = 0;
            for (std::size_t j = 0; j < Ci.extent(1); ++j) s += Ci(r, j);
            row_sums(i, r) = s;
          });
        });
    const auto sums = read(space, row_sums);
    for (index_t i = 0; i < batch; ++i) {
      const auto a = read(space, Kokkos::subview(A, i, Kokkos::ALL, Kokkos::ALL));
      const auto b = read(space, Kokkos::subview(B, i, Kokkos::ALL, Kokkos::ALL));
      const auto c = read(space, Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL));
      HostMatrix nan_c0{m, n, std::vector<double>(static_cast<std::size_t>(m * n), std::nan(""))};
      CHECK(gemm_error(Trans::T, Trans::N, 1.0, a, b, 0.0, nan_c0, c) <= seqrec::test::tolerance<T>());
      for (index_t r = 0; r < m; ++r) {
        double s = 0;
        for (index_t j = 0; j < n; ++j) s += c(r, j);
        CHECK(sums(i, r) == Approx(s).epsilon(10 * seqrec::test::tolerance<T>()).margin(1e-5));
      }
    }
  }
}

namespace {
std::vector<std::string> launched;
void record_kernel(const char* name, std::uint32_t, std::uint64_t*) { launched.emplace_back(name); }

// Names of the kernels `f` launches (Kokkos Tools callback), to see which path the dispatch took.
template <class F>
std::vector<std::string> kernels_of(F&& f) {
  launched.clear();
  Kokkos::Tools::Experimental::set_begin_parallel_for_callback(record_kernel);
  f();
  Kokkos::Tools::Experimental::set_begin_parallel_for_callback(nullptr);
  return launched;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}
}  // namespace

TEMPLATE_TEST_CASE("the dispatch sends unit-stride float/double to the vendor BLAS and the rest to portable kernels",
                   "[core][linalg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using M = Make<Space, T>;
  Space space;
  const bool vendor = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible ? seqrec::linalg::has_cblas
                                                                                       : seqrec::linalg::has_cublas;
  auto A = M::right(40, 30);
  auto B = M::left(20, 30);
  auto C = M::rows_strided(40, 20);
  auto S = M::cols_strided(40, 20);
  fill(space, A, 1);
  fill(space, B, 2);
  const std::string portable = "seqrec::linalg::gemm[portable]";
  auto gemm = [&](auto c, Impl impl) {
    return kernels_of([&] { seqrec::linalg::gemm(space, Trans::N, Trans::T, T(1), A, B, T(0), c, impl); });
  };
  CHECK(contains(gemm(C, Impl::automatic), portable) == !vendor);
  CHECK(contains(gemm(C, Impl::portable), portable));
  CHECK(contains(gemm(S, Impl::automatic), portable));  // no unit stride in C: no BLAS can take it
  auto x = seqrec::View1<T, Space>("x", 30), y = seqrec::View1<T, Space>("y", 40);
  auto gemv = [&](Impl impl) {
    return kernels_of([&] { seqrec::linalg::gemv(space, Trans::N, T(1), A, x, T(0), y, impl); });
  };
  CHECK(contains(gemv(Impl::automatic), "seqrec::linalg::gemv[portable]") == !vendor);
  CHECK(contains(gemv(Impl::portable), "seqrec::linalg::gemv[portable]"));
}

TEST_CASE("BLAS thread control and availability flags", "[core][linalg]") {
#if defined(SEQREC_HAVE_CBLAS)
  CHECK(seqrec::linalg::has_cblas);
#else
  CHECK_FALSE(seqrec::linalg::has_cblas);
#endif
#if defined(KOKKOS_ENABLE_CUDA) && defined(SEQREC_HAVE_CUBLAS)
  CHECK(seqrec::linalg::has_cublas);
#else
  CHECK_FALSE(seqrec::linalg::has_cublas);
#endif
  const int before = seqrec::linalg::blas_threads();
  CHECK(before >= 1);
  seqrec::linalg::set_blas_threads(2);
#if defined(SEQREC_HAVE_OPENBLAS)
  CHECK(seqrec::linalg::blas_threads() == 2);
#else
  CHECK(seqrec::linalg::blas_threads() == 1);
#endif
  seqrec::linalg::set_blas_threads(1);
  CHECK(seqrec::linalg::blas_threads() == 1);
  CHECK_THROWS_AS(seqrec::linalg::set_blas_threads(0), seqrec::Error);
  seqrec::linalg::set_blas_threads(before);
}
