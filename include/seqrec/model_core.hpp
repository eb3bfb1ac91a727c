// ModelCore<Encoder, Optimizer>: what every next-item model shares (SequentialRecommender, MultiTaskRecommender,
// ContextRecommender): the parameters, the item embedding shared by the encoder's input and the head's scores, the
// encoder, the optimizer, the random source, item features, the training buffers and the scoring windows, with
// checkpoints, catalogue growth and the training step's encoder half. A model derives from it and adds its head,
// its loss and whatever it trains besides:
//
//   class MyModel : public ModelCore<Encoder> {
//     MyModel(...) : ModelCore<Encoder>(space, num_items, config, seed, make, "MyModel") {
//       /* register the head's parameters in params_ */  finish(space);  }
//   };
//
// Parameters register in a fixed order (items, encoder, then what the model adds, then item features), so
// checkpoints of models built alike line up, and the initial draws of the shared part do not depend on the rest.
//
// Item features (ItemFeatureInput): items can be represented by E + P(X) instead of E, with X a constant feature
// matrix (e.g. sentence embeddings of item texts, data/item_features.hpp) and P a learned projection
// (sequence/feature_projection.hpp), or by P(X) alone. Items without interactions then still score by what
// their features say. The representation table is rebuilt before each step and before scoring after a
// change; its gradient goes back to E (the same rows) and through P.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/losses/loss.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/encoder.hpp>
#include <seqrec/sequence/feature_projection.hpp>
#include <seqrec/sequence/scoring_windows.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/checkpoint.hpp>
#include <seqrec/train/optimizer.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace seqrec {

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
  train::AdamConfig adam;  // the optimizer's configuration when it is Adam and none is given otherwise
  // Catalogue losses (full softmax): logits are formed for at most this many entries (rows x (items + 1)) at a
  // time, so memory stays bounded whatever the catalogue; the rows of a batch are taken in blocks.
  std::int64_t catalogue_block = std::int64_t(1) << 25;
};

// Constant item features and how the model uses them.
template <Scalar T, ExecutionSpace Space>
struct ItemFeatureInput {
  View2<const T, Space> features;  // [(num_items + 1), F], row 0 (padding) zeros: data::ItemFeatures::to_device
  sequence::FeatureProjectionConfig projection;
  bool with_embedding = true;  // E + P(X); false: P(X) alone (no per-item free parameters)
};

// The configured policies of a model (default-constructed when not given; the optimizer's configuration defaults to
// RecommenderConfig::adam for Adam): `{.loss = seqrec::losses::BprMax<float, Space>(0.5f)}`.
template <class Head, class Loss, class OptimizerConfig>
struct ModelPolicies {
  Loss loss{};
  Head head{};
  std::optional<OptimizerConfig> optimizer{};
};

template <class Encoder,
          class Optimizer = train::Adam<typename Encoder::scalar_type, typename Encoder::execution_space>>
class ModelCore {
  static_assert(check_sequence_encoder<Encoder>());
  static_assert(train::check_optimizer<Optimizer>());

 public:
  using scalar_type = typename Encoder::scalar_type;
  using execution_space = typename Encoder::execution_space;
  using memory_space = typename execution_space::memory_space;
  using encoder_type = Encoder;
  using optimizer_type = Optimizer;
  using optimizer_config = typename Optimizer::config_type;
  using T = scalar_type;
  using Space = execution_space;
  using rows_type = View2<T, Space>;

  static constexpr std::uint64_t feature_init_stream = std::uint64_t(0x66656174) << 32;  // "feat"

  // Registers and draws the item table and the encoder (`make(space, params, dim)`); the model then registers
  // its own parameters and calls finish().
  template <class MakeEncoder>
  ModelCore(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed, MakeEncoder&& make,
            const char* who)
      : config_(config),
        rng_(seed),
        items_(space, params_, "items", num_items + 1, config.dim),
        encoder_(make(space, params_, config.dim)),
        who_(who) {
    SEQREC_REQUIRE(num_items > 0, who, ": there are no items");
    SEQREC_REQUIRE(config.batch > 0 && config.negatives > 0, who, ": batch (", config.batch, ") and negatives (",
                   config.negatives, ") must be positive");
    SEQREC_REQUIRE(config.catalogue_block > 0, who, ": catalogue_block must be positive");
    items_.init_normal(space, rng_.next(), item_init_stddev());
    encoder_.init(space, rng_);
  }

  index_t maxlen() const { return encoder_.maxlen(); }
  index_t batch_size() const { return config_.batch; }
  index_t negatives() const { return config_.negatives; }
  index_t dim() const { return config_.dim; }
  index_t num_items() const { return items_.rows() - 1; }
  const RecommenderConfig& config() const { return config_; }
  bool has_item_features() const { return projection_.has_value(); }
  const std::optional<sequence::FeatureProjection<T, Space>>& feature_projection() const { return projection_; }
  // The item ids the last train_step scored ([batch * maxlen, 1 + negatives]: target, negatives; 0 = padding):
  // with the batch's inputs, every row of the item embedding that step's gradient touches.
  View2<const id_t, Space> candidates() const { return cand_; }
  // The item embedding's initial spread: N(0, s) per entry.
  T item_init_stddev() const {
    return T(config_.init_stddev > 0 ? config_.init_stddev : 1.0 / std::sqrt(double(config_.dim)));
  }
  const ParameterSet<T, Space>& parameters() const { return params_; }
  // The learned item table E (with item features, only a part of the representation: see item_representation).
  const sequence::Embedding<T, Space>& items() const { return items_; }
  const Encoder& encoder() const { return encoder_; }
  Optimizer& optimizer() { return *optimizer_; }
  RandomSource& random() { return rng_; }

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

  // Parameters, optimizer state and random position, written atomically; `epoch` is what the caller resumes
  // from. Loading into a model built with the same configuration continues exactly where it stopped.
  void save(const std::filesystem::path& path, std::int64_t epoch) const {
    train::save_model(path, params_, *optimizer_, rng_, epoch);
  }
  std::int64_t load(const std::filesystem::path& path) {
    repr_stale_ = true;
    return train::load_model(path, params_, *optimizer_, rng_);
  }

  // Grows the item table to new_num_items items without retraining (new items appearing in a feedback loop):
  // rows 0..num_items() stay bit-identical, new rows are N(0, item_init_stddev()) drawn from `seed` (the counter
  // is the entry's flat offset, so growing 30 -> 31 -> 33 gives the rows 30 -> 33 gives), and the optimizer's
  // state of the new rows starts at 0. Nothing else the model keeps is sized by the catalogue (workspaces follow
  // batch, window and dim; negatives come from the caller's sampler; a catalogue loss's logits are re-made on
  // its next step), so old users' scores over old items do not move; score_all then fills [B x new_num_items + 1].
  void grow_items(const Space& space, index_t new_num_items, std::uint64_t seed) {
    SEQREC_REQUIRE(new_num_items >= num_items(), "grow_items: the table has ", num_items(), " items, cannot shrink to ",
                   new_num_items);
    if (new_num_items == num_items()) return;
    SEQREC_REQUIRE(!projection_,
                   "grow_items: a model with item features needs the new items' feature rows; "
                   "growing it is not supported");
    if constexpr (requires(Optimizer & o) { o.resize_state(space); }) {
      // The grown table is registered in a scratch set only to build the Embedding over it; params_ then adopts it
      // in the place of the old one (same name, same position), copying the old rows.
      ParameterSet<T, Space> scratch;
      sequence::Embedding<T, Space> grown(space, scratch, items_.parameter().name(), new_num_items + 1, dim());
      fill_normal_rows(space, grown, items_.rows(), RandomStream(seed, 0x6974656d73ull), item_init_stddev());
      params_.replace_with_grown(space, grown.parameter());
      items_ = grown;
      optimizer_->resize_state(space);
    } else {
      SEQREC_THROW(Errc::invalid_argument, "grow_items: the optimizer cannot grow its state (no resize_state)");
    }
  }

  // Rows `ids` of E as for items never trained: zeros (`zero`: with item features such an item is then its
  // projected features alone) or fresh N(0, item_init_stddev()) draws from `seed` (a new item of a model without
  // features: what grow_items gives it). Used to evaluate held-out items as new ones; the optimizer's state stays.
  void reset_item_rows(const Space& space, const std::vector<id_t>& ids, bool zero, std::uint64_t seed) {
    for (id_t id : ids)
      SEQREC_REQUIRE(id > 0 && id <= num_items(), "reset_item_rows: item ", id, " is not in 1..", num_items());
    if (ids.empty()) return;
    auto dev = make_uninitialized<View1<id_t, Space>>(space, "ModelCore::reset_ids", index_t(ids.size()));
    auto host = Kokkos::create_mirror_view(dev);
    for (std::size_t i = 0; i < ids.size(); ++i) host(i) = ids[i];
    Kokkos::deep_copy(space, dev, host);
    auto tab = items_.table();
    const index_t d = dim();
    const T stddev = zero ? T(0) : item_init_stddev();
    const RandomStream rs(seed, 0x6e6577ull);  // "new"
    Kokkos::parallel_for(
        "seqrec::ModelCore::reset_item_rows",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {index_t(ids.size()), d}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const id_t id = dev(r);
          tab(id, k) = stddev * rs.normal<T>(static_cast<std::uint64_t>(id * d + k));
        });
    space.fence();  // `host` goes out of scope
    repr_stale_ = true;
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

  // ---- the training step's shared halves, and kernels: public only because nvcc refuses device lambdas inside
  // private member functions ----

  // Zeroes the gradients, packs the batch's candidates and targets, and runs the encoder: hidden() holds the
  // states of every position. Returns the item representation the step uses.
  const sequence::Embedding<T, Space>& forward_encoder(const Space& space, const data::SequenceBatch<Space>& batch,
                                                       RandomStream step, bool train = true) {
    batch.require_shape(config_.batch, maxlen(), config_.negatives, "train_step");
    pack_candidates(space, batch);
    if (train) {
      params_.zero_grad(space);
      if (projection_) repr_params_.zero_grad(space);
    }
    const auto& items = item_representation(space);
    encoder_.forward(space, batch.inputs, items, hidden_, train_ws_, train, step);
    return items;
  }

  // From dhidden() back through the encoder (and the feature projection).
  void backward_encoder(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step) {
    encoder_.backward(space, batch.inputs, item_representation(space), dhidden_, train_ws_, true, step);
    if (projection_) feature_gradients(space);
  }

  // Throws Errc::numeric naming the first parameter with a NaN/Inf gradient when `value` is not finite.
  void require_finite_loss(const Space& space, double value, const char* task = nullptr) const {
    if (std::isfinite(value)) return;
    params_.require_finite(space, "training step with a non-finite loss");
    if (task)
      SEQREC_THROW(Errc::numeric, "the training loss of task ", task, " is ", value,
                   " while every parameter is finite");
    SEQREC_THROW(Errc::numeric, "the training loss is ", value, " while every parameter is finite");
  }

  void step_optimizer(const Space& space) {
    optimizer_->step(space);
    repr_stale_ = projection_.has_value();
  }

  rows_type hidden() const { return hidden_; }
  rows_type dhidden() const { return dhidden_; }
  // targets(r) = the target of row r (0: padding), as packed by the last step.
  View1<const id_t, Space> targets() const { return targets_; }

  // cand(b*L + t, 0) = target, cand(b*L + t, 1 + j) = j-th negative (0 where the position is padding).
  void pack_candidates(const Space& space, const data::SequenceBatch<Space>& batch) {
    auto cand = cand_;
    auto tgt = targets_;
    auto targets = batch.targets;
    auto negs = batch.negatives;
    const index_t L = maxlen(), n = config_.negatives;
    Kokkos::parallel_for(
        "seqrec::ModelCore::pack_candidates",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const index_t r = b * L + t;
          const id_t target = targets(b, t);
          cand(r, 0) = target;
          tgt(r) = target;
          for (index_t j = 0; j < n; ++j) cand(r, 1 + j) = target == 0 ? 0 : negs(b, t, j);
        });
  }

  // f(the loss itself), or f(the loss a VisitableLoss (RuntimeLoss) holds): one call site for fixed and run-time
  // losses.
  template <class L, class F>
  static decltype(auto) visit_loss(const L& loss, F&& f) {
    if constexpr (losses::VisitableLoss<L>)
      return loss.visit(std::forward<F>(f));
    else
      return f(loss);
  }

  // The value and gradient of a loss over the sampled candidates, for models that train on candidates only (they
  // check a run-time loss with require_candidate_loss when built, so the catalogue branch is never taken).
  template <class L>
  static losses::LossValue candidate_loss(const Space& space, const L& loss, View2<const T, Space> scores,
                                          View2<const id_t, Space> cand, rows_type dscores) {
    return visit_loss(loss, [&](const auto& l) -> losses::LossValue {
      if constexpr (losses::CandidateLoss<std::remove_cvref_t<decltype(l)>>)
        return l.forward_backward(space, scores, cand, dscores);
      else
        return {};
    });
  }
  template <class L>
  void require_candidate_loss(const L& loss, const char* why) const {
    if constexpr (losses::VisitableLoss<L>)
      SEQREC_REQUIRE(
          visit_loss(loss, [](const auto& l) { return losses::CandidateLoss<std::remove_cvref_t<decltype(l)>>; }), who_,
          ": the next-item loss must score the sampled candidates (", loss.name(), " is a catalogue loss; ", why, ")");
  }

  // The next-item loss of the packed step with `head` and `loss` (a CandidateLoss over the sampled candidates, or
  // a CatalogueLoss over every item), its gradient back through the head into dhidden() and the item table.
  template <class Head, class L>
  losses::LossValue next_item_loss(const Space& space, const Head& head, const L& loss,
                                   const sequence::Embedding<T, Space>& items) {
    if constexpr (losses::CatalogueLoss<L>) {
      return catalogue_loss(space, head, loss, items);
    } else {
      static_assert(losses::CandidateLoss<L>, "seqrec: next_item_loss takes a candidate or a catalogue loss");
      ensure_candidate_buffers(space);
      head.forward(space, hidden_, cand_, scores_, items);
      const auto value = loss.forward_backward(space, scores_, cand_, dscores_);
      head.backward(space, hidden_, cand_, dscores_, dhidden_, items);
      return value;
    }
  }

  // Rows with a target are compacted (padding positions, most of a batch on short sequences, cost nothing) and
  // taken in blocks of at most catalogue_block logits; each block's gradient is weighted by its share of rows so
  // the step's gradient is that of the mean over all of them.
  template <class Head, class L>
  losses::LossValue catalogue_loss(const Space& space, const Head& head, const L& loss,
                                   const sequence::Embedding<T, Space>& items) {
    const index_t rows = index_t(hidden_.extent(0)), n1 = items.rows(), d = dim();
    const index_t block =
        index_t(std::max<std::int64_t>(1, std::min<std::int64_t>(rows, config_.catalogue_block / n1)));
    if (index_t(logits_.extent(0)) != block || index_t(logits_.extent(1)) != n1) {
      logits_ = make_uninitialized<rows_type>(space, "ModelCore::logits", block, n1);
      dlogits_ = make_uninitialized<rows_type>(space, "ModelCore::dlogits", block, n1);
      chidden_ = make_uninitialized<rows_type>(space, "ModelCore::compact_hidden", block, d);
      cdhidden_ = make_uninitialized<rows_type>(space, "ModelCore::compact_dhidden", block, d);
      rowidx_ = make_uninitialized<View1<index_t, Space>>(space, "ModelCore::rows", rows);
      ctargets_ = make_uninitialized<View1<id_t, Space>>(space, "ModelCore::compact_targets", rows);
    }
    const index_t m = compact_rows(space);
    Kokkos::deep_copy(space, dhidden_, T(0));
    if (m == 0) return {};
    double total = 0;
    for (index_t lo = 0; lo < m; lo += block) {
      const index_t k = std::min(block, m - lo);
      const auto part = std::make_pair(index_t(0), k);
      rows_type ch = Kokkos::subview(chidden_, part, Kokkos::ALL);
      rows_type cdh = Kokkos::subview(cdhidden_, part, Kokkos::ALL);
      rows_type lg = Kokkos::subview(logits_, part, Kokkos::ALL);
      rows_type dl = Kokkos::subview(dlogits_, part, Kokkos::ALL);
      move_rows(space, lo, k, /*gather=*/true);
      head.forward_all(space, ch, lg, items);
      const auto v = loss.forward_backward(space, lg, Kokkos::subview(ctargets_, std::make_pair(lo, lo + k)), dl);
      if (k != m) scale(space, dl, T(double(k) / double(m)));
      head.backward_all(space, ch, dl, cdh, items);
      move_rows(space, lo, k, /*gather=*/false);
      total += v.value * double(v.count);
    }
    return {total / double(m), m};
  }

  // rowidx(i) = the i-th row with a target, ctargets(i) its target; returns how many.
  index_t compact_rows(const Space& space) {
    auto tgt = targets_;
    auto idx = rowidx_;
    auto ct = ctargets_;
    index_t m = 0;
    Kokkos::parallel_scan(
        "seqrec::ModelCore::compact_rows", Kokkos::RangePolicy<Space>(space, 0, index_t(tgt.extent(0))),
        KOKKOS_LAMBDA(index_t r, index_t & offset, bool final) {
          const id_t t = tgt(r);
          if (final && t != 0) {
            idx(offset) = r;
            ct(offset) = t;
          }
          offset += t != 0 ? 1 : 0;
        },
        m);
    space.fence();
    return m;
  }

  // gather: chidden(i) = hidden(rowidx(lo + i)); otherwise dhidden(rowidx(lo + i)) = cdhidden(i).
  void move_rows(const Space& space, index_t lo, index_t k, bool gather) {
    auto idx = rowidx_;
    auto h = hidden_;
    auto dh = dhidden_;
    auto ch = chidden_;
    auto cdh = cdhidden_;
    Kokkos::parallel_for(
        "seqrec::ModelCore::move_rows", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {k, dim()}),
        KOKKOS_LAMBDA(index_t i, index_t j) {
          const index_t r = idx(lo + i);
          if (gather)
            ch(i, j) = h(r, j);
          else
            dh(r, j) = cdh(i, j);
        });
  }

  static void scale(const Space& space, rows_type x, T factor) {
    auto* p = x.data();
    const std::int64_t n = std::int64_t(x.extent(0)) * std::int64_t(x.extent(1));
    Kokkos::parallel_for(
        "seqrec::ModelCore::scale", Kokkos::RangePolicy<Space>(space, 0, n),
        KOKKOS_LAMBDA(std::int64_t i) { p[i] *= factor; });
  }

  // The representation's gradient to its parts: E.grad += dR (the rows the step touched, the rest are zero)
  // when E is part of it, and P's parameters through the projection.
  void feature_gradients(const Space& space) {
    if (with_embedding_) {
      auto* g = items_.grad().data();
      const auto* r = repr_.grad().data();
      Kokkos::parallel_for(
          "seqrec::ModelCore::feature_gradients", Kokkos::RangePolicy<Space>(space, 0, repr_.grad().size()),
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
        "seqrec::ModelCore::grow_items",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {first_row, index_t(0)}, {e.rows(), d}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          tab(r, k) = stddev * rs.normal<T>(static_cast<std::uint64_t>(r * d + k));
        });
  }

 protected:
  // Item features (registered after everything else, drawn from a stream of their own: the other parameters
  // start as without features), then the optimizer over every registered parameter and the training buffers.
  void finish(const Space& space, const std::optional<ItemFeatureInput<T, Space>>& features = std::nullopt,
              const std::optional<optimizer_config>& optimizer = std::nullopt) {
    if (features) {
      SEQREC_REQUIRE(index_t(features->features.extent(0)) == num_items() + 1, who_, ": item features have ",
                     features->features.extent(0), " rows, the model needs num_items + 1 = ", num_items() + 1,
                     " (row 0 is padding)");
      projection_.emplace(space, params_, "item_features", features->features, config_.dim, features->projection);
      projection_->init(space, rng_.stream(feature_init_stream));
      with_embedding_ = features->with_embedding;
      repr_ = sequence::Embedding<T, Space>(space, repr_params_, "items+features", num_items() + 1, config_.dim);
    }
    if (optimizer)
      optimizer_.emplace(space, params_, *optimizer);
    else if constexpr (std::same_as<optimizer_config, train::AdamConfig>)
      optimizer_.emplace(space, params_, config_.adam);
    else
      optimizer_.emplace(space, params_, optimizer_config{});
    const index_t rows = config_.batch * maxlen();
    train_ws_ = encoder_.make_workspace(space, config_.batch);
    hidden_ = make_uninitialized<rows_type>(space, "ModelCore::hidden", rows, config_.dim);
    dhidden_ = make_uninitialized<rows_type>(space, "ModelCore::dhidden", rows, config_.dim);
    cand_ = make_uninitialized<View2<id_t, Space>>(space, "ModelCore::candidates", rows, 1 + config_.negatives);
    targets_ = make_uninitialized<View1<id_t, Space>>(space, "ModelCore::targets", rows);
  }

  // Scores of the sampled candidates: made on the first step that needs them (a catalogue loss never does).
  void ensure_candidate_buffers(const Space& space) {
    if (scores_.extent(0) == cand_.extent(0) && scores_.extent(1) == cand_.extent(1)) return;
    scores_ = make_uninitialized<rows_type>(space, "ModelCore::scores", cand_.extent(0), cand_.extent(1));
    dscores_ = make_uninitialized<rows_type>(space, "ModelCore::dscores", cand_.extent(0), cand_.extent(1));
  }

  RecommenderConfig config_;
  RandomSource rng_;
  ParameterSet<T, Space> params_;
  sequence::Embedding<T, Space> items_;
  Encoder encoder_;
  const char* who_;
  std::optional<Optimizer> optimizer_;
  typename Encoder::Workspace train_ws_;
  sequence::ScoringWindows<Encoder> windows_;
  rows_type hidden_, dhidden_, scores_, dscores_;
  View2<id_t, Space> cand_;
  View1<id_t, Space> targets_;
  // Catalogue losses: compacted rows and one block of logits.
  rows_type logits_, dlogits_, chidden_, cdhidden_;
  View1<index_t, Space> rowidx_;
  View1<id_t, Space> ctargets_;
  // Item features: the projection (its parameters are in params_) and the representation table, a scratch
  // "parameter" outside params_ so the encoder and head read and write it as they do E.
  std::optional<sequence::FeatureProjection<T, Space>> projection_;
  ParameterSet<T, Space> repr_params_;
  sequence::Embedding<T, Space> repr_;
  bool with_embedding_ = true;
  bool repr_stale_ = true;
};

}  // namespace seqrec
