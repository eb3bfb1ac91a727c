// A SequentialRecommender (SASRec, GRU4Rec, LSTM) in the feedback loop: fit() trains it on the training
// interactions as seqrec-train does; update() takes a few optimisation steps on the sequences of the users
// who accepted items in the round (their new items last, so the next-item targets include them), with the
// optimizer state carried over; scoring uses each user's latest window. Users need no parameters of their
// own, so new users cost nothing; new items need rows in the item table, which this adapter does not grow
// (it refuses item ids beyond the model's).
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/negative_sampler.hpp>

#include <algorithm>
#include <vector>

namespace seqrec::loop {

struct SequenceUpdateOptions {
  int fit_epochs = 20;      // full passes over the training interactions in fit()
  int steps = 4;            // optimisation steps per update(), over batches of the users with new items
  std::uint64_t seed = 42;  // batch order and negatives
};

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
    require_items(train, "fit");
    data_.sort_chronological();
    sequences_ = data::Sequences::from(data_);
    train_on(space, data::EpochShuffler<Space>::trainable_users(sequences_), options_.fit_epochs, -1);
    model_->set_scoring_windows(space, sequences_);
  }

  void update(const Space& space, const data::Interactions& added) {
    ++updates_;
    if (added.size() == 0) return;
    require_items(added, "update");
    data_.users = added.users;
    data_.items = added.items;
    for (index_t e = 0; e < added.size(); ++e)
      data_.push_back(added.user[e], added.item[e], added.weight[e], added.time[e]);
    data_.sort_chronological();
    sequences_ = data::Sequences::from(data_);
    std::vector<id_t> users;
    for (const id_t u : added.user)
      if (sequences_.length(u) >= 2) users.push_back(u);
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    if (!users.empty() && options_.steps > 0) train_on(space, users, 0, options_.steps);
    model_->set_scoring_windows(space, sequences_);
  }

  void score_all(const Space& space, View1<const id_t, Space> users, View2<scalar_type, Space> scores) const {
    model_->score_all(space, users, scores);
  }
  index_t num_items() const { return model_->num_items(); }
  long long steps_taken() const { return steps_taken_; }
  const data::Interactions& data() const { return data_; }

 private:
  void require_items(const data::Interactions& x, const char* what) const {
    SEQREC_REQUIRE(x.items.size() <= model_->num_items(), "IncrementalSequence::", what, ": ", x.items.size(),
                   " items, the model's item table has ", model_->num_items(),
                   " (new items need a grown table: build the model over the whole catalogue)");
  }

  // epochs > 0: that many passes over `users`; otherwise `steps` batches, cycling through shuffled `users`.
  void train_on(const Space& space, const std::vector<id_t>& users, int epochs, int steps) {
    if (users.empty()) return;
    const auto history = data::make_user_history(space, sequences_);
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
};

}  // namespace seqrec::loop
