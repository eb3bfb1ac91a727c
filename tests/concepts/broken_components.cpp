// Compile-only checks of the concepts' diagnostics: each SEQREC_BROKEN_<piece> feeds a model a type that lacks one
// thing, and ctest (tests/CMakeLists.txt, concepts/*) expects the build to fail with the sentence that names it.
// Without any of them the file compiles (concepts/control), so each failure is the broken piece's.
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/multitask_recommender.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <Kokkos_Core.hpp>

namespace {

using Space = Kokkos::DefaultHostExecutionSpace;
using T = float;
using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
using Head = seqrec::heads::DotProduct<T, Space>;
using Loss = seqrec::losses::BinaryCrossEntropy<T, Space>;

// A loss whose forward_backward forgot the candidates.
struct LossWithoutCandidates {
  static constexpr const char* name = "broken";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = Space::memory_space;
  seqrec::losses::LossValue forward_backward(const Space&, seqrec::View2<const T, Space>,
                                             seqrec::View2<T, Space>) const {
    return {};
  }
};

// A head that scores sampled candidates but not the whole catalogue.
struct HeadWithoutForwardAll : seqrec::heads::DotProduct<T, Space> {
  void forward_all() const = delete;
};

// An encoder without dim().
struct EncoderWithoutDim {
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = Space::memory_space;
};

// A recurrent layer that cannot make its workspace.
struct LayerWithoutWorkspace : seqrec::sequence::Gru<T, Space> {
  using seqrec::sequence::Gru<T, Space>::Gru;
  void make_workspace() const = delete;
};

// An optimizer without a configuration type.
struct OptimizerWithoutConfig {
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = Space::memory_space;
};

// An auxiliary task whose loss gradient the combinator cannot reach.
struct TaskWithoutUpstream : seqrec::heads::AttributeTask<T, Space> {
  using seqrec::heads::AttributeTask<T, Space>::AttributeTask;
  void upstream() const = delete;
};

}  // namespace

#if defined(SEQREC_BROKEN_LOSS)
template class seqrec::SequentialRecommender<Encoder, Head, LossWithoutCandidates>;
#elif defined(SEQREC_BROKEN_HEAD)
template class seqrec::SequentialRecommender<Encoder, HeadWithoutForwardAll, Loss>;
#elif defined(SEQREC_BROKEN_ENCODER)
template class seqrec::SequentialRecommender<EncoderWithoutDim>;
#elif defined(SEQREC_BROKEN_RECURRENT_LAYER)
template class seqrec::sequence::RecurrentEncoder<LayerWithoutWorkspace>;
#elif defined(SEQREC_BROKEN_OPTIMIZER)
template class seqrec::SequentialRecommender<Encoder, Head, Loss, OptimizerWithoutConfig>;
#elif defined(SEQREC_BROKEN_AUX_TASK)
template class seqrec::MultiTaskModel<Encoder, seqrec::losses::UncertaintyWeighting<2>, std::tuple<TaskWithoutUpstream>>;
#else
static_assert(seqrec::heads::AuxTask<seqrec::heads::AttributeTask<T, Space>, T, Space> &&
              seqrec::heads::AuxTask<seqrec::heads::RatingTask<T, Space>, T, Space> &&
              seqrec::heads::AuxTask<seqrec::heads::ItemItemTask<T, Space>, T, Space> &&
              seqrec::heads::AuxTask<seqrec::heads::UserUserTask<T, Space>, T, Space>);
static_assert(!seqrec::heads::AuxTask<TaskWithoutUpstream, T, Space> &&
              !seqrec::heads::AuxTask<seqrec::heads::AttributeTask<double, Space>, T, Space>);
static_assert(seqrec::heads::Head<Head> && seqrec::losses::Loss<Loss> && seqrec::SequenceEncoder<Encoder>);
static_assert(seqrec::sequence::RecurrentLayer<seqrec::sequence::Gru<T, Space> >);
static_assert(seqrec::train::ModelOptimizer<seqrec::train::Adam<T, Space> >);
static_assert(!seqrec::losses::Loss<LossWithoutCandidates> && !seqrec::heads::Head<HeadWithoutForwardAll>);
static_assert(!seqrec::sequence::RecurrentLayer<LayerWithoutWorkspace>);
#endif
