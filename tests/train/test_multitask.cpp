// Multi-task composition end to end: one shared layer, a next-item head (dot product + BCE with sampled
// negatives) and an attribute head, combined by each loss combinator. Checks that scaling each task's
// upstream gradient by its weight gives the gradient of sum_k w_k L_k, and that training with every
// combinator lowers both tasks' losses and logs finite weights per epoch.
#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/attribute_head.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/linear.hpp>
#include <seqrec/train/adam.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <vector>

namespace {

using seqrec::id_t;
using seqrec::index_t;
namespace sl = seqrec::losses;

template <class T, class Space>
struct Problem {
  static constexpr index_t rows = 32, in = 8, dim = 8, num_items = 12, num_attributes = 5, negatives = 2;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Linear<T, Space> shared;
  seqrec::sequence::Embedding<T, Space> items;
  seqrec::heads::DotProduct<T, Space> next_item;
  seqrec::heads::AttributeHead<T, Space> attributes;
  sl::BinaryCrossEntropy<T, Space> bce;
  seqrec::heads::AttributeTable<Space> table;
  seqrec::View2<T, Space> x, h, dh, dh1, scores, dscores, logits, dlogits;
  seqrec::View2<id_t, Space> cand;
  seqrec::View1<id_t, Space> targets;

  Problem()
      : shared(space, params, "shared", in, dim),
        items(space, params, "items", num_items + 1, dim),
        attributes(space, params, "attr", dim, num_attributes) {
    shared.init_xavier(space, seqrec::RandomStream(3, 1));
    items.init_normal(space, seqrec::RandomStream(3, 2), T(0.3));
    attributes.init(space, seqrec::RandomStream(3, 3));
    seqrec::data::ItemAttributes a;  // item i has attributes i % 5 and (2 i + 1) % 5
    a.offsets.push_back(0);
    a.offsets.push_back(0);  // padding item
    for (int i = 1; i <= num_items; ++i) {
      a.values.push_back(i % 5);
      a.values.push_back((2 * i + 1) % 5);
      a.offsets.push_back(index_t(a.values.size()));
    }
    for (int k = 0; k < num_attributes; ++k) a.attributes.insert(k);
    table = seqrec::heads::make_attribute_table(space, a);
    x = seqrec::View2<T, Space>("x", rows, in);
    seqrec::fill_normal(space, x, seqrec::RandomStream(3, 4), T(0), T(1));
    h = seqrec::View2<T, Space>("h", rows, dim);
    dh = seqrec::View2<T, Space>("dh", rows, dim);
    dh1 = seqrec::View2<T, Space>("dh1", rows, dim);
    scores = seqrec::View2<T, Space>("scores", rows, 1 + negatives);
    dscores = seqrec::View2<T, Space>("dscores", rows, 1 + negatives);
    logits = seqrec::View2<T, Space>("logits", rows, num_attributes);
    dlogits = seqrec::View2<T, Space>("dlogits", rows, num_attributes);
    std::vector<std::vector<id_t>> c;
    std::vector<id_t> t;
    for (int r = 0; r < rows; ++r) {
      const id_t target = r % 7 == 6 ? 0 : id_t(1 + r % num_items);  // some padding rows
      t.push_back(target);
      c.push_back(
          {target, id_t(target == 0 ? 0 : 1 + (r + 3) % num_items), id_t(target == 0 ? 0 : 1 + (r + 7) % num_items)});
    }
    cand = seqrec::test::id_matrix<Space>(c);
    targets = seqrec::test::from_vector<Space, id_t>(t);
  }

  // Forward both tasks; gradients of each task's loss w.r.t. its scores / logits (unweighted).
  sl::TaskValues<2> forward(bool grad) {
    shared.forward(space, x, h);
    next_item.forward(space, h, cand, scores, items);
    attributes.forward(space, h, logits);
    seqrec::View2<T, Space> none;
    const auto l0 = bce.forward_backward(space, scores, cand, grad ? dscores : none);
    const auto l1 = attributes.loss(space, logits, targets, table, grad ? dlogits : none);
    return {l0.value, l1.value};
  }

  // One step's gradients under combinator c: the combine step scales dscores and dlogits, then both heads
  // back-propagate into the shared dh. Returns the unweighted per-task norms ||dL_k/dh||.
  template <class C>
  sl::TaskValues<2> backward(C& c) {
    params.zero_grad(space);
    sl::scale_gradients(space, c, dscores, dlogits);
    next_item.backward(space, h, cand, dscores, dh, items);
    sl::TaskValues<2> norms{};
    seqrec::View2<T, Space> no_dx;
    if constexpr (C::needs_grad_norms) {
      // Separate per-task gradients on h for the norms; the shared layer's gradient accumulates over both.
      attributes.backward(space, h, dlogits, dh1);
      const auto w = c.weights();
      norms = {sl::gradient_norm(space, dh) / w[0], sl::gradient_norm(space, dh1) / w[1]};
      shared.backward(space, x, dh1, no_dx);
    } else {
      attributes.backward(space, h, dlogits, dh, true);
    }
    shared.backward(space, x, dh, no_dx);
    return norms;
  }
};

template <class C, class T, class Space>
void train_with(C c) {
  Problem<T, Space> p;
  seqrec::train::AdamConfig config;
  config.lr = 0.02;
  seqrec::train::Adam<T, Space> adam(p.space, p.params, config);
  const auto first = p.forward(false);
  std::vector<sl::TaskValues<2>> logged;
  for (int epoch = 0; epoch < 8; ++epoch) {
    sl::TaskValues<2> mean{};
    for (int step = 0; step < 10; ++step) {
      const auto losses = p.forward(true);
      const double total = c.combine(losses);
      REQUIRE(std::isfinite(total));
      const auto norms = p.backward(c);
      c.update(losses, norms);
      adam.step(p.space);
      for (int k = 0; k < 2; ++k) mean[k] += losses[k] / 10;
    }
    c.end_epoch(mean);
    logged.push_back(c.weights());
  }
  const auto last = p.forward(false);
  INFO(c.name() << ": next item " << first[0] << " -> " << last[0] << ", attributes " << first[1] << " -> " << last[1]);
  CHECK(last[0] < 0.8 * first[0]);
  CHECK(last[1] < 0.8 * first[1]);
  for (const auto& w : logged)
    for (double v : w) CHECK((std::isfinite(v) && v > 0));
  if constexpr (std::is_same_v<C, sl::DynamicWeightAverage<2>> || std::is_same_v<C, sl::GradNorm<2>>)
    CHECK(logged.back()[0] + logged.back()[1] == Approx(2.0));
  if constexpr (!std::is_same_v<C, sl::Sum<2>> && !std::is_same_v<C, sl::Weighted<2>>)
    CHECK(logged.back() != sl::TaskValues<2>{1.0, 1.0});  // adaptive weights moved
}

}  // namespace

TEMPLATE_TEST_CASE("multi-task: scaled upstream gradients give the gradient of the weighted objective",
                   "[train][multitask][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Problem<T, Space> p;
    sl::Weighted<2> c({0.7, 1.3});
    p.forward(true);
    p.backward(c);
    auto objective = [&] { return c.combine(p.forward(false)); };
    const auto w = p.shared.weight();
    seqrec::test::check_gradient(p.space, w.value(), w.grad(), objective, "shared W");
    seqrec::test::check_gradient(p.space, p.items.parameter().value(), p.items.parameter().grad(), objective, "items");
    seqrec::test::check_gradient(p.space, p.attributes.linear().weight().value(), p.attributes.linear().weight().grad(),
                                 objective, "attribute W");
    // GradNorm's path (separate per-task buffers, then summed) gives the same gradient.
    sl::GradNorm<2> gn;
    p.forward(true);
    p.backward(gn);
    seqrec::test::check_gradient(
        p.space, w.value(), w.grad(), [&] { return gn.combine(p.forward(false)); }, "shared W (gradnorm path)");
  }
}

TEMPLATE_TEST_CASE("multi-task: every combinator trains both tasks and logs its weights", "[train][multitask]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  SECTION("sum") { train_with<sl::Sum<2>, T, Space>({}); }
  SECTION("weighted") { train_with<sl::Weighted<2>, T, Space>(sl::Weighted<2>({1.0, 0.5})); }
  SECTION("uncertainty") { train_with<sl::UncertaintyWeighting<2>, T, Space>(sl::UncertaintyWeighting<2>(0.05)); }
  SECTION("gradnorm") { train_with<sl::GradNorm<2>, T, Space>(sl::GradNorm<2>(1.5, 0.05)); }
  SECTION("dwa") { train_with<sl::DynamicWeightAverage<2>, T, Space>(sl::DynamicWeightAverage<2>(2.0)); }
}
