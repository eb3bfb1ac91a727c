// ContextRecommender<Encoder>: SequentialRecommender's next-item model with the context-aware head
// (heads/context_head.hpp) in place of the plain dot product: the hidden state is gated by the embedded context
// of the interaction being predicted before it meets the item embedding,
//   p(i | u, t) = sigmoid((h_t * 2 sigmoid(c_{t+1} W + b)) . e_i).
// The context comes from a ContextTable built over every interaction of every user (time gap, hour, weekday,
// user attributes). Training position t of user u predicts the user's training item k = n_u - L + t, whose
// context is table row (u, k); scoring a user whose history has n items uses row (u, n): the context of the
// request that the held-out item answered. Any encoder (SASRec, GRU, LSTM) plugs in:
//
//   using Model = seqrec::ContextRecommender<seqrec::sequence::SelfAttentionEncoder<float, Space>>;
//   Model model(space, num_items, config, seed, context_table, train_sequences, make_encoder);
//
// The head starts as the plain head (gate = 1 up to the small context init) and draws its initial weights from a
// stream the model's RandomSource never reaches, so the rest of the initialisation is SequentialRecommender's.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/heads/context_head.hpp>
#include <seqrec/heads/context_table.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/loss.hpp>
#include <seqrec/model_core.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/scoring_windows.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/checkpoint.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace seqrec {

template <class Encoder,
          class Loss = losses::BinaryCrossEntropy<typename Encoder::scalar_type, typename Encoder::execution_space>>
class ContextRecommender : public ModelCore<Encoder> {
  using Core = ModelCore<Encoder>;
  static_assert(losses::check_loss<Loss>());
  static_assert(!losses::CatalogueLoss<Loss>,
                "seqrec: ContextRecommender trains on sampled candidates (the context gates each one): a candidate "
                "loss (losses/loss.hpp), or a RuntimeLoss holding one");

 public:
  using scalar_type = typename Encoder::scalar_type;
  using execution_space = typename Encoder::execution_space;
  using memory_space = typename execution_space::memory_space;
  using T = scalar_type;
  using Space = execution_space;
  using rows_type = View2<T, Space>;
  using Head = heads::ContextHead<T, Space>;
  using loss_type = Loss;
  using context_ids = Kokkos::View<id_t**, Kokkos::LayoutRight, memory_space>;

  static constexpr std::uint64_t context_init_stream = (std::uint64_t(1) << 62) + 1;

  // table: contexts of every interaction (ContextTable::build over the whole data); train: the training
  // sequences, each a prefix of the table's sequence of the same user (leave-one-out's are). context_dim 0: dim.
  template <class MakeEncoder>
  ContextRecommender(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                     heads::ContextTable<Space> table, const data::Sequences& train, MakeEncoder&& make,
                     index_t context_dim = 0, Loss loss = Loss())
      : Core(space, num_items, config, seed, std::forward<MakeEncoder>(make), "ContextRecommender"),
        table_(std::move(table)),
        head_(space, this->params_, "context_head", config.dim, table_.schema(), context_dim),
        loss_(std::move(loss)) {
    SEQREC_REQUIRE_EQ(train.num_users(), table_.num_users(),
                      "ContextRecommender: users of the training sequences vs "
                      "the context table");
    train_lengths_ = make_uninitialized<View1<index_t, Space>>(space, "ContextRecommender::train_lengths",
                                                               std::max<index_t>(1, train.num_users()));
    auto hl = Kokkos::create_mirror_view(train_lengths_);
    for (index_t u = 0; u < train.num_users(); ++u) {
      SEQREC_REQUIRE(train.length(u) <= table_.length(u), "ContextRecommender: user ", u, " has ", train.length(u),
                     " training items but only ", table_.length(u), " interactions with a context");
      hl(u) = train.length(u);
    }
    Kokkos::deep_copy(space, train_lengths_, hl);
    this->require_candidate_loss(loss_, "the context head gates each sampled candidate");
    RandomSource head_rng(this->rng_.stream(context_init_stream).bits(0));
    head_.init(space, head_rng);
    this->finish(space);
    const index_t rows = config.batch * this->maxlen(), F = table_.num_fields();
    head_ws_ = head_.make_workspace(space, rows);
    ctx_ = make_uninitialized<context_ids>(space, "ContextRecommender::context", rows, F);
  }

  const Head& head() const { return head_; }
  const Loss& loss() const { return loss_; }
  const heads::ContextTable<Space>& context_table() const { return table_; }
  // Context ids of the last train_step's rows ([batch * maxlen, fields]; 0 where the position is padding).
  typename Head::context_type training_contexts() const { return ctx_; }
  // One optimisation step on a batch of the training sequences given at construction (SequenceBatcher over
  // the same sequences). As SequentialRecommender::train_step otherwise.
  template <class Sync = NoGradientSync>
  losses::LossValue train_step(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step,
                               Sync&& sync = {}) {
    const auto& items = this->forward_encoder(space, batch, step);
    this->ensure_candidate_buffers(space);
    pack_context(space, batch);
    head_.forward(space, this->hidden_, ctx_, this->cand_, this->scores_, items, head_ws_);
    const auto loss = Core::candidate_loss(space, loss_, this->scores_, this->cand_, this->dscores_);
    this->require_finite_loss(space, loss.value);
    head_.backward(space, this->hidden_, ctx_, this->cand_, this->dscores_, this->dhidden_, items, head_ws_);
    this->backward_encoder(space, batch, step);
    const losses::LossValue reported = sync(space, *this, batch, loss);
    this->step_optimizer(space);
    return reported;
  }

  // Windows as SequentialRecommender's; user u's request context is table row (u, history.length(u)): the
  // interaction that follows the history (the validation item after the training items, the test item after
  // training + validation).
  void set_scoring_windows(const Space& space, const data::Sequences& history, index_t eval_batch = 256) {
    SEQREC_REQUIRE(history.num_users() <= table_.num_users(), "set_scoring_windows: ", history.num_users(),
                   " users, the context table has ", table_.num_users());
    Core::set_scoring_windows(space, history, eval_batch);
    const index_t U = std::max<index_t>(1, history.num_users()), F = table_.num_fields();
    request_ = make_uninitialized<context_ids>(space, "ContextRecommender::request", U, F);
    auto h = Kokkos::create_mirror_view(request_);
    Kokkos::deep_copy(h, id_t(0));
    for (index_t u = 0; u < history.num_users(); ++u) {
      const auto row = table_.row(u, history.length(u));
      for (index_t f = 0; f < F; ++f) h(u, f) = row[std::size_t(f)];
    }
    Kokkos::deep_copy(space, request_, h);
    if (index_t(eval_ctx_.extent(0)) != eval_batch) {
      eval_ctx_ = make_uninitialized<context_ids>(space, "ContextRecommender::eval_context", eval_batch, F);
      eval_ws_ = head_.make_workspace(space, eval_batch);
    }
    space.fence();
  }

  // Scorer: scores(b, j) = g_u . E[candidates(b, j)] with g_u the last state gated by the request context.
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) {
    const auto last = this->last_states(space, users);
    head_.forward(space, last, gather_request(space, users), candidates, scores, this->item_representation(space),
                  eval_ws_);
  }

  // Full-ranking scorer: g E^T in one gemm (column 0 is padding and scores 0).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) {
    SEQREC_REQUIRE_SHAPE(scores, "score_all scores", index_t(users.extent(0)), this->num_items() + 1);
    const auto last = this->last_states(space, users);
    head_.forward_gated(space, last, gather_request(space, users), eval_ws_);
    gate_head_.forward_all(space, Head::gated(eval_ws_, users.extent(0)), scores, this->item_representation(space));
  }

  // ---- kernels: public only because nvcc refuses device lambdas inside private member functions ----

  // ctx(b*L + t) = context of the target at (b, t) (the candidates are ModelCore's).
  void pack_context(const Space& space, const data::SequenceBatch<Space>& batch) {
    auto ctx = ctx_;
    auto targets = batch.targets;
    auto users = batch.users;
    auto lengths = train_lengths_;
    auto offsets = table_.offsets();
    auto ids = table_.ids();
    const index_t L = this->maxlen(), F = table_.num_fields();
    Kokkos::parallel_for(
        "seqrec::ContextRecommender::pack_context",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const index_t r = b * L + t;
          const id_t target = targets(b, t);
          const id_t u = users(b);
          // The last target (t = L - 1) is the user's last training item, n_u - 1.
          const index_t k = u >= 0 ? lengths(u) - L + t : -1;
          for (index_t f = 0; f < F; ++f) ctx(r, f) = (target != 0 && k >= 0) ? ids(offsets(u) + k, f) : 0;
        });
  }

  // Explicit return type: nvcc refuses device lambdas in functions with a deduced one.
  typename Head::context_type gather_request(const Space& space, View1<const id_t, Space> users) {
    const index_t n = users.extent(0), F = table_.num_fields(), U = request_.extent(0);
    SEQREC_REQUIRE(n <= index_t(eval_ctx_.extent(0)), "score: ", n, " users in one call, the scoring workspace holds ",
                   eval_ctx_.extent(0));
    auto out = eval_ctx_;
    auto req = request_;
    Kokkos::parallel_for(
        "seqrec::ContextRecommender::gather_request",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {n, F}), KOKKOS_LAMBDA(index_t b, index_t f) {
          const id_t u = users(b);
          out(b, f) = (u >= 0 && u < U) ? req(u, f) : 0;
        });
    return typename Head::context_type(Kokkos::subview(eval_ctx_, std::make_pair(index_t(0), n), Kokkos::ALL));
  }

 private:
  heads::ContextTable<Space> table_;
  Head head_;
  heads::DotProduct<T, Space> gate_head_;  // the gated states against every item (full ranking)
  Loss loss_;
  typename Head::Workspace head_ws_, eval_ws_;
  context_ids ctx_, request_, eval_ctx_;
  View1<index_t, Space> train_lengths_;
};

}  // namespace seqrec
