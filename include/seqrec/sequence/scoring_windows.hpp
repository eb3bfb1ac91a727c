// ScoringWindows<Encoder>: what a sequence model needs to score users at inference time, apart from its
// parameters. It holds each user's left-padded last `maxlen` items (set from a history: training items for
// validation, training + validation items for test) and the evaluation workspace, and encodes a batch of
// users to their last hidden state:
//
//   windows.set(space, encoder, history, eval_batch);                 // once per evaluation
//   auto last = windows.encode_last(space, encoder, items, users);    // [users, dim], inference mode
//
// The models (SequentialRecommender, MultiTaskRecommender, ContextRecommender) share it, so their scoring
// cannot drift apart. Buffers are made when the evaluation batch changes, never per call.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace seqrec::sequence {

template <class Encoder>
class ScoringWindows {
 public:
  using T = typename Encoder::scalar_type;
  using Space = typename Encoder::execution_space;
  using rows_type = View2<T, Space>;

  bool ready() const { return windows_.extent(0) > 0; }
  index_t num_users() const { return index_t(windows_.extent(0)); }
  index_t capacity() const { return index_t(ids_.extent(0)); }
  // History length of each user at the last set() (host): which interaction comes next for that user.
  const std::vector<index_t>& history_lengths() const { return lengths_; }

  // windows(u, :) = user u's last min(n, L) history items, right-aligned, zeros before.
  void set(const Space& space, const Encoder& encoder, const data::Sequences& history, index_t eval_batch) {
    SEQREC_REQUIRE(eval_batch > 0, "set_scoring_windows: the evaluation batch must be positive, got ", eval_batch);
    const index_t L = encoder.maxlen();
    View2<id_t, Space> w = make_uninitialized<View2<id_t, Space>>(space, "ScoringWindows::windows",
                                                                  std::max<index_t>(1, history.num_users()), L);
    auto h = Kokkos::create_mirror_view(w);
    Kokkos::deep_copy(h, id_t(0));
    lengths_.assign(std::size_t(history.num_users()), 0);
    for (index_t u = 0; u < history.num_users(); ++u) {
      const index_t n = history.length(u), take = std::min(n, L);
      lengths_[std::size_t(u)] = n;
      for (index_t t = 0; t < take; ++t) h(u, L - take + t) = history.items[history.offsets[u] + n - take + t];
    }
    Kokkos::deep_copy(space, w, h);
    space.fence();
    windows_ = history.num_users() > 0 ? w : View2<id_t, Space>();
    if (ws_.batch != eval_batch || index_t(last_.extent(1)) != encoder.dim()) {
      ws_ = encoder.make_workspace(space, eval_batch);
      ids_ = make_uninitialized<View2<id_t, Space>>(space, "ScoringWindows::ids", eval_batch, L);
      hidden_ = make_uninitialized<rows_type>(space, "ScoringWindows::hidden", eval_batch * L, encoder.dim());
      last_ = make_uninitialized<rows_type>(space, "ScoringWindows::last", eval_batch, encoder.dim());
    }
  }

  // The encoder's state after the last item of each user's window: rows [0, users.extent(0)) of the result.
  // Users outside the windows get an all-padding window.
  auto encode_last(const Space& space, const Encoder& encoder, const Embedding<T, Space>& items,
                   View1<const id_t, Space> users) {
    SEQREC_REQUIRE(ready(), "score: call set_scoring_windows first");
    const index_t n = users.extent(0);
    SEQREC_REQUIRE(n <= capacity(), "score: ", n, " users in one call, the scoring workspace holds ", capacity());
    gather(space, users);
    encoder.forward(space, ids_, items, hidden_, ws_, false, RandomStream());
    take_last(space, encoder.maxlen());
    return Kokkos::subview(last_, std::make_pair(index_t(0), n), Kokkos::ALL);
  }

  // ---- kernels: public only because nvcc refuses device lambdas inside private member functions ----

  void gather(const Space& space, View1<const id_t, Space> users) const {
    const index_t n = users.extent(0), cap = capacity(), L = index_t(ids_.extent(1));
    auto ids = ids_;
    auto windows = windows_;
    const index_t num_users = windows.extent(0);
    Kokkos::parallel_for(
        "seqrec::ScoringWindows::gather", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {cap, L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const id_t u = b < n ? users(b) : id_t(-1);
          ids(b, t) = (u >= 0 && u < num_users) ? windows(u, t) : 0;
        });
  }

  void take_last(const Space& space, index_t L) const {
    auto hidden = hidden_;
    auto last = last_;
    Kokkos::parallel_for(
        "seqrec::ScoringWindows::last_state",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {last.extent(0), last.extent(1)}),
        KOKKOS_LAMBDA(index_t b, index_t k) { last(b, k) = hidden(b * L + L - 1, k); });
  }

 private:
  View2<id_t, Space> windows_, ids_;
  typename Encoder::Workspace ws_;
  rows_type hidden_, last_;
  std::vector<index_t> lengths_;
};

}  // namespace seqrec::sequence
