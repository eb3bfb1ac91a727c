#include "support/backends.hpp"

#include <seqrec/core/random.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/sampled.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t from <sys/types.h>.
namespace seqrec::test {

namespace {

// Users with chronological sequences (items may repeat); the held-out item is the last one, and the history
// is the whole sequence, as the sampled protocol wants it.
struct Synthetic {
  index_t num_items = 0;
  std::vector<index_t> offsets{0};
  std::vector<id_t> items;
  std::vector<id_t> users, targets;

  index_t num_users() const { return static_cast<index_t>(offsets.size()) - 1; }
  std::set<id_t> history(id_t u) const { return {items.begin() + offsets[u], items.begin() + offsets[u + 1]}; }
  void add_user(const std::vector<id_t>& seq) {
    users.push_back(static_cast<id_t>(num_users()));
    items.insert(items.end(), seq.begin(), seq.end());
    offsets.push_back(static_cast<index_t>(items.size()));
    targets.push_back(seq.back());
  }
};

Synthetic make_synthetic(index_t users, index_t num_items, int min_len, int max_len, unsigned seed) {
  Synthetic s;
  s.num_items = num_items;
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> len(min_len, max_len);
  std::uniform_int_distribution<id_t> item(1, static_cast<id_t>(num_items));
  for (index_t u = 0; u < users; ++u) {
    std::vector<id_t> seq(static_cast<std::size_t>(len(gen)));
    for (auto& x : seq) x = item(gen);
    s.add_user(seq);
  }
  return s;
}

template <class Space>
eval::History<Space> history_of(const Space& space, const Synthetic& s) {
  return eval::make_history(space, std::span<const index_t>(s.offsets), std::span<const id_t>(s.items), s.num_items);
}

// scores(b, j) = table(users(b), candidates(b, j)): any model, known on the host as well.
template <class T, class Space>
struct TableScorer {
  using scalar_type = T;
  seqrec::View2<T, Space> table;  // [num_users x num_items+1]

  void score(const Space& space, seqrec::View1<const id_t, Space> users, seqrec::View2<const id_t, Space> candidates,
             seqrec::View2<T, Space> scores) const {
    REQUIRE(scores.extent(0) == users.extent(0));
    REQUIRE(scores.extent(1) == candidates.extent(1));
    auto tab = table;
    Kokkos::parallel_for(
        "test::TableScorer::score",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
            space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
        KOKKOS_LAMBDA(index_t b, index_t j) { scores(b, j) = tab(users(b), candidates(b, j)); });
  }
};

template <class T, class Space>
struct TableFullScorer : TableScorer<T, Space> {
  void score_all(const Space& space, seqrec::View1<const id_t, Space> users, seqrec::View2<T, Space> scores) const {
    REQUIRE(scores.extent(1) == this->table.extent(1));
    auto tab = this->table;
    Kokkos::parallel_for(
        "test::TableFullScorer::score_all",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
            space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
        KOKKOS_LAMBDA(index_t b, index_t i) { scores(b, i) = tab(users(b), i); });
  }
};

// Deterministic pseudo-random scores, a function of (user, item).
template <class T, class Space>
struct RandomScorer {
  using scalar_type = T;
  seqrec::RandomStream rs{11, 0};
  index_t stride = 0;

  void score(const Space& space, seqrec::View1<const id_t, Space> users, seqrec::View2<const id_t, Space> candidates,
             seqrec::View2<T, Space> scores) const {
    const auto r = rs;
    const index_t st = stride;
    Kokkos::parallel_for(
        "test::RandomScorer::score",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
            space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
        KOKKOS_LAMBDA(index_t b, index_t j) {
          scores(b, j) = r.uniform<T>(static_cast<std::uint64_t>(users(b) * st + candidates(b, j)));
        });
  }
};

// Scores from the held-out item: `hit` for it, `miss` for every other item.
template <class T, class Space>
struct TargetScorer {
  using scalar_type = T;
  seqrec::View1<id_t, Space> target_of;  // per user
  T hit, miss;

  void score(const Space& space, seqrec::View1<const id_t, Space> users, seqrec::View2<const id_t, Space> candidates,
             seqrec::View2<T, Space> scores) const {
    auto tgt = target_of;
    const T h = hit, m = miss;
    Kokkos::parallel_for(
        "test::TargetScorer::score",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
            space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
        KOKKOS_LAMBDA(index_t b, index_t j) { scores(b, j) = candidates(b, j) == tgt(users(b)) ? h : m; });
  }
};

}  // namespace

// Outside the anonymous namespace: only the concepts look at them (nvcc warns about unreferenced members).
struct NoScore {
  using scalar_type = float;
};
struct Untyped {  // no scalar_type: scores in float
  void score(const Kokkos::Serial&, seqrec::View1<const id_t, Kokkos::Serial>,
             seqrec::View2<const id_t, Kokkos::Serial>, seqrec::View2<float, Kokkos::Serial>) const {}
};

static_assert(eval::Scorer<TableScorer<float, Kokkos::Serial>, Kokkos::Serial, float>);
static_assert(!eval::FullScorer<TableScorer<float, Kokkos::Serial>, Kokkos::Serial, float>);
static_assert(eval::FullScorer<TableFullScorer<double, Kokkos::Serial>, Kokkos::Serial, double>);
static_assert(!eval::Scorer<NoScore, Kokkos::Serial, float>);
static_assert(!eval::Scorer<TableScorer<float, Kokkos::Serial>, Kokkos::Serial, double>);  // wrong scalar
static_assert(eval::Scorer<Untyped, Kokkos::Serial, float>);
static_assert(std::is_same_v<eval::scorer_scalar_t<Untyped>, float>);
static_assert(std::is_same_v<eval::scorer_scalar_t<const TableScorer<double, Kokkos::Serial>&>, double>);
static_assert(eval::check_scorer<TableScorer<double, Kokkos::Serial>, Kokkos::Serial>());

namespace {

template <class Space>
std::vector<std::vector<id_t>> candidates_on_host(const eval::SampledCandidates<Space>& c) {
  auto h = seqrec::to_host(c.items);
  std::vector<std::vector<id_t>> rows(h.extent(0));
  for (std::size_t b = 0; b < h.extent(0); ++b)
    for (std::size_t j = 0; j < h.extent(1); ++j) rows[b].push_back(h(b, j));
  return rows;
}

template <class Space>
seqrec::View1<id_t, Space> target_by_user(const Synthetic& s) {
  std::vector<id_t> t(static_cast<std::size_t>(s.num_users()), 0);
  for (std::size_t b = 0; b < s.users.size(); ++b) t[s.users[b]] = s.targets[b];
  return seqrec::test::from_vector<Space>(t, "target_of");
}

}  // namespace

// ------------------------------------------------------------------------------------ history, users

TEST_CASE("History rows are sorted, de-duplicated and checked", "[eval][sampled]") {
  Kokkos::Serial space;
  const std::vector<index_t> off{0, 3, 3, 6};
  const std::vector<id_t> items{5, 2, 5, 1, 9, 4};
  auto h = eval::make_history(space, std::span<const index_t>(off), std::span<const id_t>(items), 9);
  CHECK(h.num_users() == 3);
  auto ho = seqrec::to_host(h.offsets());
  auto hi = seqrec::to_host(h.items());
  CHECK(ho(1) == 2);
  CHECK(ho(2) == 2);
  CHECK(ho(3) == 5);
  CHECK(std::vector<id_t>(hi.data(), hi.data() + hi.extent(0)) == std::vector<id_t>{2, 5, 1, 4, 9});

  const std::vector<id_t> bad_items{5, 2, 0, 1, 9, 4};
  try {
    eval::make_history(space, std::span<const index_t>(off), std::span<const id_t>(bad_items), 9);
    FAIL("expected an exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::out_of_range);
    CHECK(e.message().find("user 0 has item 0") != std::string::npos);
  }
  CHECK_THROWS_AS(eval::make_history(space, std::span<const index_t>(off), std::span<const id_t>(items), 8),
                  seqrec::Error);

  // A device CSR taken as it is: an unsorted row is refused, naming the user.
  auto d_off = seqrec::test::from_vector<Kokkos::Serial>(std::vector<index_t>{0, 2, 4});
  auto d_items = seqrec::test::from_vector<Kokkos::Serial>(std::vector<id_t>{1, 3, 7, 6});
  try {
    eval::History<Kokkos::Serial> bad(space, d_off, d_items, 10);
    FAIL("expected an exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.message().find("user 1") != std::string::npos);
  }
  auto short_off = seqrec::test::from_vector<Kokkos::Serial>(std::vector<index_t>{0, 2, 3});
  CHECK_THROWS_AS(eval::History<Kokkos::Serial>(space, short_off, d_items, 10), seqrec::Error);
  auto ok_items = seqrec::test::from_vector<Kokkos::Serial>(std::vector<id_t>{1, 3, 6, 7});
  CHECK(eval::History<Kokkos::Serial>(space, d_off, ok_items, 10).num_users() == 2);
}

TEST_CASE("select_users: all users, or a seeded sample that says so", "[eval][sampled]") {
  Kokkos::Serial space;
  std::vector<id_t> users(500), targets(500);
  for (int i = 0; i < 500; ++i) users[i] = 2 * i, targets[i] = i + 1;
  const auto all = eval::select_users(space, users, targets);
  CHECK(all.size() == 500);
  CHECK_FALSE(all.sampled);
  CHECK(all.eligible == 500);
  CHECK(all.host_users == users);
  const auto capped = eval::select_users(space, users, targets, 1000, 1);  // cap above the count: all
  CHECK_FALSE(capped.sampled);

  const auto a = eval::select_users(space, users, targets, 100, 42);
  const auto b = eval::select_users(space, users, targets, 100, 42);
  const auto c = eval::select_users(space, users, targets, 100, 43);
  CHECK(a.size() == 100);
  CHECK(a.sampled);
  CHECK(a.seed == 42);
  CHECK(a.eligible == 500);
  CHECK(a.host_users == b.host_users);
  CHECK(a.host_users != c.host_users);
  CHECK(std::is_sorted(a.host_users.begin(), a.host_users.end()));  // the caller's order is kept
  CHECK(std::set<id_t>(a.host_users.begin(), a.host_users.end()).size() == 100);
  for (std::size_t i = 0; i < 100; ++i) CHECK(a.host_targets[i] == a.host_users[i] / 2 + 1);  // pairs kept
  auto du = seqrec::to_host(a.users);
  for (std::size_t i = 0; i < 100; ++i) CHECK(du(i) == a.host_users[i]);
  CHECK_THROWS_AS(eval::select_users(space, users, std::vector<id_t>(3), 0, 0), seqrec::Error);
}

// ------------------------------------------------------------------------------------ sampled candidates

TEMPLATE_TEST_CASE("sampled candidates: the true item, then negatives outside the history", "[eval][sampled]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const auto s = make_synthetic(600, 300, 3, 80, 1);
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  const auto cand = eval::make_sampled_candidates(space, users, history, {100, 2024, true});
  REQUIRE(cand.num_candidates() == 101);
  REQUIRE(cand.size() == 600);
  const auto rows = candidates_on_host(cand);
  for (std::size_t b = 0; b < rows.size(); ++b) {
    const auto hist = s.history(s.users[b]);
    REQUIRE(rows[b][0] == s.targets[b]);
    std::set<id_t> seen;
    for (std::size_t j = 1; j < rows[b].size(); ++j) {
      const id_t x = rows[b][j];
      REQUIRE(x >= 1);
      REQUIRE(x <= 300);
      REQUIRE(hist.count(x) == 0);
      REQUIRE(x != s.targets[b]);
      REQUIRE(seen.insert(x).second);  // no repeats within a row
    }
  }

  // Same seed, same candidates on Serial (and any thread count); another seed, others.
  Kokkos::Serial serial;
  const auto ref = eval::make_sampled_candidates(serial, eval::select_users(serial, s.users, s.targets),
                                                 history_of(serial, s), {100, 2024, true});
  CHECK(candidates_on_host(ref) == rows);
  const auto other = eval::make_sampled_candidates(space, users, history, {100, 2025, true});
  CHECK(candidates_on_host(other) != rows);

  // A user's candidates do not depend on which other users are evaluated.
  const auto sample = eval::select_users(space, s.users, s.targets, 50, 9);
  const auto sub = candidates_on_host(eval::make_sampled_candidates(space, sample, history, {100, 2024, true}));
  for (std::size_t b = 0; b < sub.size(); ++b) CHECK(sub[b] == rows[sample.host_users[b]]);
}

TEMPLATE_TEST_CASE("sampled negatives are uniform over the allowed items", "[eval][sampled]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  // Every user has history {1..10} and held-out item 11: the allowed items are 12..30.
  Synthetic s;
  s.num_items = 30;
  std::vector<id_t> seq;
  for (id_t i = 1; i <= 11; ++i) seq.push_back(i);
  for (int u = 0; u < 20000; ++u) s.add_user(seq);
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  for (bool distinct : {true, false}) {
    const auto rows = candidates_on_host(eval::make_sampled_candidates(space, users, history, {5, 77, distinct}));
    std::vector<double> counts(31, 0);
    for (const auto& row : rows)
      for (std::size_t j = 1; j < row.size(); ++j) ++counts[row[j]];
    for (id_t i = 0; i <= 11; ++i) REQUIRE(counts[i] == 0);
    const double expected = 20000.0 * 5 / 19;
    double chi2 = 0;
    for (id_t i = 12; i <= 30; ++i) chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    INFO("distinct " << distinct << ", chi-square " << chi2);
    CHECK(chi2 < 45.3);  // 18 degrees of freedom, p = 0.0004
  }
}

TEST_CASE("sampled candidates refuse users without enough negatives", "[eval][sampled]") {
  Kokkos::Serial space;
  Synthetic s;
  s.num_items = 120;
  s.add_user({1, 2, 3});
  std::vector<id_t> crowded;
  for (id_t i = 1; i <= 30; ++i) crowded.push_back(i);
  s.add_user(crowded);  // 90 items left: fewer than 100 negatives
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  try {
    eval::make_sampled_candidates(space, users, history, {100, 0, true});
    FAIL("expected an exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.message().find("user 1") != std::string::npos);
  }
  CHECK_NOTHROW(eval::make_sampled_candidates(space, users, history, {100, 0, false}));  // repeats allowed
  CHECK_NOTHROW(eval::make_sampled_candidates(space, users, history, {90, 0, true}));
  const auto stranger = eval::select_users(space, std::vector<id_t>{5}, std::vector<id_t>{1});
  CHECK_THROWS_AS(eval::make_sampled_candidates(space, stranger, history), seqrec::Error);
  const auto bad_target = eval::select_users(space, std::vector<id_t>{0}, std::vector<id_t>{121});
  CHECK_THROWS_AS(eval::make_sampled_candidates(space, bad_target, history), seqrec::Error);
}

// ------------------------------------------------------------------------------------ sampled ranking

TEMPLATE_TEST_CASE("sampled protocol: oracle, worst, constant and random scorers", "[eval][sampled]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto s = make_synthetic(3000, 2000, 3, 30, 2);
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  const auto cand = eval::make_sampled_candidates(space, users, history, {100, 5, true});
  const auto target_of = target_by_user<Space>(s);

  const auto oracle = eval::evaluate_sampled(space, TargetScorer<T, Space>{target_of, T(1), T(0)}, cand, 128,
                                             {1, 5, 10});
  CHECK(oracle.count == 3000);
  CHECK(oracle.hr_at(10) == 1.0);
  CHECK(oracle.ndcg_at(10) == 1.0);
  CHECK(oracle.hr_at(1) == 1.0);
  CHECK(oracle.mrr == 1.0);
  CHECK(oracle.protocol == "sampled");
  CHECK(oracle.candidates == 101);
  CHECK(oracle.candidate_seed == 5);
  CHECK_FALSE(oracle.user_sample);

  const auto worst = eval::evaluate_sampled(space, TargetScorer<T, Space>{target_of, T(-1), T(0)}, cand, 128,
                                            {1, 10});
  CHECK(worst.hr_at(10) == 0.0);
  CHECK(worst.mrr == Approx(1.0 / 101));

  // Every score equal: the tie rule ranks the true item last, no free hits.
  const auto constant = eval::evaluate_sampled(space, TargetScorer<T, Space>{target_of, T(0.5), T(0.5)}, cand, 128,
                                               {1, 10});
  CHECK(constant.hr_at(10) == 0.0);
  CHECK(constant.hr_at(1) == 0.0);

  // Random scores: HR@10 ~ 10/101, NDCG@10 ~ sum_{r<10} gain(r)/101, MRR ~ H(101)/101.
  RandomScorer<T, Space> random;
  random.stride = 2001;
  eval::SampledEvaluator<T, Space> evaluator(space, 101, 100);  // 30 full batches
  const auto m = evaluator.evaluate(space, random, cand, {1, 5, 10});
  double ndcg10 = 0, mrr = 0;
  for (int r = 0; r < 101; ++r) {
    if (r < 10) ndcg10 += eval::dcg_gain(r) / 101;
    mrr += 1.0 / (r + 1) / 101;
  }
  CHECK(m.hr_at(10) == Approx(10.0 / 101).margin(0.02));
  CHECK(m.ndcg_at(10) == Approx(ndcg10).margin(0.012));
  CHECK(m.mrr == Approx(mrr).margin(0.012));
  CHECK(m.nan_scores == 0);

  // The ranks agree with a host recomputation from the same scores and candidates.
  const auto ranks = seqrec::to_host(evaluator.ranks());
  const auto rows = candidates_on_host(cand);
  std::vector<index_t> host_ranks;
  for (std::size_t b = 0; b < rows.size(); b += 97) {
    std::vector<T> sc;
    for (id_t item : rows[b]) sc.push_back(random.rs.template uniform<T>(std::uint64_t(s.users[b]) * 2001 + item));
    REQUIRE(ranks(b) == eval::rank_of<T>(sc, 0));
  }
  // Re-evaluating (a batch size that leaves a partial batch) gives the same numbers.
  const auto again = eval::evaluate_sampled(space, random, cand, 77, {1, 5, 10});
  CHECK(again.hr == m.hr);
  CHECK(again.ndcg == m.ndcg);
  CHECK(again.mrr == m.mrr);

  // Scores of the wrong scalar for the evaluator are refused at compile time; the wrong width at run time.
  eval::SampledEvaluator<T, Space> narrow(space, 51, 64);
  CHECK_THROWS_AS(narrow.evaluate(space, random, cand), seqrec::Error);
}

TEMPLATE_TEST_CASE("sampled protocol on a seeded user sample; NaN true scores rank last", "[eval][sampled]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto s = make_synthetic(2500, 500, 3, 20, 3);
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets, 1000, 17);
  const auto cand = eval::make_sampled_candidates(space, users, history, {100, 5, true});
  const auto target_of = target_by_user<Space>(s);
  const auto m = eval::evaluate_sampled(space, TargetScorer<T, Space>{target_of, T(1), T(0)}, cand);
  CHECK(m.count == 1000);
  CHECK(m.user_sample);
  CHECK(m.user_seed == 17);
  CHECK(m.eligible_users == 2500);
  CHECK(m.hr_at(10) == 1.0);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const auto bad = eval::evaluate_sampled(space, TargetScorer<T, Space>{target_of, nan, T(0)}, cand);
  CHECK(bad.nan_scores == 1000);
  CHECK(bad.hr_at(10) == 0.0);
  CHECK(bad.summary().find("1000 NaN true scores") != std::string::npos);
}

// ------------------------------------------------------------------------------------ full ranking

namespace {

// Host reference of full ranking: candidates are 1..N minus (history \ {target}); rank by the tie rule; top-K
// by score descending, ties by smaller id, NaN last.
template <class T>
struct BruteForce {
  std::vector<index_t> ranks;
  std::vector<std::vector<id_t>> top;
};

template <class T>
BruteForce<T> brute_force(const Synthetic& s, const std::vector<std::vector<T>>& table, int k, bool with_target) {
  BruteForce<T> out;
  for (std::size_t b = 0; b < s.users.size(); ++b) {
    const id_t u = s.users[b], t = with_target ? s.targets[b] : 0;
    const auto hist = s.history(u);
    std::vector<id_t> cands;
    for (id_t i = 1; i <= s.num_items; ++i)
      if (i == t || hist.count(i) == 0) cands.push_back(i);
    const auto& sc = table[u];
    if (with_target) {
      std::vector<T> scores;
      std::size_t truth = 0;
      for (std::size_t c = 0; c < cands.size(); ++c) {
        scores.push_back(sc[cands[c]]);
        if (cands[c] == t) truth = c;
      }
      out.ranks.push_back(eval::rank_of<T>(scores, truth));
    }
    auto key = [&](id_t i) {
      const bool nan = std::isnan(sc[i]);
      return std::make_tuple(nan ? 1 : 0, nan ? T(0) : -sc[i], i);
    };
    std::sort(cands.begin(), cands.end(), [&](id_t a, id_t c) { return key(a) < key(c); });
    cands.resize(static_cast<std::size_t>(k), 0);
    out.top.push_back(cands);
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("full ranking matches a brute-force host sort", "[eval][full]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const index_t num_items = 300;
  auto s = make_synthetic(60, num_items, 2, 40, 4);
  {  // a user whose target also appears earlier, and one with only 6 rankable items (lists padded with 0)
    s.add_user({7, 8, 9, 7});
    std::vector<id_t> crowded;
    for (id_t i = 1; i <= num_items - 5; ++i) crowded.push_back(i);
    s.add_user(crowded);
  }
  const index_t nu = s.num_users();
  // Coarse scores so ties are common; a few NaN, one of them on a target.
  std::mt19937 gen(8);
  std::uniform_int_distribution<int> level(0, 15);
  std::vector<std::vector<T>> table(static_cast<std::size_t>(nu), std::vector<T>(num_items + 1));
  for (auto& row : table)
    for (auto& x : row) x = T(level(gen)) / T(8);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  table[3][s.targets[3] == 17 ? 18 : 17] = nan;
  table[5][s.targets[5]] = nan;
  seqrec::View2<T, Space> dtable("table", nu, num_items + 1);
  auto ht = Kokkos::create_mirror_view(dtable);
  for (index_t u = 0; u < nu; ++u)
    for (index_t i = 0; i <= num_items; ++i) ht(u, i) = table[u][i];
  Kokkos::deep_copy(dtable, ht);

  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  const int k = 20;
  const auto ref = brute_force(s, table, k, true);

  eval::FullEvaluator<T, Space> evaluator(space, num_items, 7, k);  // 9 full batches and a partial one
  TableFullScorer<T, Space> scorer;
  scorer.table = dtable;
  const auto m = evaluator.evaluate(space, scorer, users, history, {1, 5, 10, 20});
  auto ranks = seqrec::to_host(evaluator.ranks());
  auto top = seqrec::to_host(evaluator.top_items());
  auto top_scores = seqrec::to_host(evaluator.top_scores());
  REQUIRE(ranks.extent(0) == std::size_t(nu));
  std::vector<id_t> flat;
  for (index_t b = 0; b < nu; ++b) {
    INFO("user " << b);
    CHECK(ranks(b) == ref.ranks[b]);
    for (int j = 0; j < k; ++j) {
      CHECK(top(b, j) == ref.top[b][j]);
      flat.push_back(top(b, j));
    }
  }
  CHECK(ranks(5) == ref.ranks[5]);
  CHECK(m.nan_scores == 1);
  // The padded user: 5 unseen items plus its target (its last item, also in its history), then zeros.
  const index_t crowded = nu - 1;
  CHECK(top(crowded, 5) != 0);
  CHECK(top(crowded, 6) == 0);
  CHECK(top_scores(crowded, 6) == -std::numeric_limits<T>::infinity());

  const auto expected = eval::metrics_from_ranks(std::span<const index_t>(ref.ranks), {1, 5, 10, 20});
  for (int kk : {1, 5, 10, 20}) {
    CHECK(m.hr_at(kk) == Approx(expected.hr_at(kk)));
    CHECK(m.ndcg_at(kk) == Approx(expected.ndcg_at(kk)));
  }
  CHECK(m.mrr == Approx(expected.mrr));
  CHECK(m.protocol == "full");
  const auto cov = eval::coverage_from_lists(flat, k, num_items, {1, 5, 10, 20});
  CHECK(m.coverage == cov);

  // Several threads per user (host spaces: as many as the backend has, up to 4) merge their lists on the
  // device: the same lists. Run with OMP_NUM_THREADS=4 to exercise two merge rounds.
  const int threads = std::min(4, static_cast<int>(space.concurrency()));
  if (threads > 1) {
    eval::FullEvaluator<T, Space> teamed(space, num_items, 16, k);
    teamed.set_team_size(threads);
    const auto mt = teamed.evaluate(space, scorer, users, history, {1, 5, 10, 20});
    auto tt = seqrec::to_host(teamed.top_items());
    auto tr = seqrec::to_host(teamed.ranks());
    for (index_t b = 0; b < nu; ++b) {
      REQUIRE(tr(b) == ref.ranks[b]);
      for (int j = 0; j < k; ++j) REQUIRE(tt(b, j) == ref.top[b][j]);
    }
    CHECK(mt.hr == m.hr);
  }

  // A scorer without score_all is ranked through score() over every item: the same result.
  TableScorer<T, Space> plain;
  plain.table = dtable;
  const auto m2 = eval::evaluate_full(space, plain, users, history, 16, {1, 5, 10, 20});
  CHECK(m2.hr == m.hr);
  CHECK(m2.ndcg == m.ndcg);
  CHECK(m2.mrr == m.mrr);
  CHECK(m2.coverage == m.coverage);

  // Recommendation lists exclude the whole history, the last item included.
  auto users_view = seqrec::View1<const id_t, Space>(users.users);
  evaluator.recommend(space, scorer, users_view, history);
  const auto rec_ref = brute_force(s, table, k, false);
  auto rec = seqrec::to_host(evaluator.top_items());
  for (index_t b = 0; b < nu; ++b)
    for (int j = 0; j < k; ++j) REQUIRE(rec(b, j) == rec_ref.top[b][j]);

  // Errors: a cutoff beyond the lists, users or targets outside the data.
  CHECK_THROWS_AS(evaluator.evaluate(space, scorer, users, history, {50}), seqrec::Error);
  const auto stranger = eval::select_users(space, std::vector<id_t>{static_cast<id_t>(nu)}, std::vector<id_t>{1});
  CHECK_THROWS_AS(evaluator.evaluate(space, scorer, stranger, history), seqrec::Error);
  const auto bad_target = eval::select_users(space, std::vector<id_t>{0}, std::vector<id_t>{0});
  CHECK_THROWS_AS(evaluator.evaluate(space, scorer, bad_target, history), seqrec::Error);
  CHECK_THROWS_AS((eval::FullEvaluator<T, Space>(space, num_items, 8, 101)), seqrec::Error);
}

TEST_CASE("top-K lists: strided inserts and pairwise merges keep the best K in order", "[eval][full]") {
  // The team algorithm of full.hpp on the host, with 8 "threads": scores with ties and NaN.
  const int n = 500, k = 25, threads = 8;
  std::mt19937 gen(12);
  std::uniform_int_distribution<int> level(0, 40);
  std::vector<double> score(n + 1);
  for (auto& x : score) x = level(gen) == 0 ? std::numeric_limits<double>::quiet_NaN() : level(gen) / 4.0;
  std::vector<double> s(2 * threads * k);
  std::vector<id_t> ids(2 * threads * k);
  std::vector<int> count(threads, 0);
  for (int t = 0; t < threads; ++t)
    for (int i = 1 + t; i <= n; i += threads) {
      double* ms = s.data() + t * k;
      id_t* mi = ids.data() + t * k;
      if (count[t] == k && !eval::detail::ranks_before(score[i], id_t(i), ms[k - 1], mi[k - 1])) continue;
      eval::detail::topk_insert(ms, mi, count[t], k, score[i], id_t(i));
    }
  for (int stride = 1; stride < threads; stride *= 2)
    for (int t = 0; t + stride < threads; t += 2 * stride) {
      double* tmp_s = s.data() + (threads + t) * k;
      id_t* tmp_i = ids.data() + (threads + t) * k;
      const int merged = eval::detail::topk_merge(s.data() + t * k, ids.data() + t * k, count[t],
                                                  s.data() + (t + stride) * k, ids.data() + (t + stride) * k,
                                                  count[t + stride], tmp_s, tmp_i, k);
      std::copy(tmp_s, tmp_s + merged, s.data() + t * k);
      std::copy(tmp_i, tmp_i + merged, ids.data() + t * k);
      count[t] = merged;
    }
  std::vector<id_t> expected(n);
  std::iota(expected.begin(), expected.end(), id_t(1));
  auto key = [&](id_t i) {
    const bool nan = std::isnan(score[i]);
    return std::make_tuple(nan ? 1 : 0, nan ? 0.0 : -score[i], i);
  };
  std::sort(expected.begin(), expected.end(), [&](id_t a, id_t b) { return key(a) < key(b); });
  REQUIRE(count[0] == k);
  for (int j = 0; j < k; ++j) CHECK(ids[j] == expected[j]);
}

TEMPLATE_TEST_CASE("full ranking: oracle and random scorers", "[eval][full]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const index_t num_items = 1000;
  const auto s = make_synthetic(400, num_items, 3, 30, 6);
  const auto history = history_of(space, s);
  const auto users = eval::select_users(space, s.users, s.targets);
  const auto oracle = eval::evaluate_full(space, TargetScorer<T, Space>{target_by_user<Space>(s), T(1), T(0)}, users,
                                          history, 64, {1, 10});
  CHECK(oracle.hr_at(1) == 1.0);
  CHECK(oracle.ndcg_at(10) == 1.0);
  RandomScorer<T, Space> random;
  random.stride = num_items + 1;
  const auto m = eval::evaluate_full(space, random, users, history, 64, {10, 100});
  // About 10 / (num_items - history) of random users hit at 10; items spread over most of the catalogue.
  CHECK(m.hr_at(100) == Approx(0.1).margin(0.05));
  CHECK(m.coverage_at(100) > 0.95);
  CHECK(m.coverage_at(10) > 0.9 * (1 - std::pow(1 - 10.0 / num_items, 400)));
}

}  // namespace seqrec::test
