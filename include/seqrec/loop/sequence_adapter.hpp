// A SequentialRecommender (SASRec, GRU4Rec, LSTM) in the feedback loop: fit() trains it on the training
// interactions as seqrec-train does; update() takes a few optimisation steps on the sequences of the users
// who accepted items in the round (their new items last, so the next-item targets include them), with the
// optimizer state carried over; scoring uses each user's latest window. Users need no parameters of their
// own, so new users cost nothing.
//
// Items: the model's table may hold fewer items than the catalogue the loop ranks (the id map of the data). The
// table covers the items that occurred in the adapter's data: when fit() or update() meets a larger item id, the
// table grows to it (SequentialRecommender::grow_items: old rows and their optimizer state untouched, new rows
// drawn N(0, init stddev), moments 0) and training goes on from there. Items beyond the table score -inf: no
// greedy list shows them, an exploring policy can, and once accepted they get a row. Negatives are drawn from the
// table's items only.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/negative_sampler.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace seqrec::loop {

struct SequenceUpdateOptions {
  int fit_epochs = 20;      // full passes over the training interactions in fit()
  int steps = 4;            // optimisation steps per update(), over batches of the users with new items
  std::uint64_t seed = 42;  // batch order, negatives and grown rows
};

namespace detail {

// scores(b, first + j) = the padded chunk's scores(b, j) for the table's items, -inf beyond.
template <class T, ExecutionSpace Space>
struct TailScores {
  View2<const T, Space> chunk;  // [>= B x chunk]
  View2<T, Space> scores;
  index_t first, table_rows;
  T beyond;  // -inf
  KOKKOS_INLINE_FUNCTION void operator()(index_t b, index_t j) const {
    scores(b, first + j) = first + j < table_rows ? chunk(b, j) : beyond;
  }
};

}  // namespace detail

template <class Model>
class IncrementalSequence {
 public:
  using scalar_type = typename Model::scalar_type;
  using execution_space = typename Model::execution_space;
  using memory_space = typename execution_space::memory_space;
  using Space = execution_space;

  // The model is borrowed: it must outlive the adapter (SequentialRecommender holds workspaces, not copied).
  IncrementalSequence(Model& model, SequenceUpdateOptions options) : model_(&model), options_(options) {
    SEQREC_REQUIRE(options.fit_epochs >= 0 && options.steps >= 0, "IncrementalSequence: fit_epochs (",
                   options.fit_epochs, ") and steps (", options.steps, ") must be >= 0");
  }

  void fit(const Space& space, const data::Interactions& train) {
    data_ = train;
    data_.sort_chronological();
    sequences_ = data::Sequences::from(data_);
    grow_to_data(space);
    train_on(space, data::EpochShuffler<Space>::trainable_users(sequences_), options_.fit_epochs, -1);
    model_->set_scoring_windows(space, sequences_);
    fitted_ = true;
  }

  void update(const Space& space, const data::Interactions& added) {
    ++updates_;
    if (added.size() == 0) return;
    SEQREC_REQUIRE(added.users.size() >= data_.users.size() && added.items.size() >= data_.items.size(),
                   "IncrementalSequence::update: the added interactions' id maps (", added.users.size(), " users, ",
                   added.items.size(), " items) must extend the adapter's (", data_.users.size(), ", ",
                   data_.items.size(), ")");
    data_.users = added.users;
    data_.items = added.items;
    for (index_t e = 0; e < added.size(); ++e)
      data_.push_back(added.user[e], added.item[e], added.weight[e], added.time[e]);
    data_.sort_chronological();
    sequences_ = data::Sequences::from(data_);
    grow_to_data(space);
    std::vector<id_t> users;
    for (const id_t u : added.user)
      if (sequences_.length(u) >= 2) users.push_back(u);
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    if (!users.empty() && options_.steps > 0) train_on(space, users, 0, options_.steps);
    model_->set_scoring_windows(space, sequences_);
  }

  // Items per scoring gemm. Every chunk of the table is scored with the same shape [B x kChunk] (the last one
  // from a zero-padded copy): a vendor gemm's rounding depends on the shape, and this way an item's score does not
  // depend on how many items follow it, so growing the table leaves old users' scores over old items
  // bit-identical.
  static constexpr index_t kChunk = 512;

  // scores [B x n + 1] for any n >= the table's items (the loop passes num_items()): -inf beyond the table.
  void score_all(const Space& space, View1<const id_t, Space> users, View2<scalar_type, Space> scores) const {
    using T = scalar_type;
    SEQREC_REQUIRE(fitted_, "IncrementalSequence::score_all: call fit first");
    const index_t rows = static_cast<index_t>(users.extent(0)), cols = static_cast<index_t>(scores.extent(1));
    const index_t table_rows = model_->num_items() + 1;
    SEQREC_REQUIRE(static_cast<index_t>(scores.extent(0)) == rows && cols >= table_rows,
                   "IncrementalSequence::score_all: scores are ", scores.extent(0), " x ", cols, ", need ", rows,
                   " x at least ", table_rows);
    if (rows == 0) return;
    const auto h = model_->last_states(space, users);
    const auto table = model_->items().table();
    const index_t full = table_rows / kChunk * kChunk;
    for (index_t c0 = 0; c0 < full; c0 += kChunk) {
      const auto r = Kokkos::make_pair(c0, c0 + kChunk);
      linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), h, Kokkos::subview(table, r, Kokkos::ALL), T(0),
                   Kokkos::subview(scores, Kokkos::ALL, r));
    }
    if (full == cols) return;
    if (static_cast<index_t>(chunk_scores_.extent(0)) < rows || static_cast<index_t>(pad_.extent(1)) != model_->dim()) {
      pad_ = make_uninitialized<View2<T, Space>>(space, "IncrementalSequence::pad", kChunk, model_->dim());
      chunk_scores_ = make_uninitialized<View2<T, Space>>(space, "IncrementalSequence::chunk_scores", rows, kChunk);
    }
    if (full < table_rows) {
      Kokkos::deep_copy(space, pad_, T(0));
      Kokkos::deep_copy(space, Kokkos::subview(pad_, Kokkos::make_pair(index_t(0), table_rows - full), Kokkos::ALL),
                        Kokkos::subview(table, Kokkos::make_pair(full, table_rows), Kokkos::ALL));
      linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), h, pad_, T(0),
                   Kokkos::subview(chunk_scores_, Kokkos::make_pair(index_t(0), rows), Kokkos::ALL));
    }
    Kokkos::parallel_for(
        "seqrec::loop::IncrementalSequence::tail_scores",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols - full}),
        detail::TailScores<T, Space>{chunk_scores_, scores, full, table_rows, -std::numeric_limits<T>::infinity()});
  }
  // The catalogue ranked: the larger of the data's id map and the model's table.
  index_t num_items() const { return std::max(model_->num_items(), data_.num_items()); }
  // Items with a row in the model's table.
  index_t table_items() const { return model_->num_items(); }
  // How many times the table grew, and by how many items in all.
  index_t growths() const { return growths_; }
  index_t items_grown() const { return items_grown_; }
  long long steps_taken() const { return steps_taken_; }
  const data::Interactions& data() const { return data_; }

 private:
  // The table grows to the largest item id of the data (the same seed every time: rows depend on their offset).
  void grow_to_data(const Space& space) {
    id_t top = 0;
    for (const id_t i : data_.item) top = std::max(top, i);
    if (top <= model_->num_items()) return;
    items_grown_ += top - model_->num_items();
    ++growths_;
    model_->grow_items(space, top, options_.seed ^ 0x67726f77ull);  // "grow"
  }

  // epochs > 0: that many passes over `users`; otherwise `steps` batches, cycling through shuffled `users`.
  void train_on(const Space& space, const std::vector<id_t>& users, int epochs, int steps) {
    if (users.empty()) return;
    auto history = data::make_user_history(space, sequences_);
    history.num_items = model_->num_items();  // negatives only among the items with a row
    data::SequenceBatcher<Space> batcher(space, sequences_, data::UniformNegativeSampler<Space>(history));
    data::EpochShuffler<Space> shuffler(space, users, options_.seed + 7919 * std::uint64_t(updates_));
    data::SequenceBatch<Space> batch(space, model_->batch_size(), model_->maxlen(), 1);
    const index_t nb = shuffler.num_batches(model_->batch_size());
    const long long total = epochs > 0 ? (long long)epochs * nb : steps;
    for (long long s = 0; s < total; ++s) {
      const index_t b = index_t(s % nb);
      if (b == 0) shuffler.shuffle(space, std::uint64_t(s / nb));
      batcher.build(space, shuffler.batch(b, model_->batch_size()), batch,
                    RandomStream(options_.seed, (std::uint64_t(updates_) << 32) + std::uint64_t(s)));
      model_->train_step(space, batch, model_->random().next());
      ++steps_taken_;
    }
  }

  Model* model_;
  SequenceUpdateOptions options_;
  data::Interactions data_;
  data::Sequences sequences_;
  long long updates_ = 0, steps_taken_ = 0;
  index_t growths_ = 0, items_grown_ = 0;
  bool fitted_ = false;
  mutable View2<scalar_type, Space> pad_;           // [kChunk x dim]: the last, partial chunk of the table
  mutable View2<scalar_type, Space> chunk_scores_;  // [>= B x kChunk]: its scores
};

}  // namespace seqrec::loop
