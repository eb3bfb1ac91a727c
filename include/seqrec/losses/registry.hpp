// The losses a sequential model trains with, as one type list (what --loss names, what RuntimeLoss holds, what
// the conformance test trains with every encoder), and how each is configured from run-time options.
//
// A new loss: write its header (a CandidateLoss or CatalogueLoss, losses/loss.hpp, with a static `name`), add it
// to Losses below, and give it a make_loss overload if it takes parameters. tests/train/test_losses_e2e.cpp then
// trains it with every encoder, and seqrec-train --loss takes its name.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/type_list.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/bpr.hpp>
#include <seqrec/losses/cross_entropy.hpp>
#include <seqrec/losses/gbce.hpp>
#include <seqrec/losses/loss.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace seqrec::losses {

template <Scalar T, ExecutionSpace Space>
using Losses = TypeList<BinaryCrossEntropy<T, Space>, Bpr<T, Space>, BprMax<T, Space>, Top1Max<T, Space>,
                        SampledSoftmax<T, Space>, GeneralizedBce<T, Space>, CrossEntropy<T, Space>>;

// What the parametrised losses read. negatives / num_items: the training's sampled negatives per position and
// the catalogue size (gBCE's beta follows from them).
template <Scalar T, ExecutionSpace Space>
struct LossOptions {
  index_t negatives = 1;
  index_t num_items = 0;
  double bpr_max_lambda = 1.0;  // BprMax's score regulariser (GRU4Rec's bpreg)
  double gbce_t = 0.75;         // gBCE's calibration (gSASRec's default)
  double gbce_beta = 0;         // > 0: gBCE's beta as given, instead of from t
  Kokkos::View<const T*, Kokkos::LayoutRight, typename Space::memory_space> item_log_q{};  // sampled softmax's log Q
};

// How a loss is made from the options: its default unless an overload below says otherwise.
template <class L, class O>
L make_loss(std::type_identity<L>, const O&) {
  return L();
}
template <class T, class Space>
BprMax<T, Space> make_loss(std::type_identity<BprMax<T, Space>>, const LossOptions<T, Space>& o) {
  return BprMax<T, Space>(T(o.bpr_max_lambda));
}
template <class T, class Space>
GeneralizedBce<T, Space> make_loss(std::type_identity<GeneralizedBce<T, Space>>, const LossOptions<T, Space>& o) {
  if (o.gbce_beta > 0) return GeneralizedBce<T, Space>(o.gbce_beta);
  return GeneralizedBce<T, Space>::for_sampling(o.negatives, o.num_items, o.gbce_t);
}
template <class T, class Space>
SampledSoftmax<T, Space> make_loss(std::type_identity<SampledSoftmax<T, Space>>, const LossOptions<T, Space>& o) {
  return SampledSoftmax<T, Space>(o.item_log_q);
}

// One of Losses<T, Space>, chosen at run time by name (seqrec-train --loss). A model that holds it calls
// visit(f) and gets each alternative's own path (sampled candidates or the whole catalogue), so one model type
// trains with every loss and the tool compiles its loop once.
template <Scalar T, ExecutionSpace Space>
class RuntimeLoss {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using list_type = Losses<T, Space>;
  using variant_type = variant_of_t<list_type>;

  RuntimeLoss() : v_(BinaryCrossEntropy<T, Space>()) {}
  template <class L>
  requires(!std::same_as<std::remove_cvref_t<L>, RuntimeLoss>) explicit RuntimeLoss(L l) : v_(std::move(l)) {}

  static std::string names() { return type_names(list_type{}); }
  static bool known(const std::string& name) {
    return for_each_type(list_type{}, [&](auto id) { return name == decltype(id)::type::name; });
  }

  // The loss called `name`; throws invalid_argument with the list of names for any other.
  static RuntimeLoss make(const std::string& name, const LossOptions<T, Space>& options = {}) {
    SEQREC_REQUIRE(known(name), "unknown loss '", name, "' (", names(), ")");
    std::optional<RuntimeLoss> out;
    for_each_type(list_type{}, [&](auto id) {
      using L = typename decltype(id)::type;
      if (name != L::name) return false;
      out.emplace(RuntimeLoss(make_loss(id, options)));
      return true;
    });
    return std::move(*out);
  }

  std::string name() const {
    return std::visit([](const auto& l) { return std::string(std::remove_cvref_t<decltype(l)>::name); }, v_);
  }
  // Whether the loss held scores the whole catalogue (CrossEntropy) rather than sampled candidates.
  bool catalogue() const {
    return std::visit([](const auto& l) { return CatalogueLoss<std::remove_cvref_t<decltype(l)>>; }, v_);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), v_);
  }
  const variant_type& get() const { return v_; }

 private:
  variant_type v_;
};

}  // namespace seqrec::losses
