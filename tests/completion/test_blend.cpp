#include "support/backends.hpp"

#include <seqrec/completion/blend.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/eval/full.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace seqrec::test {

namespace {

// A scorer that reads a fixed table [num_users x num_items+1]: the two parts of the blends below.
template <class T, class Space>
struct TableScorer {
  using scalar_type = T;
  using execution_space = Space;
  View2<T, Space> table;

  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    const auto tab = table;
    Kokkos::parallel_for(
        "test::TableScorer::score",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {candidates.extent(0), candidates.extent(1)}),
        KOKKOS_LAMBDA(index_t b, index_t j) { scores(b, j) = tab(users(b), candidates(b, j)); });
  }
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    const auto tab = table;
    Kokkos::parallel_for(
        "test::TableScorer::score_all",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {scores.extent(0), scores.extent(1)}),
        KOKKOS_LAMBDA(index_t b, index_t i) { scores(b, i) = tab(users(b), i); });
  }
};

template <class T, class Space>
TableScorer<T, Space> table_scorer(const std::vector<std::vector<double>>& rows) {
  View2<T, Space> v("test::table", rows.size(), rows[0].size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) h(r, c) = static_cast<T>(rows[r][c]);
  Kokkos::deep_copy(v, h);
  return {v};
}

// Host reference of the blend of one row over columns [first, n).
std::vector<double> reference(const std::vector<double>& s, const std::vector<double>& c, double alpha,
                              std::size_t first, completion::Normalization how) {
  auto norm = [&](const std::vector<double>& x) {
    std::vector<double> out(x.size(), 0.0);
    const double n = double(x.size() - first);
    if (how == completion::Normalization::zscore) {
      double mean = 0, sq = 0;
      for (std::size_t j = first; j < x.size(); ++j) mean += x[j] / n;
      for (std::size_t j = first; j < x.size(); ++j) sq += (x[j] - mean) * (x[j] - mean) / n;
      const double sd = std::sqrt(sq);
      for (std::size_t j = first; j < x.size(); ++j) out[j] = sd > 0 ? (x[j] - mean) / sd : 0.0;
    } else if (how == completion::Normalization::minmax) {
      const double lo = *std::min_element(x.begin() + long(first), x.end());
      const double hi = *std::max_element(x.begin() + long(first), x.end());
      for (std::size_t j = first; j < x.size(); ++j) out[j] = hi > lo ? (x[j] - lo) / (hi - lo) : 0.0;
    } else {
      for (std::size_t j = first; j < x.size(); ++j) out[j] = x[j];
    }
    return out;
  };
  const auto zs = norm(s), zc = norm(c);
  std::vector<double> out(s.size(), 0.0);
  for (std::size_t j = first; j < s.size(); ++j) out[j] = alpha * zs[j] + (1 - alpha) * zc[j];
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("Blend mixes normalised rows with a history-dependent weight", "[completion][blend]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  // Two users, four items (+ padding column 0). The sequence model and the completion disagree.
  const std::vector<std::vector<double>> seq_rows = {{9, 4, 1, 3, 2}, {9, 1, 1, 1, 1}};
  const std::vector<std::vector<double>> comp_rows = {{-7, 10, 40, 20, 30}, {-7, 0.5, 0.25, 0.125, 4}};
  auto seq = table_scorer<T, Space>(seq_rows);
  auto comp = table_scorer<T, Space>(comp_rows);
  const auto lengths = from_vector<Space>(std::vector<index_t>{2, 30}, "lengths");
  const std::vector<id_t> user_ids = {0, 1};
  const auto users = from_vector<Space>(user_ids, "users");

  for (auto how :
       {completion::Normalization::zscore, completion::Normalization::minmax, completion::Normalization::none}) {
    completion::BlendOptions o;
    o.alpha_min = 0.1;
    o.alpha_max = 0.9;
    o.half_length = 3;
    o.normalization = how;
    completion::Blend blend(seq, comp, View1<const index_t, Space>(lengths), o);
    CHECK(o.alpha(2) == Approx(0.1 + 0.8 * 2 / 5.0));

    View2<T, Space> all("all", 2, 5);
    blend.score_all(space, View1<const id_t, Space>(users), all);
    auto ha = to_host(all);
    for (int b = 0; b < 2; ++b) {
      const auto expect = reference(seq_rows[b], comp_rows[b], o.alpha(b == 0 ? 2 : 30), 1, how);
      CHECK(ha(b, 0) == T(0));
      for (int i = 1; i < 5; ++i) CHECK(ha(b, i) == Approx(expect[i]).epsilon(1e-5).margin(1e-5));
    }

    // Sampled rows: the statistics run over the candidates only.
    View2<id_t, Space> cands("cands", 2, 3);
    auto hc = Kokkos::create_mirror_view(cands);
    const id_t c[2][3] = {{4, 1, 2}, {3, 4, 1}};
    for (int b = 0; b < 2; ++b)
      for (int j = 0; j < 3; ++j) hc(b, j) = c[b][j];
    Kokkos::deep_copy(cands, hc);
    View2<T, Space> s("s", 2, 3);
    blend.score(space, View1<const id_t, Space>(users), View2<const id_t, Space>(cands), s);
    auto hs = to_host(s);
    for (int b = 0; b < 2; ++b) {
      std::vector<double> sr, cr;
      for (int j = 0; j < 3; ++j) {
        sr.push_back(seq_rows[b][c[b][j]]);
        cr.push_back(comp_rows[b][c[b][j]]);
      }
      const auto expect = reference(sr, cr, o.alpha(b == 0 ? 2 : 30), 0, how);
      for (int j = 0; j < 3; ++j) CHECK(hs(b, j) == Approx(expect[j]).epsilon(1e-5).margin(1e-5));
    }
  }
}

TEMPLATE_TEST_CASE("Blend at alpha 1 ranks as the sequence model, at alpha 0 as the completion", "[completion][blend]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  // The completion is PopRec (counts 1:3, 2:1, 3:0, 4:2); the sequence model prefers 3 > 2 > 1 > 4.
  data::Interactions x;
  for (int i = 1; i <= 4; ++i) x.items.insert(i);
  x.users.insert(0);
  for (id_t i : {1, 1, 1, 2, 4, 4}) x.push_back(0, i, 1.0f, 0);
  completion::PopRec<T, Space> pop;
  pop.fit(space, x);
  auto seq = table_scorer<T, Space>({{0, 1, 2, 3, 0.5}, {0, 1, 2, 3, 0.5}, {0, 1, 2, 3, 0.5}, {0, 1, 2, 3, 0.5}});
  const auto lengths = from_vector<Space>(std::vector<index_t>{6}, "lengths");
  const auto users = from_vector<Space>(std::vector<id_t>{0}, "users");
  const auto none = eval::make_history(space, std::vector<index_t>{0, 0}, std::vector<id_t>{}, 4);

  completion::BlendOptions o;
  o.alpha_min = o.alpha_max = 1.0;
  completion::Blend blend(seq, pop, View1<const index_t, Space>(lengths), o);
  auto top = to_host(completion::top_k(space, blend, View1<const id_t, Space>(users), none, 4));
  CHECK(std::vector<id_t>{top(0, 0), top(0, 1), top(0, 2), top(0, 3)} == std::vector<id_t>{3, 2, 1, 4});
  o.alpha_min = o.alpha_max = 0.0;
  blend.set_options(o);
  top = to_host(completion::top_k(space, blend, View1<const id_t, Space>(users), none, 4));
  CHECK(std::vector<id_t>{top(0, 0), top(0, 1), top(0, 2), top(0, 3)} == std::vector<id_t>{1, 4, 2, 3});

  // A user the parts know but the lengths do not is named; bad options are refused.
  const auto stranger = from_vector<Space>(std::vector<id_t>{3}, "stranger");
  View2<T, Space> all("all", 1, 5);
  CHECK_THROWS_WITH(blend.score_all(space, View1<const id_t, Space>(stranger), all),
                    Catch::Contains("user 3 (row 0) has no history length"));
  o.alpha_max = 1.5;
  CHECK_THROWS_WITH(blend.set_options(o), Catch::Contains("alpha_max must be in [0, 1], got 1.5"));
}

}  // namespace seqrec::test

TEST_CASE("the blend weights' search takes the grid point with the best metric and sets it", "[completion][blend]") {
  struct FakeBlend {
    seqrec::completion::BlendOptions options;
    int calls = 0;
    void set_options(const seqrec::completion::BlendOptions& o) { options = o, ++calls; }
  } blend;
  // Peaks at alpha_min .25, alpha_max .9, half length 4 (a point inside the grid).
  auto metric = [](const FakeBlend& b) {
    const auto& o = b.options;
    return 1.0 - std::abs(o.alpha_min - 0.25) - std::abs(o.alpha_max - 0.9) - std::abs(o.half_length - 4.0) / 16;
  };
  const auto chosen = seqrec::completion::choose_blend_options(blend, metric);
  CHECK(chosen.options.alpha_min == 0.25);
  CHECK(chosen.options.alpha_max == 0.9);
  CHECK(chosen.options.half_length == 4.0);
  CHECK(chosen.value == Approx(1.0));
  CHECK(blend.options.alpha_min == 0.25);     // the chosen point is the blend's
  CHECK(blend.calls == 4 * 3 * 3 + 1);  // every point (alpha_max >= alpha_min throughout), then the chosen one
  seqrec::completion::BlendGrid empty;
  empty.half_length.clear();
  CHECK_THROWS_AS(seqrec::completion::choose_blend_options(blend, metric, empty), seqrec::Error);
}
