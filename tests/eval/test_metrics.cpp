#include "support/backends.hpp"

#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/report.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t from <sys/types.h>.
namespace seqrec::test {

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh, empty directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("seqrec_eval_test_" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path)) ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("per-rank metric values", "[eval][metrics]") {
  CHECK(eval::ndcg_at(0, 10) == 1.0);
  CHECK(eval::ndcg_at(3, 10) == Approx(1.0 / std::log2(5.0)));
  CHECK(eval::ndcg_at(1, 10) == Approx(1.0 / std::log2(3.0)));
  CHECK(eval::ndcg_at(10, 10) == 0.0);  // rank 10 is the 11th place
  CHECK(eval::hit_at(9, 10));
  CHECK_FALSE(eval::hit_at(10, 10));
  CHECK(eval::reciprocal_rank(0) == 1.0);
  CHECK(eval::reciprocal_rank(3) == 0.25);
}

TEST_CASE("rank_of counts ties and NaN against the true item", "[eval][metrics]") {
  const std::vector<double> plain{0.5, 0.9, 0.1, 0.3};
  CHECK(eval::rank_of<double>(plain, 0) == 1);
  CHECK(eval::rank_of<double>(plain, 1) == 0);
  CHECK(eval::rank_of<double>(plain, 2) == 3);
  // A constant model gets the worst rank, never a free hit.
  const std::vector<float> constant(101, 0.25f);
  CHECK(eval::rank_of<float>(constant, 0) == 100);
  // Equal scores count against the true item, lower ones do not.
  const std::vector<double> ties{0.5, 0.9, 0.5, 0.1, 0.5};
  CHECK(eval::rank_of<double>(ties, 0) == 3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> nan_truth{nan, 0.1, 0.2};
  CHECK(eval::rank_of<double>(nan_truth, 0) == 2);  // NaN true score: last
  const std::vector<double> nan_other{0.5, nan, 0.2};
  CHECK(eval::rank_of<double>(nan_other, 0) == 1);  // a NaN candidate beats the true item
  CHECK_THROWS_AS(eval::rank_of<double>(plain, 4), seqrec::Error);
}

TEST_CASE("MetricAccumulator matches hand-computed means", "[eval][metrics]") {
  eval::MetricAccumulator acc({10, 1, 5, 10});  // sorted, repeats dropped
  REQUIRE(acc.ks() == std::vector<int>{1, 5, 10});
  for (index_t r : {0, 3, 12}) acc.add(r);
  const auto m = acc.result();
  CHECK(m.count == 3);
  CHECK(m.hr_at(1) == Approx(1.0 / 3));
  CHECK(m.hr_at(5) == Approx(2.0 / 3));
  CHECK(m.hr_at(10) == Approx(2.0 / 3));
  CHECK(m.recall_at(5) == Approx(2.0 / 3));
  CHECK(m.ndcg_at(1) == Approx(1.0 / 3));
  CHECK(m.ndcg_at(5) == Approx((1.0 + 1.0 / std::log2(5.0)) / 3));
  CHECK(m.mrr == Approx((1.0 + 0.25 + 1.0 / 13) / 3));
  CHECK_THROWS_AS(m.hr_at(20), seqrec::Error);
  CHECK_THROWS_AS(m.coverage_at(10), seqrec::Error);  // not computed
  CHECK_THROWS_AS(eval::MetricAccumulator(std::vector<int>{0}), seqrec::Error);
  CHECK_THROWS_AS(eval::MetricAccumulator(std::vector<int>{}), seqrec::Error);
  CHECK_THROWS_AS(acc.add(-1), seqrec::Error);

  // The histogram path gives the same numbers.
  eval::MetricAccumulator from_hist({1, 5, 10});
  std::vector<index_t> hist(20, 0);
  hist[0] = 1, hist[3] = 1, hist[12] = 1;
  from_hist.add_histogram(hist);
  const auto h = from_hist.result();
  CHECK(h.count == 3);
  for (int k : {1, 5, 10}) {
    CHECK(h.hr_at(k) == Approx(m.hr_at(k)));
    CHECK(h.ndcg_at(k) == Approx(m.ndcg_at(k)));
  }
  CHECK(h.mrr == Approx(m.mrr));

  // No users: zeros, not NaN.
  const auto empty = eval::MetricAccumulator(std::vector<int>{10}).result();
  CHECK(empty.count == 0);
  CHECK(empty.hr_at(10) == 0.0);
}

TEST_CASE("several held-out items per user: Recall, NDCG with the ideal DCG, MRR of the best", "[eval][metrics]") {
  eval::MetricAccumulator acc({1, 5});
  const std::vector<index_t> ranks{0, 2};
  acc.add_user(ranks);
  const std::vector<index_t> missed{7, 9, 30};
  acc.add_user(missed);
  const auto m = acc.result();
  // user 1: K=1 one hit of two; K=5 both. user 2: nothing within 5.
  CHECK(m.hr_at(1) == Approx(0.5));
  CHECK(m.recall_at(1) == Approx(0.25));
  CHECK(m.recall_at(5) == Approx(0.5));
  CHECK(m.ndcg_at(1) == Approx(0.5));  // dcg 1 / ideal 1
  const double ideal2 = 1.0 + 1.0 / std::log2(3.0);
  CHECK(m.ndcg_at(5) == Approx((1.0 + 1.0 / std::log2(4.0)) / ideal2 / 2));
  CHECK(m.mrr == Approx((1.0 + 1.0 / 8) / 2));
  CHECK_THROWS_AS(acc.add_user(std::vector<index_t>{}), seqrec::Error);
}

TEST_CASE("coverage from top-K lists on the host", "[eval][metrics]") {
  // Three lists of length 3 over 6 items; 0 is padding.
  const std::vector<id_t> lists{1, 2, 3,  //
                                2, 4, 0,  //
                                1, 5, 4};
  const auto c = eval::coverage_from_lists(lists, 3, 6, {1, 2, 3});
  REQUIRE(c.size() == 3);
  CHECK(c[0] == Approx(2.0 / 6));  // {1, 2}
  CHECK(c[1] == Approx(4.0 / 6));  // {1, 2, 4, 5}
  CHECK(c[2] == Approx(5.0 / 6));  // + 3
  CHECK_THROWS_AS(eval::coverage_from_lists(lists, 4, 6, {1}), seqrec::Error);
}

TEMPLATE_TEST_CASE("device coverage and rank reduction match the host", "[eval][metrics]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const index_t users = 300, len = 10, items = 400;
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> item(0, items);  // includes padding 0
  std::vector<id_t> lists(users * len);
  for (auto& x : lists) x = item(gen);
  seqrec::View2<id_t, Space> dl("lists", users, len);
  auto hl = Kokkos::create_mirror_view(dl);
  for (index_t u = 0; u < users; ++u)
    for (index_t j = 0; j < len; ++j) hl(u, j) = lists[u * len + j];
  Kokkos::deep_copy(dl, hl);
  const std::vector<int> ks{1, 5, 10};
  const auto dev = eval::coverage(space, seqrec::View2<const id_t, Space>(dl), items, ks);
  const auto host = eval::coverage_from_lists(lists, len, items, ks);
  REQUIRE(dev.size() == host.size());
  for (std::size_t i = 0; i < dev.size(); ++i) CHECK(dev[i] == host[i]);

  std::uniform_int_distribution<int> rank(0, 100);
  std::vector<index_t> ranks(5000);
  for (auto& r : ranks) r = rank(gen);
  auto dr = seqrec::test::from_vector<Space>(ranks, "ranks");
  const auto md = eval::metrics_from_ranks(space, seqrec::View1<const index_t, Space>(dr), 101, {1, 10, 50});
  const auto mh = eval::metrics_from_ranks(std::span<const index_t>(ranks), {1, 10, 50});
  CHECK(md.count == 5000);
  for (int k : {1, 10, 50}) {
    CHECK(md.hr_at(k) == Approx(mh.hr_at(k)).epsilon(1e-12));
    CHECK(md.ndcg_at(k) == Approx(mh.ndcg_at(k)).epsilon(1e-12));
  }
  CHECK(md.mrr == Approx(mh.mrr).epsilon(1e-12));
  // Ranks beyond the candidate count mean a wrong count: refused, not clamped.
  CHECK_THROWS_AS(eval::metrics_from_ranks(space, seqrec::View1<const index_t, Space>(dr), 50, {10}), seqrec::Error);
  // Exact reduction: bit-identical to Serial whatever the backend and thread count.
  auto sr = seqrec::test::from_vector<Kokkos::Serial>(ranks, "ranks");
  const auto ms = eval::metrics_from_ranks(Kokkos::Serial{}, seqrec::View1<const index_t, Kokkos::Serial>(sr), 101,
                                           {1, 10, 50});
  CHECK(ms.hr == md.hr);
  CHECK(ms.ndcg == md.ndcg);
  CHECK(ms.mrr == md.mrr);
}

TEST_CASE("MetricSet prints as JSON and as one human line", "[eval][report]") {
  eval::MetricAccumulator acc({1, 10});
  for (index_t r : {0, 4, 50}) acc.add(r);
  auto m = acc.result();
  m.protocol = "sampled";
  m.candidates = 101;
  m.candidate_seed = 7;
  m.eligible_users = 31013;
  m.user_sample = true;
  m.user_seed = 3;
  const nlohmann::json j = m;
  CHECK(j["protocol"] == "sampled");
  CHECK(j["users"] == 3);
  CHECK(j["eligible_users"] == 31013);
  CHECK(j["user_sample"] == true);
  CHECK(j["user_seed"] == 3);
  CHECK(j["candidates"] == 101);
  CHECK(j["metrics"]["HR@10"].get<double>() == Approx(2.0 / 3));
  CHECK(j["metrics"]["NDCG@1"].get<double>() == Approx(1.0 / 3));
  CHECK(j["metrics"].contains("MRR"));
  CHECK_FALSE(j["metrics"].contains("Coverage@10"));

  std::ostringstream os;
  eval::write_json_line(os, eval::metrics_json(m));
  const std::string line = os.str();
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  CHECK(nlohmann::json::parse(line) == j);

  const std::string human = m.summary();
  CHECK(human.find("HR@10 0.6667") != std::string::npos);
  CHECK(human.find("NDCG@1 0.3333") != std::string::npos);
  CHECK(human.find("sample of 31013") != std::string::npos);
  CHECK(human.find("101 candidates") != std::string::npos);
  std::ostringstream streamed;
  streamed << m;
  CHECK(streamed.str() == human);
}

TEST_CASE("SummaryTable compares rows with a reference", "[eval][report]") {
  eval::MetricAccumulator acc(std::vector<int>{10});
  for (int i = 0; i < 7191; ++i) acc.add(0);
  for (int i = 0; i < 2809; ++i) acc.add(50);
  const auto ours = acc.result();
  eval::SummaryTable table({"HR@10", "NDCG@10", "Coverage@10"});
  table.add("seqrec", ours)
      .add("SASRec paper", eval::SummaryTable::Values{{"HR@10", 0.7410}, {"NDCG@10", 0.5360}})
      .reference("SASRec paper");
  const std::string text = table.str();
  INFO(text);
  CHECK(text.find("| system") == 0);
  CHECK(text.find("0.7191") != std::string::npos);
  CHECK(text.find("0.7410") != std::string::npos);
  CHECK(text.find("seqrec - SASRec paper") != std::string::npos);
  CHECK(text.find("-0.0219") != std::string::npos);
  CHECK(text.find("+0.1831") != std::string::npos);  // NDCG: 0.7191 - 0.5360
  int lines = 0;
  for (char c : text) lines += c == '\n';
  CHECK(lines == 5);  // header, rule, two rows, one delta row
  table.reference("nobody");
  CHECK_THROWS_AS(table.str(), seqrec::Error);
}

TEST_CASE("write_file_atomic replaces the file or leaves it alone", "[eval][report]") {
  TempDir dir;
  const auto path = dir.path / "report.json";
  eval::write_file_atomic(path, std::string_view("first\n"));
  CHECK(read_file(path) == "first\n");
  eval::write_file_atomic(path, [](std::ostream& os) {
    for (int i = 0; i < 100000; ++i) os << i << '\n';  // larger than the stream buffer
  });
  const std::string big = read_file(path);
  CHECK(big.substr(0, 4) == "0\n1\n");
  CHECK(big.size() > 500000);
  CHECK(dir.entries() == 1);

  // The writer throws midway: the old file stays, and no temporary is left behind.
  CHECK_THROWS_AS(eval::write_file_atomic(path,
                                          [](std::ostream& os) {
                                            for (int i = 0; i < 50000; ++i) os << "partial " << i << '\n';
                                            throw std::runtime_error("writer failed");
                                          }),
                  std::runtime_error);
  CHECK(read_file(path) == big);
  CHECK(dir.entries() == 1);

  // Same for a file that did not exist yet: it still does not.
  const auto fresh = dir.path / "fresh.txt";
  CHECK_THROWS_AS(eval::write_file_atomic(fresh,
                                          [](std::ostream& os) {
                                            os << "half";
                                            throw std::runtime_error("no");
                                          }),
                  std::runtime_error);
  CHECK_FALSE(std::filesystem::exists(fresh));
  CHECK(dir.entries() == 1);

  // A directory that does not exist: an I/O error naming the path.
  try {
    eval::write_file_atomic(dir.path / "missing" / "x.json", std::string_view("{}"));
    FAIL("expected an exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::io);
    CHECK(e.message().find("missing") != std::string::npos);
  }
}

}  // namespace seqrec::test
