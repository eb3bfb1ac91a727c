// What a loss provides, in one place. Two families, told apart by what they score:
//
//   CandidateLoss: scores [R, C] of candidates [R, C] (column 0 the positive, the rest sampled negatives, id 0
//     padding), as heads::DotProduct::forward gives them. BinaryCrossEntropy, Bpr, BprMax, Top1Max,
//     SampledSoftmax, GeneralizedBce.
//   CatalogueLoss: logits [R, N + 1] over the whole catalogue (heads::DotProduct::forward_all) and targets [R]
//     (0: padding row). CrossEntropy (the full softmax of SASRec+, Klenitskiy & Vasilev 2023).
//
// Both return the mean over the rows that count and write d loss / d scores (an empty view skips it). A model
// takes either; one chosen at run time (losses::RuntimeLoss, losses/registry.hpp) exposes visit(f).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <concepts>

namespace seqrec::losses {

struct LossValue {
  double value = 0;   // mean over counted rows
  index_t count = 0;  // rows that had a target
};

template <class L>
concept CandidateLoss = Component<L> && requires(const L& l, const typename L::execution_space& space,
                                                 View2<const typename L::scalar_type, typename L::execution_space> s,
                                                 View2<const id_t, typename L::execution_space> cand,
                                                 View2<typename L::scalar_type, typename L::execution_space> ds) {
  { l.forward_backward(space, s, cand, ds) } -> std::same_as<LossValue>;
  { L::name } -> std::convertible_to<const char*>;
};

template <class L>
concept CatalogueLoss = Component<L> && requires(const L& l, const typename L::execution_space& space,
                                                 View2<const typename L::scalar_type, typename L::execution_space> s,
                                                 View1<const id_t, typename L::execution_space> targets,
                                                 View2<typename L::scalar_type, typename L::execution_space> ds) {
  { l.forward_backward(space, s, targets, ds) } -> std::same_as<LossValue>;
  { L::name } -> std::convertible_to<const char*>;
};

// A loss chosen at run time: visit(f) calls f with the loss it holds (a CandidateLoss or a CatalogueLoss), one of
// the std::variant it exposes as variant_type. (Checked through the variant, not through a lambda in a
// requires-expression, which nvcc does not take.)
template <class L>
concept VisitableLoss = Component<L> && requires(const L& l) {
  typename L::variant_type;
  { l.get() } -> std::convertible_to<const typename L::variant_type&>;
};

template <class L>
concept Loss = CandidateLoss<L> || CatalogueLoss<L> || VisitableLoss<L>;

namespace detail {
template <class L>
concept has_loss_name = requires {
  { L::name } -> std::convertible_to<const char*>;
};
template <class L>
concept has_forward_backward = requires {
  &L::forward_backward;
};
}  // namespace detail

template <class L>
constexpr bool check_loss() {
  check_component<L>();
  if constexpr (!VisitableLoss<L>) {
    static_assert(detail::has_loss_name<L>,
                  "seqrec: a loss needs `static constexpr const char* name = \"...\";` (the name --loss takes)");
    static_assert(Loss<L> || !detail::has_loss_name<L>,
                  "seqrec: a loss needs forward_backward(space, scores [R,C], candidates [R,C], dscores) -> LossValue "
                  "(a candidate loss, see losses/binary_cross_entropy.hpp) or forward_backward(space, logits [R,N+1], "
                  "targets [R], dlogits) -> LossValue (a catalogue loss, see losses/cross_entropy.hpp)");
  }
  return true;
}

}  // namespace seqrec::losses
