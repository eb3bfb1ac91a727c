// SequentialRecommender<Encoder, Head, Loss, Optimizer>: one model, one training step and one scorer for every
// composition. Swapping SASRec for a GRU or an LSTM is one template argument, and so is the loss:
//
//   using Sasrec  = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<float, Space>>;
//   using Gru4Rec = seqrec::SequentialRecommender<
//       seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<float, Space>>>;
//   using SasrecCe = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<float, Space>,
//       seqrec::heads::DotProduct<float, Space>, seqrec::losses::CrossEntropy<float, Space>>;
//
// Head, Loss and Optimizer are policies; configured ones are passed as instances (Policies), e.g.
// `Model model(space, n, config, seed, make, {.loss = seqrec::losses::BprMax<float, Space>(0.5f)});`.
// The loss is a CandidateLoss (BCE, BPR, BPR-max, TOP1-max, sampled softmax, gBCE: scores of the target and the
// batch's sampled negatives) or a CatalogueLoss (CrossEntropy: the softmax over every item), or a
// losses::RuntimeLoss holding any of them. Scoring, sampled and full, goes through the head.
//
// The item embedding is owned by the model (ModelCore) and shared by the encoder's input and the head's output
// scores; see model_core.hpp for item features.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/heads/head.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/loss.hpp>
#include <seqrec/model_core.hpp>
#include <seqrec/train/adam.hpp>

#include <Kokkos_Core.hpp>

#include <optional>
#include <utility>

namespace seqrec {

template <class Encoder,
          class Head = heads::DotProduct<typename Encoder::scalar_type, typename Encoder::execution_space>,
          class Loss = losses::BinaryCrossEntropy<typename Encoder::scalar_type, typename Encoder::execution_space>,
          class Optimizer = train::Adam<typename Encoder::scalar_type, typename Encoder::execution_space>>
class SequentialRecommender : public ModelCore<Encoder, Optimizer> {
  using Core = ModelCore<Encoder, Optimizer>;
  static_assert(heads::check_head<Head>());
  static_assert(losses::check_loss<Loss>());

 public:
  using typename Core::execution_space;
  using typename Core::memory_space;
  using typename Core::optimizer_config;
  using typename Core::rows_type;
  using typename Core::scalar_type;
  using typename Core::Space;
  using typename Core::T;
  using head_type = Head;
  using loss_type = Loss;

  using Policies = ModelPolicies<Head, Loss, optimizer_config>;

  // Build the encoder with `make(space, params, dim)` so it registers its parameters in this model.
  template <class MakeEncoder>
  SequentialRecommender(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                        MakeEncoder&& make, std::optional<ItemFeatureInput<T, Space>> features = std::nullopt)
      : SequentialRecommender(space, num_items, config, seed, std::forward<MakeEncoder>(make), Policies{},
                              std::move(features)) {}

  template <class MakeEncoder>
  SequentialRecommender(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                        MakeEncoder&& make, Policies policies,
                        std::optional<ItemFeatureInput<T, Space>> features = std::nullopt)
      : Core(space, num_items, config, seed, std::forward<MakeEncoder>(make), "SequentialRecommender"),
        head_(std::move(policies.head)),
        loss_(std::move(policies.loss)) {
    this->finish(space, features, policies.optimizer);
  }

  const Head& head() const { return head_; }
  const Loss& loss() const { return loss_; }

  // One optimisation step on a batch built by data::SequenceBatcher. Throws Errc::numeric naming the first
  // parameter with a NaN/Inf gradient when the loss is not finite. `sync(space, model, batch, loss)` runs
  // between the gradients and the optimizer step and returns the loss the step reports: data-parallel training
  // (dist::GradientSync) combines the ranks' gradients there; the default leaves them as they are.
  template <class Sync = NoGradientSync>
  losses::LossValue train_step(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step,
                               Sync&& sync = {}) {
    const auto& items = this->forward_encoder(space, batch, step);
    const auto loss =
        Core::visit_loss(loss_, [&](const auto& l) { return this->next_item_loss(space, head_, l, items); });
    this->require_finite_loss(space, loss.value);
    this->backward_encoder(space, batch, step);
    const losses::LossValue reported = sync(space, *this, batch, loss);
    this->step_optimizer(space);
    return reported;
  }

  // Scorer (eval/sampled.hpp): scores(b, j) = the head's score of candidates(b, j) for the state after the last
  // item of users(b)'s scoring window. Inference mode (no dropout).
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) {
    head_.forward(space, this->last_states(space, users), candidates, scores, this->item_representation(space));
  }

  // Full-ranking scorer: scores(b, i) for every item (column 0 is padding and scores 0).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) {
    SEQREC_REQUIRE_SHAPE(scores, "score_all scores", index_t(users.extent(0)), this->num_items() + 1);
    head_.forward_all(space, this->last_states(space, users), scores, this->item_representation(space));
  }

 private:
  Head head_;
  Loss loss_;
};

}  // namespace seqrec
