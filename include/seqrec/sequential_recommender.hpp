// SequentialRecommender<Encoder, Head, Loss>: one model, one training step and one scorer for every
// composition. Swapping SASRec for a GRU or an LSTM is one template argument:
//
//   using Sasrec  = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<float, Space>>;
//   using Gru4Rec = seqrec::SequentialRecommender<
//       seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<float, Space>>>;
//
// The item embedding is owned here and shared by the encoder's input and the head's output scores.
//
// Item features (ItemFeatureInput): items can be represented by E + P(X) instead of E, with X a constant feature
// matrix (e.g. sentence embeddings of item texts, data/item_features.hpp) and P a learned projection
// (sequence/feature_projection.hpp), or by P(X) alone. Items without interactions then still score by what
// their features say. The representation table is rebuilt before each step and before scoring after a
// change; its gradient goes back to E (the same rows) and through P.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/feature_projection.hpp>
#include <seqrec/sequence/scoring_windows.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/checkpoint.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

namespace seqrec {

// What a sequence encoder provides (SelfAttentionEncoder, RecurrentEncoder).
template <class E>
concept SequenceEncoder = Component<E> &&
    requires(const E& e, const typename E::execution_space& space, typename E::ids_type ids,
             const sequence::Embedding<typename E::scalar_type, typename E::execution_space>& items,
             typename E::rows_type hidden, const typename E::Workspace& ws, RandomStream rs, RandomSource& rng,
             index_t n) {
  { e.make_workspace(space, n) } -> std::same_as<typename E::Workspace>;
  e.forward(space, ids, items, hidden, ws, true, rs);
  e.backward(space, ids, items, hidden, ws, true, rs);
  e.init(space, rng);
  { e.maxlen() } -> std::convertible_to<index_t>;
  { e.dim() } -> std::convertible_to<index_t>;
};

template <class E>
constexpr bool check_sequence_encoder() {
  check_component<E>();
  static_assert(SequenceEncoder<E>,
                "seqrec: a sequence encoder needs make_workspace(space, batch), forward(space, ids, items, hidden, "
                "workspace, train, stream), backward(same), init(space, rng), maxlen() and dim() "
                "(see sequence/sasrec_encoder.hpp)");
  return true;
}

// train_step's default: the gradients stay as this process computed them.
struct NoGradientSync {
  template <class Space, class Model, class Batch>
  losses::LossValue operator()(const Space&, Model&, const Batch&, losses::LossValue loss) const {
    return loss;
  }
};

struct RecommenderConfig {
  index_t dim = 50;
  index_t batch = 128;
  index_t negatives = 1;   // sampled negatives per position
  double init_stddev = 0;  // item embedding N(0, s); 0: 1/sqrt(dim)
  train::AdamConfig adam;
};

// Constant item features and how the model uses them.
template <Scalar T, ExecutionSpace Space>
struct ItemFeatureInput {
  View2<const T, Space> features;  // [(num_items + 1), F], row 0 (padding) zeros: data::ItemFeatures::to_device
  sequence::FeatureProjectionConfig projection;
  bool with_embedding = true;  // E + P(X); false: P(X) alone (no per-item free parameters)
};

template <class Encoder,
          class Head = heads::DotProduct<typename Encoder::scalar_type, typename Encoder::execution_space>,
          class Loss = losses::BinaryCrossEntropy<typename Encoder::scalar_type, typename Encoder::execution_space>>
class SequentialRecommender {
  static_assert(check_sequence_encoder<Encoder>());

 public:
  using scalar_type = typename Encoder::scalar_type;
  using execution_space = typename Encoder::execution_space;
  using memory_space = typename execution_space::memory_space;
  using T = scalar_type;
  using Space = execution_space;
  using rows_type = View2<T, Space>;

  // Build the encoder with `make(space, params, dim)` so it registers its parameters in this model.
  template <class MakeEncoder>
  SequentialRecommender(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                        MakeEncoder&& make, std::optional<ItemFeatureInput<T, Space>> features = std::nullopt)
      : config_(config),
        rng_(seed),
        items_(space, params_, "items", num_items + 1, config.dim),
        encoder_(make(space, params_, config.dim)) {
    SEQREC_REQUIRE(num_items > 0, "SequentialRecommender: there are no items");
    SEQREC_REQUIRE(config.batch > 0 && config.negatives > 0, "SequentialRecommender: batch (", config.batch,
                   ") and negatives (", config.negatives, ") must be positive");
    items_.init_normal(space, rng_.next(), item_init_stddev());
    encoder_.init(space, rng_);
    if (features) {
      SEQREC_REQUIRE(index_t(features->features.extent(0)) == num_items + 1,
                     "SequentialRecommender: item features have ", features->features.extent(0),
                     " rows, the model needs num_items + 1 = ", num_items + 1, " (row 0 is padding)");
      // Registered last and drawn from a stream of their own: the other parameters start as without features.
      projection_.emplace(space, params_, "item_features", features->features, config.dim, features->projection);
      projection_->init(space, rng_.stream(feature_init_stream));
      with_embedding_ = features->with_embedding;
      repr_ = sequence::Embedding<T, Space>(space, repr_params_, "items+features", num_items + 1, config.dim);
    }
    optimizer_.emplace(space, params_, config.adam);
    const index_t rows = config.batch * maxlen();
    train_ws_ = encoder_.make_workspace(space, config.batch);
    hidden_ = make_uninitialized<rows_type>(space, "Recommender::hidden", rows, config.dim);
    dhidden_ = make_uninitialized<rows_type>(space, "Recommender::dhidden", rows, config.dim);
    cand_ = make_uninitialized<View2<id_t, Space>>(space, "Recommender::candidates", rows, 1 + config.negatives);
    scores_ = make_uninitialized<rows_type>(space, "Recommender::scores", rows, 1 + config.negatives);
    dscores_ = make_uninitialized<rows_type>(space, "Recommender::dscores", rows, 1 + config.negatives);
  }

  static constexpr std::uint64_t feature_init_stream = std::uint64_t(0x66656174) << 32;  // "feat"

  index_t maxlen() const { return encoder_.maxlen(); }
  index_t batch_size() const { return config_.batch; }
  bool has_item_features() const { return projection_.has_value(); }
  const std::optional<sequence::FeatureProjection<T, Space>>& feature_projection() const { return projection_; }
  // The item ids the last train_step scored ([batch * maxlen, 1 + negatives]: target, negatives; 0 = padding):
  // with the batch's inputs, every row of the item embedding that step's gradient touches.
  View2<const id_t, Space> candidates() const { return cand_; }
  index_t dim() const { return config_.dim; }
  index_t num_items() const { return items_.rows() - 1; }
  // The item embedding's initial spread: N(0, s) per entry.
  T item_init_stddev() const {
    return T(config_.init_stddev > 0 ? config_.init_stddev : 1.0 / std::sqrt(double(config_.dim)));
  }

  // Grows the item table to new_num_items items without retraining (new items appearing in a feedback loop):
  // rows 0..num_items() stay bit-identical, new rows are N(0, item_init_stddev()) drawn from `seed` (the counter
  // is the entry's flat offset, so growing 30 -> 31 -> 33 gives the rows 30 -> 33 gives), and Adam's moments of
  // the new rows start at 0. Nothing else the model keeps is sized by the catalogue (workspaces follow batch,
  // window and dim; negatives come from the caller's sampler), so old users' scores over old items do not move;
  // score_all then fills [B x new_num_items + 1].
  void grow_items(const Space& space, index_t new_num_items, std::uint64_t seed) {
    SEQREC_REQUIRE(new_num_items >= num_items(), "grow_items: the table has ", num_items(), " items, cannot shrink to ",
                   new_num_items);
    if (new_num_items == num_items()) return;
    SEQREC_REQUIRE(!projection_,
                   "grow_items: a model with item features needs the new items' feature rows; "
                   "growing it is not supported");
    // The grown table is registered in a scratch set only to build the Embedding over it; params_ then adopts it
    // in the place of the old one (same name, same position), copying the old rows.
    ParameterSet<T, Space> scratch;
    sequence::Embedding<T, Space> grown(space, scratch, items_.parameter().name(), new_num_items + 1, dim());
    fill_normal_rows(space, grown, items_.rows(), RandomStream(seed, 0x6974656d73ull), item_init_stddev());  // "items"
    params_.replace_with_grown(space, grown.parameter());
    items_ = grown;
    optimizer_->resize_state(space);
  }

  // Rows `ids` of E as for items never trained: zeros (`zero`: with item features such an item is then its
  // projected features alone) or fresh N(0, item_init_stddev()) draws from `seed` (a new item of a model without
  // features: what grow_items gives it). Used to evaluate held-out items as new ones; Adam's moments stay.
  void reset_item_rows(const Space& space, const std::vector<id_t>& ids, bool zero, std::uint64_t seed) {
    for (id_t id : ids)
      SEQREC_REQUIRE(id > 0 && id <= num_items(), "reset_item_rows: item ", id, " is not in 1..", num_items());
    if (ids.empty()) return;
    auto dev = make_uninitialized<View1<id_t, Space>>(space, "Recommender::reset_ids", index_t(ids.size()));
    auto host = Kokkos::create_mirror_view(dev);
    for (std::size_t i = 0; i < ids.size(); ++i) host(i) = ids[i];
    Kokkos::deep_copy(space, dev, host);
    auto tab = items_.table();
    const index_t d = dim();
    const T stddev = zero ? T(0) : item_init_stddev();
    const RandomStream rs(seed, 0x6e6577ull);  // "new"
    Kokkos::parallel_for(
        "seqrec::Recommender::reset_item_rows",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {index_t(ids.size()), d}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const id_t id = dev(r);
          tab(id, k) = stddev * rs.normal<T>(static_cast<std::uint64_t>(id * d + k));
        });
    space.fence();  // `host` goes out of scope
    repr_stale_ = true;
  }

  const ParameterSet<T, Space>& parameters() const { return params_; }
  // The learned item table E (with item features, only a part of the representation: see item_representation).
  const sequence::Embedding<T, Space>& items() const { return items_; }
  // What the encoder reads and the head scores: E, or E + P(X) / P(X) with item features (rebuilt when stale).
  const sequence::Embedding<T, Space>& item_representation(const Space& space) {
    if (!projection_) return items_;
    if (repr_stale_) {
      if (with_embedding_)
        Kokkos::deep_copy(space, repr_.table(), items_.table());
      else
        Kokkos::deep_copy(space, repr_.table(), T(0));
      projection_->forward_add(space, repr_.table());
      repr_stale_ = false;
    }
    return repr_;
  }
  const Encoder& encoder() const { return encoder_; }
  train::Adam<T, Space>& optimizer() { return *optimizer_; }
  RandomSource& random() { return rng_; }

  // Parameters, optimizer state and random position, written atomically; `epoch` is what the caller resumes
  // from. Loading into a model built with the same configuration continues exactly where it stopped.
  void save(const std::filesystem::path& path, std::int64_t epoch) const {
    train::save_model(path, params_, *optimizer_, rng_, epoch);
  }
  std::int64_t load(const std::filesystem::path& path) {
    repr_stale_ = true;
    return train::load_model(path, params_, *optimizer_, rng_);
  }

  // One optimisation step on a batch built by data::SequenceBatcher. Throws Errc::numeric naming the first
  // parameter with a NaN/Inf gradient when the loss is not finite. `sync(space, model, batch, loss)` runs
  // between the gradients and the optimizer step and returns the loss the step reports: data-parallel training
  // (dist::GradientSync) combines the ranks' gradients there; the default leaves them as they are.
  template <class Sync = NoGradientSync>
  losses::LossValue train_step(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step,
                               Sync&& sync = {}) {
    batch.require_shape(config_.batch, maxlen(), config_.negatives, "train_step");
    pack_candidates(space, batch);
    params_.zero_grad(space);
    const auto& items = item_representation(space);
    if (projection_) repr_params_.zero_grad(space);
    encoder_.forward(space, batch.inputs, items, hidden_, train_ws_, true, step);
    head_.forward(space, hidden_, cand_, scores_, items);
    const auto loss = loss_.forward_backward(space, scores_, cand_, dscores_);
    if (!std::isfinite(loss.value)) {
      params_.require_finite(space, "training step with a non-finite loss");
      SEQREC_THROW(Errc::numeric, "the training loss is ", loss.value, " while every parameter is finite");
    }
    head_.backward(space, hidden_, cand_, dscores_, dhidden_, items);
    encoder_.backward(space, batch.inputs, items, dhidden_, train_ws_, true, step);
    if (projection_) feature_gradients(space);
    const losses::LossValue reported = sync(space, *this, batch, loss);
    optimizer_->step(space);
    repr_stale_ = projection_.has_value();
    return reported;
  }

  // Input windows for scoring: windows(u, :) is user u's left-padded last `maxlen` items. Set it before
  // evaluating (e.g. training items for validation, training + validation items for test).
  void set_scoring_windows(const Space& space, const data::Sequences& history, index_t eval_batch = 256) {
    windows_.set(space, encoder_, history, eval_batch);
  }

  // The encoder's state after the last item of each user's scoring window ([users, dim], inference mode).
  auto last_states(const Space& space, View1<const id_t, Space> users) {
    return windows_.encode_last(space, encoder_, item_representation(space), users);
  }

  // Scorer (eval/sampled.hpp): scores(b, j) = h_u . E[candidates(b, j)] with h_u the state after the last
  // item of users(b)'s scoring window. Inference mode (no dropout).
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) {
    head_.forward(space, last_states(space, users), candidates, scores, item_representation(space));
  }

  // Full-ranking scorer: scores(b, i) for every item (column 0 is padding and scores 0).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) {
    SEQREC_REQUIRE_SHAPE(scores, "score_all scores", index_t(users.extent(0)), num_items() + 1);
    const auto states = last_states(space, users);
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), states, item_representation(space).table(), T(0),
                 scores);
  }

  // The helpers below are public only because nvcc refuses device lambdas inside private member functions.
  // cand(b*L + t, 0) = target, cand(b*L + t, 1 + j) = j-th negative (0 where the position is padding).
  void pack_candidates(const Space& space, const data::SequenceBatch<Space>& batch) {
    auto cand = cand_;
    auto targets = batch.targets;
    auto negs = batch.negatives;
    const index_t L = maxlen(), n = config_.negatives;
    Kokkos::parallel_for(
        "seqrec::Recommender::pack_candidates",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const index_t r = b * L + t;
          const id_t target = targets(b, t);
          cand(r, 0) = target;
          for (index_t j = 0; j < n; ++j) cand(r, 1 + j) = target == 0 ? 0 : negs(b, t, j);
        });
  }

  // The representation's gradient to its parts: E.grad += dR (the rows the step touched, the rest are zero)
  // when E is part of it, and P's parameters through the projection.
  void feature_gradients(const Space& space) {
    if (with_embedding_) {
      auto* g = items_.grad().data();
      const auto* r = repr_.grad().data();
      Kokkos::parallel_for(
          "seqrec::Recommender::feature_gradients", Kokkos::RangePolicy<Space>(space, 0, repr_.grad().size()),
          KOKKOS_LAMBDA(std::int64_t i) { g[i] += r[i]; });
    }
    projection_->backward(space, repr_.grad());
  }

  // table rows first_row.. of `e` = stddev * N(0, 1), counter the entry's flat offset.
  static void fill_normal_rows(const Space& space, const sequence::Embedding<T, Space>& e, index_t first_row,
                               RandomStream rs, T stddev) {
    auto tab = e.table();
    const index_t d = e.dim();
    Kokkos::parallel_for(
        "seqrec::Recommender::grow_items",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {first_row, index_t(0)}, {e.rows(), d}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          tab(r, k) = stddev * rs.normal<T>(static_cast<std::uint64_t>(r * d + k));
        });
  }

 private:
  RecommenderConfig config_;
  RandomSource rng_;
  ParameterSet<T, Space> params_;
  sequence::Embedding<T, Space> items_;
  Encoder encoder_;
  Head head_;
  Loss loss_;
  std::optional<train::Adam<T, Space>> optimizer_;
  typename Encoder::Workspace train_ws_;
  sequence::ScoringWindows<Encoder> windows_;
  rows_type hidden_, dhidden_, scores_, dscores_;
  View2<id_t, Space> cand_;
  // Item features: the projection (its parameters are in params_) and the representation table, a scratch
  // "parameter" outside params_ so the encoder and head read and write it as they do E.
  std::optional<sequence::FeatureProjection<T, Space>> projection_;
  ParameterSet<T, Space> repr_params_;
  sequence::Embedding<T, Space> repr_;
  bool with_embedding_ = true;
  bool repr_stale_ = true;
};

}  // namespace seqrec
