// Swapping the completion strategy is one template argument: the same fit / rank / evaluate code runs
// popularity, item-kNN (cosine or BM25), implicit ALS (conjugate gradient or Cholesky) and BPR-MF on Games
// (leave-one-out, fitted on training + validation items, sampled HR/NDCG@10 on the test item), and prints each
// one's top-5 for the first user.
//
//   build/bin/swap-completion [max evaluated users, default 5000]
#include <seqrec/completion.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/sampled.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

using Space = Kokkos::DefaultExecutionSpace;
using T = float;
namespace c = seqrec::completion;

// Everything below is written once for any strategy.
template <c::CompletionStrategy Strategy>
void fit_and_report(const char* name, Strategy strategy, const seqrec::data::Interactions& data, int max_users) {
  static_assert(c::check_completion_strategy<Strategy>());
  Space space;
  const auto split = seqrec::data::leave_one_out(data);
  const auto train = seqrec::data::with_held_out(split, true);  // + each evaluated user's validation item
  const auto t0 = std::chrono::steady_clock::now();
  strategy.fit(space, train);
  space.fence();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<seqrec::id_t> targets;
  for (auto u : split.evaluated_users) targets.push_back(split.test_item(u));
  const auto users = seqrec::eval::select_users(space, split.evaluated_users, targets, max_users, 42);
  const auto history = seqrec::eval::make_history(space, seqrec::data::Sequences::from(data));
  const auto cands = seqrec::eval::make_sampled_candidates(space, users, history, {});
  const auto m = seqrec::eval::evaluate_sampled(space, strategy, cands);

  // Top-5 of user 0 among the items it has not seen in training.
  const auto seen = seqrec::eval::make_history(space, seqrec::data::Sequences::from(train));
  seqrec::View1<seqrec::id_t, Space> first("first", 1);
  const auto top = seqrec::to_host(c::top_k(space, strategy, seqrec::View1<const seqrec::id_t, Space>(first), seen, 5));
  std::printf("%-22s fit %6.2f s  HR@10 %.4f  NDCG@10 %.4f  user 0's top-5: %d %d %d %d %d\n", name, secs, m.hr_at(10),
              m.ndcg_at(10), top(0, 0), top(0, 1), top(0, 2), top(0, 3), top(0, 4));
}

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  const int max_users = argc > 1 ? std::atoi(argv[1]) : 5000;
  try {
    const auto data = seqrec::data::read(seqrec::data::data_file("games/games.txt"), seqrec::data::Format::sasrec);
    fit_and_report("PopRec", c::PopRec<T, Space>(), data, max_users);
    fit_and_report("ItemKnn<Cosine>", c::ItemKnn<T, Space, c::Cosine>(), data, max_users);
    fit_and_report("ItemKnn<Bm25Cosine>", c::ItemKnn<T, Space, c::Bm25Cosine>(), data, max_users);
    fit_and_report("ImplicitAls<CG>", c::ImplicitAls<T, Space, c::ConjugateGradient>(), data, max_users);
    fit_and_report("ImplicitAls<Cholesky>", c::ImplicitAls<T, Space, c::Cholesky>(), data, max_users);
    fit_and_report("BprMf", c::BprMf<T, Space>(), data, max_users);
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "swap-completion: %s\n", e.what());
    return 1;
  }
  return 0;
}
