// Evaluation's two scorers: sampled (each user's hidden state against 1 held-out + 100 negative items,
// gathered dot products through the shared item embedding) and full ranking's top-K (one team per user
// scans a row of all item scores, skipping the user's history, keeping the best K = 10).
#include "harness.hpp"
#include "inputs.hpp"

#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <limits>
#include <vector>

namespace seqrec::bench {
namespace {

void bench_scoring(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    using mem = typename Space::memory_space;
    const index_t items = 23715, d = 50, users = h.quick() ? 1024 : 8192, cands = 101;
    std::mt19937_64 g(13);

    ParameterSet<T, Space> params;
    sequence::Embedding<T, Space> emb(space, params, "items", items + 1, d);
    emb.init_normal(space, RandomStream(4, 1), T(0.1));
    auto hidden = make_uninitialized<View2<T, Space>>(space, "scoring:hidden", users, d);
    fill_uniform(space, hidden, RandomStream(4, 2), T(-1), T(1));
    Kokkos::View<id_t**, Kokkos::LayoutRight, Kokkos::HostSpace> hc("scoring:candidates", users, cands);
    for (index_t u = 0; u < users; ++u)
      for (index_t c = 0; c < cands; ++c)
        hc(u, c) = c == 0 ? skewed_item(g, items) : std::uniform_int_distribution<id_t>(1, id_t(items))(g);
    const Kokkos::View<const id_t**, Kokkos::LayoutRight, mem> cand = to_space(space, hc);
    auto scores = make_uninitialized<View2<T, Space>>(space, "scoring:scores", users, cands);
    heads::DotProduct<T, Space> head;
    const double pairs = double(users) * double(cands);
    h.time(space, zero, "sampled_scoring", shape({users, cands, d}), 2.0 * pairs * d,
           (double(users) * d + pairs * d + pairs) * sizeof(T) + pairs * sizeof(id_t),
           [&] { head.forward(space, hidden, cand, scores, emb); });

    // Full ranking: a batch of 256 users' scores over every item; histories of 5 to 60 items.
    const index_t batch = 256, k = 10;
    auto all = make_uninitialized<View2<T, Space>>(space, "scoring:all", batch, items + 1);
    fill_uniform(space, all, RandomStream(4, 3), T(-1), T(1));
    std::vector<index_t> offsets{0};
    std::vector<id_t> hist;
    std::vector<id_t> hu(batch), ht(batch);
    for (index_t u = 0; u < batch; ++u) {
      const int n = std::uniform_int_distribution<int>(5, 60)(g);
      for (int i = 0; i < n; ++i) hist.push_back(skewed_item(g, items));
      offsets.push_back(index_t(hist.size()));
      hu[u] = id_t(u);
      ht[u] = skewed_item(g, items);
    }
    const auto history =
        eval::make_history(space, std::span<const index_t>(offsets), std::span<const id_t>(hist), items);
    auto to_dev = [&](const std::vector<id_t>& v, const char* label) {
      Kokkos::View<id_t*, Kokkos::HostSpace> hv(std::string(label), v.size());
      for (std::size_t i = 0; i < v.size(); ++i) hv(i) = v[i];
      return View1<const id_t, Space>(to_space(space, hv));
    };
    const auto u_dev = to_dev(hu, "scoring:users"), t_dev = to_dev(ht, "scoring:targets");
    auto ranks = make_uninitialized<View1<index_t, Space>>(space, "scoring:ranks", batch);
    auto top_items = make_uninitialized<View2<id_t, Space>>(space, "scoring:top_items", batch, k);
    auto top_scores = make_uninitialized<View2<T, Space>>(space, "scoring:top_scores", batch, k);
    auto nan_count = make_zeros<View1<index_t, Space>>(space, "scoring:nan", 1);
    const Kokkos::View<const T**, Kokkos::LayoutRight, mem> call = all;
    // FullEvaluator's default team: 1 thread per user on host spaces, 32 on a GPU.
    const int team = std::is_same_v<mem, Kokkos::HostSpace> ? 1 : 32;
    h.time(space, zero, "full_topk", shape({batch, items + 1, k}), 0.0,
           double(batch) * double(items + 1) * sizeof(T) + double(hist.size()) * sizeof(id_t), [&] {
             eval::detail::rank_full_batch<T>(space, call, u_dev, t_dev, history, ranks, top_items, top_scores,
                                              nan_count, -std::numeric_limits<T>::infinity(), team);
           });
  });
}

const Register reg_scoring(60, "scoring", &bench_scoring);

}  // namespace
}  // namespace seqrec::bench
