// Causal multi-head scaled dot-product attention over left-padded windows (the core of SASRec's block,
// without projections). Query i of a window attends to keys j <= i that are not padding, so padding
// positions take no part and are skipped: with mean history 9 in a window of 50 that is most of the work.
//
// Layout: q, k, v, out hold one row per real position (see RowMap): row_of(b, t) is the row of position t
// of window b, -1 at padding. Head h owns columns [h*dh, (h+1)*dh). One team per (window, head); the whole
// per-window computation is fused in it, with no atomics (deterministic on every backend). Its threads take
// queries (or keys), their vector lanes keys or columns: every lane writes only its own elements, and the
// phases that read other lanes' results come after a team barrier.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class CausalAttention {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using row_map_type = Kokkos::View<const index_t**, Kokkos::LayoutRight, memory_space>;
  // Softmax probabilities saved for backward: [batch, heads, len, len].
  using probs_type = View4<T, Space>;

  CausalAttention() = default;
  CausalAttention(index_t heads, T dropout) : heads_(heads), dropout_(dropout) {
    SEQREC_REQUIRE(heads > 0, "attention heads must be positive, got ", heads);
    SEQREC_REQUIRE(dropout >= T(0) && dropout < T(1), "attention dropout must be in [0, 1), got ", dropout);
  }
  index_t heads() const { return heads_; }

  probs_type make_probs(const Space& space, index_t batch, index_t len) const {
    return make_uninitialized<probs_type>(space, "CausalAttention::probs", batch, heads_, len, len);
  }

  // out_i = sum_j softmax_j(q_i . k_j / sqrt(dh)) v_j over real j <= i (dropout on the probabilities when
  // training). `probs` receives the softmax (before dropout), zero at padding.
  void forward(const Space& space, row_map_type ids, const_rows_type q, const_rows_type k, const_rows_type v,
               rows_type out, probs_type probs, bool train, RandomStream rs) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), dim = q.extent(1);
    check(ids, q, k, v, out, probs);
    const index_t H = heads_, dh = dim / H;
    const T scale = T(1) / math::sqrt(T(dh));
    const T rate = train ? dropout_ : T(0), keep_scale = T(1) / (T(1) - rate);
    using team_t = typename Kokkos::TeamPolicy<Space>::member_type;
    Kokkos::parallel_for(
        "seqrec::CausalAttention::forward", policy(space, batch * H), KOKKOS_LAMBDA(const team_t& team) {
          const index_t b = team.league_rank() / H, h = team.league_rank() % H;
          const index_t start = first_valid(ids, b, len), c0 = h * dh;
          // Softmax rows: a thread per query i, its vector lanes over keys j (each lane owns its (i, j)).
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, index_t(0), len), [&](index_t i) {
            const index_t qi = ids(b, i);
            const index_t lo = qi < 0 ? len : start, hi = qi < 0 ? len : i + 1;  // keys [lo, hi)
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, len - (hi - lo)),
                                 [&](index_t jj) { probs(b, h, i, jj < lo ? jj : jj + (hi - lo)) = T(0); });
            if (qi < 0) return;
            T mx = Kokkos::reduction_identity<T>::max();  // the lowest T
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(team, hi - lo),
                [&](index_t jj, T& m) {
                  const index_t j = lo + jj, kj = ids(b, j);
                  T s = 0;
                  if (kj >= 0) {
                    for (index_t c = 0; c < dh; ++c) s += q(qi, c0 + c) * k(kj, c0 + c);
                    s *= scale;
                    m = s > m ? s : m;
                  }
                  probs(b, h, i, j) = s;
                },
                Kokkos::Max<T>(mx));
            T sum = 0;
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(team, hi - lo),
                [&](index_t jj, T& acc) {
                  const index_t j = lo + jj;
                  const T p = ids(b, j) >= 0 ? math::exp(probs(b, h, i, j) - mx) : T(0);
                  probs(b, h, i, j) = p;
                  acc += p;
                },
                sum);
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, hi - lo),
                                 [&](index_t jj) { probs(b, h, i, lo + jj) /= sum; });
          });
          team.team_barrier();
          // Outputs: a thread per query, its lanes over the head's columns (each lane keeps to its own).
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, index_t(0), len), [&](index_t i) {
            const index_t qi = ids(b, i);
            if (qi < 0) return;
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh), [&](index_t c) { out(qi, c0 + c) = T(0); });
            for (index_t j = start; j <= i; ++j) {
              const index_t kj = ids(b, j);
              const T p = probs(b, h, i, j);
              const T pd = rate > T(0) ? dropped(rs, b, h, i, j, H, len, rate, keep_scale) * p : p;
              if (kj >= 0 && pd != T(0))
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh),
                                     [&](index_t c) { out(qi, c0 + c) += pd * v(kj, c0 + c); });
            }
          });
        });
  }

  // Gradients of q, k, v from dout (overwritten: dq, dk, dv). `dscores` is a scratch buffer shaped like probs.
  void backward(const Space& space, row_map_type ids, const_rows_type q, const_rows_type k, const_rows_type v,
                const_rows_type dout, typename probs_type::const_type probs, probs_type dscores, rows_type dq,
                rows_type dk, rows_type dv, bool train, RandomStream rs) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), dim = q.extent(1);
    check(ids, q, k, v, dq, dscores);
    SEQREC_REQUIRE_SHAPE(dout, "CausalAttention::backward dout", index_t(q.extent(0)), dim);
    SEQREC_REQUIRE_SHAPE(dk, "CausalAttention::backward dk", index_t(q.extent(0)), dim);
    SEQREC_REQUIRE_SHAPE(dv, "CausalAttention::backward dv", index_t(q.extent(0)), dim);
    const index_t H = heads_, dh = dim / H;
    const T scale = T(1) / math::sqrt(T(dh));
    const T rate = train ? dropout_ : T(0), keep_scale = T(1) / (T(1) - rate);
    using team_t = typename Kokkos::TeamPolicy<Space>::member_type;
    Kokkos::parallel_for(
        "seqrec::CausalAttention::backward", policy(space, batch * H), KOKKOS_LAMBDA(const team_t& team) {
          const index_t b = team.league_rank() / H, h = team.league_rank() % H;
          const index_t start = first_valid(ids, b, len), c0 = h * dh;
          // dS_ij = P_ij (dP_ij - sum_j' P_ij' dP_ij') scale, dP_ij = mask_ij (dout_i . v_j): a thread per
          // query, its lanes over keys.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, index_t(0), len), [&](index_t i) {
            const index_t qi = ids(b, i);
            const index_t lo = qi < 0 ? len : start, hi = qi < 0 ? len : i + 1;
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, len - (hi - lo)),
                                 [&](index_t jj) { dscores(b, h, i, jj < lo ? jj : jj + (hi - lo)) = T(0); });
            if (qi < 0) return;
            T dot = 0;
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(team, hi - lo),
                [&](index_t jj, T& acc) {
                  const index_t j = lo + jj, kj = ids(b, j);
                  T dp = T(0);
                  if (kj >= 0) {
                    for (index_t c = 0; c < dh; ++c) dp += dout(qi, c0 + c) * v(kj, c0 + c);
                    if (rate > T(0)) dp *= dropped(rs, b, h, i, j, H, len, rate, keep_scale);
                    acc += probs(b, h, i, j) * dp;
                  }
                  dscores(b, h, i, j) = dp;
                },
                dot);
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, hi - lo), [&](index_t jj) {
              const index_t j = lo + jj;
              dscores(b, h, i, j) = probs(b, h, i, j) * (dscores(b, h, i, j) - dot) * scale;
            });
          });
          team.team_barrier();
          // dq_i = sum_j dS_ij k_j: a thread per query, its lanes over columns.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, index_t(0), len), [&](index_t i) {
            const index_t qi = ids(b, i);
            if (qi < 0) return;
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh), [&](index_t c) { dq(qi, c0 + c) = T(0); });
            for (index_t j = start; j <= i; ++j) {
              const T ds = dscores(b, h, i, j);
              if (ds != T(0))
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh),
                                     [&](index_t c) { dq(qi, c0 + c) += ds * k(ids(b, j), c0 + c); });
            }
          });
          // dk_j = sum_i dS_ij q_i, dv_j = sum_i P'_ij dout_i over queries i >= j: a thread per key, its
          // lanes over columns.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, index_t(0), len), [&](index_t j) {
            const index_t kj = ids(b, j);
            if (kj < 0) return;
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh), [&](index_t c) {
              dk(kj, c0 + c) = T(0);
              dv(kj, c0 + c) = T(0);
            });
            for (index_t i = j; i < len; ++i) {
              const index_t qi = ids(b, i);
              if (qi < 0) continue;
              const T ds = dscores(b, h, i, j);
              T p = probs(b, h, i, j);
              if (rate > T(0)) p *= dropped(rs, b, h, i, j, H, len, rate, keep_scale);
              Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, dh), [&](index_t c) {
                dk(kj, c0 + c) += ds * q(qi, c0 + c);
                dv(kj, c0 + c) += p * dout(qi, c0 + c);
              });
            }
          });
        });
  }

  // One team per (window, head); on a GPU each thread of it has a warp's 32 lanes for the inner loops.
  static Kokkos::TeamPolicy<Space> policy(const Space& space, index_t league) {
    if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible)
      return Kokkos::TeamPolicy<Space>(space, static_cast<int>(league), Kokkos::AUTO);
    else
      return Kokkos::TeamPolicy<Space>(space, static_cast<int>(league), Kokkos::AUTO, 32);
  }

 private:
  // Windows are left-padded: the first non-padding position (len when the window is empty).
  KOKKOS_INLINE_FUNCTION static index_t first_valid(const row_map_type& ids, index_t b, index_t len) {
    index_t s = 0;
    while (s < len && ids(b, s) < 0) ++s;
    return s;
  }
  // The dropout factor of probability (b, h, i, j): 0 or 1/(1-rate), from the step's stream.
  KOKKOS_INLINE_FUNCTION static T dropped(const RandomStream& rs, index_t b, index_t h, index_t i, index_t j, index_t H,
                                          index_t len, T rate, T keep_scale) {
    const auto counter = static_cast<std::uint64_t>(((b * H + h) * len + i) * len + j);
    return T(rs.uniform<T>(counter) >= rate) * keep_scale;  // branch-free, as in Dropout
  }

  template <class Q, class O, class P>
  void check(const row_map_type& ids, const Q& q, const Q& k, const Q& v, const O& out, const P& probs) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), rows = q.extent(0), dim = q.extent(1);
    SEQREC_REQUIRE(dim % heads_ == 0, "attention: dim ", dim, " is not a multiple of heads ", heads_);
    SEQREC_REQUIRE_SHAPE(k, "CausalAttention k", rows, dim);
    SEQREC_REQUIRE_SHAPE(v, "CausalAttention v", rows, dim);
    SEQREC_REQUIRE_SHAPE(out, "CausalAttention output", rows, dim);
    SEQREC_REQUIRE_SHAPE(probs, "CausalAttention probs", batch, heads_, len, len);
  }

  index_t heads_ = 1;
  T dropout_ = T(0);
};

}  // namespace seqrec::sequence
