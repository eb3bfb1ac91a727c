// seqrec-train: train and evaluate a sequential recommender (SASRec, GRU4Rec-style GRU, LSTM) on a real
// dataset with the leave-one-out protocol. Progress goes to stderr; stdout gets JSON lines (one per
// evaluation) and, last, one JSON object with the final metrics.
//
//   seqrec-train --data games/games.txt --format sasrec --model sasrec --epochs 200 --patience 20
//   seqrec-train --data ml-1m.txt --format sasrec --maxlen 200 --dropout 0.2      (the SASRec paper's ML-1M row)
//   seqrec-train --data beauty/beauty.txt --format user-lines --aux attributes --combinator uncertainty
//   seqrec-train --data ml-100k/u.data --format ml-100k --aux genres            (next item + its genres)
//   seqrec-train --data ml-100k/u.data --format ml-100k --context time+user     (context-aware head)
//
// This file parses and checks the command line and picks the variant; each variant is compiled once per encoder
// in examples/train/ (options.hpp says why).
#include "common/data_cli.hpp"
#include "train/options.hpp"

#include <seqrec/completion/registry.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/losses/registry.hpp>
#if defined(SEQREC_WITH_MPI)
#include <seqrec/dist/communicator.hpp>
#endif

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using seqrec::tools::Clock;
using seqrec::tools::EncoderKind;
using seqrec::tools::g_job;
using seqrec::tools::Options;
using seqrec::tools::seconds_since;

extern "C" void request_stop(int) { seqrec::tools::g_stop_requested = 1; }

// A bad command line: the reason, exit status 2.
int fail(const std::string& why) {
  std::fprintf(stderr, "seqrec-train: %s\n", why.c_str());
  return 2;
}

// A file as given when it exists (or is absolute), else under $SEQREC_DATA. Throws seqrec::Error when neither has it.
std::string resolve_file(const std::string& given) {
  std::filesystem::path path(given);
  if (!path.is_absolute() && !std::filesystem::exists(path)) path = seqrec::data::data_file(given);
  return path.string();
}

// The variant the options ask for, with encoder E (each is its own translation unit).
template <EncoderKind E>
int dispatch(const Options& o, const seqrec::data::Interactions& data) {
  namespace t = seqrec::tools;
  if (o.scalar_double) return t::train_plain<double, E>(o, data);
  if (!o.context.empty()) return t::train_context<E>(o, data);
  if (t::joint_aux(o.aux)) return t::train_joint<E>(o, data);
  if (!o.aux.empty()) return t::train_multitask<E>(o, data);
  return t::train_plain<float, E>(o, data);
}

template <std::size_t... I>
int dispatch(const Options& o, const seqrec::data::Interactions& data, std::index_sequence<I...>) {
  std::optional<int> rc;
  ((o.model == seqrec::tools::encoder_kinds[I].second &&
    (rc = dispatch<seqrec::tools::encoder_kinds[I].first>(o, data), true)) ||
   ...);
  // CLI11 checks the list first; never silently one of them
  return rc ? *rc : fail("unknown --model '" + o.model + "'");
}

std::vector<std::string> encoder_names() {
  std::vector<std::string> out;
  for (const auto& entry : seqrec::tools::encoder_kinds) out.push_back(entry.second);
  return out;
}

std::vector<std::string> combinator_names() {
  std::vector<std::string> out;
  seqrec::for_each_type(seqrec::losses::Combinators<2>{}, [&](auto id) { out.push_back(decltype(id)::type::key); });
  return out;
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  CLI::App app{"seqrec-train: train and evaluate a sequential recommender (leave-one-out)"};
  // An option given twice takes its last value, so `scripts/run.sh --epochs 5` overrides the script's own
  // --epochs; --aux and --weights collect every value instead.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  seqrec::tools::DataOptions input;
  seqrec::tools::add_data_options(app, input, /*with_weights=*/false);  // --weights: the task weights here
  app.add_option("--model", o.model, "the encoder: sasrec | gru4rec | lstm")->check(CLI::IsMember(encoder_names()));
  app.add_option("--maxlen", o.maxlen, "window length")->check(CLI::PositiveNumber);
  app.add_option("--dim", o.dim, "embedding dimension")->check(CLI::PositiveNumber);
  app.add_option("--blocks", o.blocks, "self-attention blocks (sasrec)")->check(CLI::PositiveNumber);
  app.add_option("--heads", o.heads, "attention heads (sasrec)")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers, "recurrent layers (gru4rec, lstm)")->check(CLI::PositiveNumber);
  app.add_option("--dropout", o.dropout, "dropout rate")->check(CLI::Range(0.0, 0.95));
  app.add_option("--init-std", o.init_std,
                 "initial spread s of the item embedding, N(0, s): auto (default: xavier for sasrec, 1/sqrt(dim) "
                 "for gru4rec and lstm), xavier (sqrt(2 / (items + 1 + dim)), the spread of the SASRec paper's "
                 "Xavier-uniform table), or a number (0: 1/sqrt(dim))");
  app.add_option("--lr", o.lr, "Adam learning rate (betas 0.9, 0.98)")->check(CLI::PositiveNumber);
  app.add_option("--l2", o.l2, "L2 on every parameter");
  app.add_option("--clip", o.clip, "gradient-norm clipping (0: none)");
  app.add_option("--batch", o.batch, "users per batch")->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "maximum epochs")->check(CLI::PositiveNumber);
  app.add_option("--patience", o.patience, "epochs without validation NDCG@10 gain before stopping");
  app.add_option("--time-limit", o.time_limit, "stop training after this many seconds (at an epoch boundary)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--eval-batch", o.eval_batch, "users scored at once when evaluating")->check(CLI::PositiveNumber);
  app.add_option("--eval-every", o.eval_every, "evaluate every N epochs")->check(CLI::PositiveNumber);
  app.add_option("--eval", o.eval, "test protocol: sampled | full | both (default both)")
      ->check(CLI::IsMember({"sampled", "full", "both"}));
  app.add_option("--negatives", o.negatives, "sampled negatives per evaluated user (the sampled protocol)")
      ->check(CLI::PositiveNumber);
  app.add_option("--loss", o.loss,
                 "next-item loss: " + seqrec::losses::RuntimeLoss<float, Kokkos::Serial>::names() +
                     " (ce: softmax over every item; the rest score the target against sampled negatives)");
  app.add_option("--train-negatives", o.train_negatives,
                 "sampled negatives per training position (default: 1 for bce, 256 for sampled-softmax and gbce, 32 "
                 "for bpr, bpr-max and top1-max; ce samples none)")
      ->check(CLI::PositiveNumber);
  app.add_option("--gbce-t", o.gbce_t, "--loss gbce: calibration t in [0, 1] (beta from t and the sampling rate)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--bpr-max-lambda", o.bpr_max_lambda, "--loss bpr-max: score regulariser weight")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-eval-users", o.max_eval_users, "evaluate a seeded sample of users (0: all)");
  app.add_option("--seed", o.seed, "seed of everything random");
  app.add_option("--threads", o.threads, "OpenMP threads (0: Kokkos default)");
  app.add_option("--blas-threads", o.blas_threads, "OpenBLAS threads (default 1)");
  app.add_option("--checkpoint", o.checkpoint, "write a checkpoint here after every epoch (atomically)");
  app.add_flag("--resume", o.resume, "continue from --checkpoint when it exists");
  app.add_flag("--json", o.json_only, "JSON lines only (no human progress)");
  app.add_flag("--double", o.scalar_double, "compute in double");
  app.add_option("--blend", o.blend, "after training, blend the model with a completion strategy and report it")
      ->check(CLI::IsMember(seqrec::completion::strategy_name_list<float, Kokkos::Serial>()));
  app.add_option("--cold", o.cold, "the blend report's cold users: at most this many training interactions")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--distributed", o.distributed,
                 "under mpirun: data-parallel (a slice of each global --batch per rank) or fedavg (each rank a "
                 "client with its own users)")
      ->check(CLI::IsMember({"data-parallel", "fedavg"}));
  app.add_option("--local-epochs", o.local_epochs, "fedavg: local epochs per round (an --epochs epoch is a round)")
      ->check(CLI::PositiveNumber);
  app.add_option("--fed-clip", o.fed_clip, "fedavg: clip each client's update to this L2 norm (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fed-noise", o.fed_noise, "fedavg: Gaussian noise multiplier on the clipped average")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--aux", o.aux,
                 "auxiliary task trained with the next item: attributes (item attribute JSON), genres "
                 "(MovieLens-100K u.item), rating (the data's ratings, regression), item-item (co-occurring items, "
                 "on the item embedding) or user-user (users who share items); item-item and user-user combine")
      ->check(CLI::IsMember({"attributes", "genres", "rating", "item-item", "user-user"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--attributes", o.attributes,
                 "item attributes: {\"item\": [attribute ids]} JSON for --aux attributes (default for Beauty: "
                 "beauty/beauty_item2attributes.json), u.item for --aux genres (default ml-100k/u.item)");
  app.add_option("--context", o.context,
                 "context-aware head: time (gap, hour, weekday), user (age, gender, "
                 "occupation) or time+user")
      ->check(CLI::IsMember({"time", "user", "time+user"}));
  app.add_option("--users", o.users, "MovieLens-100K u.user for --context user (default ml-100k/u.user)");
  app.add_option("--combinator", o.combinator,
                 "how the task losses combine (default uncertainty; weighted when --weights is given)")
      ->check(CLI::IsMember(combinator_names()));
  app.add_option("--weights", o.weights, "task weights for --combinator weighted, e.g. 1,0.5 (next item first)")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--joint-window", o.joint_window, "--aux item-item: items within this many positions co-occur")
      ->check(CLI::PositiveNumber);
  app.add_option("--joint-negatives", o.joint_negatives, "--aux item-item: sampled items per co-occurring pair")
      ->check(CLI::PositiveNumber);
  app.add_option("--tail", o.tail, "long-tail report: test items with at most this many training interactions")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--item-features", o.item_features,
                 "item feature matrix (.npy, rows = the ids in FILE.ids.npy, e.g. scripts/encode_item_features.py)");
  app.add_option("--item-feature-ids", o.item_feature_ids_path,
                 "the original item ids of --item-features' rows (.npy)");
  app.add_option("--projection", o.projection, "item features into the embedding space: linear | mlp")
      ->check(CLI::IsMember({"linear", "mlp"}));
  app.add_option("--projection-hidden", o.projection_hidden, "--projection mlp: hidden width")
      ->check(CLI::PositiveNumber);
  app.add_flag("--features-only", o.features_only, "items are P(features) alone, without a learned embedding");
  app.add_option("--cold-items", o.cold_items,
                 "hold this fraction of items out of training entirely and report how they are ranked")
      ->check(CLI::Range(0.0, 0.9));
  CLI11_PARSE(app, argc, argv);
  o.data = input.data;
  o.format = input.format;

  if (o.init_std != "xavier" && o.init_std != "auto") {
    std::size_t used = 0;
    double v = -1;
    try {
      v = std::stod(o.init_std, &used);
    } catch (const std::exception&) {
    }
    if (used != o.init_std.size() || !(v >= 0 && v <= 10))
      return fail("--init-std expects auto, xavier or a number in [0, 10], got '" + o.init_std + "'");
    o.init_std_value = v;
  }

  using Losses = seqrec::losses::RuntimeLoss<float, Kokkos::Serial>;
  if (!Losses::known(o.loss)) return fail("unknown --loss '" + o.loss + "' (" + Losses::names() + ")");
  // Data-parallel training exchanges the item rows a step touched (inputs and sampled candidates); a softmax over
  // the whole catalogue touches every row.
  if (o.loss == "ce" && o.distributed == "data-parallel")
    return fail("--loss ce does not combine with --distributed data-parallel (it updates every item row)");
  // The multi-task and context models train on the sampled candidates (the combinator weights their gradient, the
  // context gates each one).
  if (o.loss == "ce" && (!o.aux.empty() || !o.context.empty()))
    return fail("--loss ce takes the plain model; --aux and --context take a loss over sampled candidates (" +
                Losses::names() + " but ce)");

  if (!o.aux.empty() || !o.attributes.empty() || !o.combinator.empty() || !o.weights.empty()) {
    if (o.aux.empty()) return fail("--attributes, --combinator and --weights need --aux");
    if (o.scalar_double) return fail("--aux trains in float (--double takes the plain model)");
    if (o.aux.size() > 1 && !seqrec::tools::joint_aux(o.aux))
      return fail(
          "several --aux tasks go together only as item-item and user-user; attributes, genres and rating "
          "one at a time");
    if (o.aux.size() == 2 && o.aux[0] == o.aux[1]) return fail("--aux " + o.aux[0] + " is given twice");
    if (o.aux.size() == 2 && o.aux[0] == "user-user") {  // one model type: item-item first, weights to match
      std::swap(o.aux[0], o.aux[1]);
      if (o.weights.size() == 3) std::swap(o.weights[1], o.weights[2]);
    }
    if (!o.blend.empty()) return fail("--blend takes the plain model (without --aux)");
    if (!o.distributed.empty()) return fail("--aux does not combine with --distributed");
    if (!o.weights.empty() && !o.combinator.empty() && o.combinator != "weighted")
      return fail("--weights applies to --combinator weighted only");
    if (!o.weights.empty() && o.weights.size() != 1 + o.aux.size())
      return fail("--weights needs " + std::to_string(1 + o.aux.size()) + " values (next item, then each --aux)");
    if (o.aux[0] == "rating" || seqrec::tools::joint_aux(o.aux)) {
      if (!o.attributes.empty()) return fail("--aux " + o.aux[0] + " reads the interactions, not --attributes");
    } else {
      if (o.attributes.empty() && o.aux[0] == "genres") o.attributes = "ml-100k/u.item";
      if (o.attributes.empty()) {
        if (o.data.find("beauty") == std::string::npos)
          return fail("--aux attributes needs --attributes FILE (the default is Beauty's)");
        o.attributes = "beauty/beauty_item2attributes.json";
      }
      try {
        o.attributes_path = resolve_file(o.attributes);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

  if (!o.context.empty() || !o.users.empty()) {
    if (o.context.empty()) return fail("--users needs --context user or time+user");
    if (!o.aux.empty()) return fail("--context and --aux do not combine yet (one model change at a time)");
    if (o.scalar_double) return fail("--context trains in float (--double takes the plain model)");
    if (!o.distributed.empty()) return fail("--context does not combine with --distributed");
    if (!o.blend.empty()) return fail("--blend takes the plain model (without --context)");
    if (o.context != "time") {
      if (o.users.empty()) {
        if (o.data.find("ml-100k") == std::string::npos)
          return fail("--context " + o.context + " needs --users FILE (MovieLens-100K's u.user)");
        o.users = "ml-100k/u.user";
      }
      try {
        o.users_path = resolve_file(o.users);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

  if (!o.item_features.empty() || o.cold_items > 0 || !o.item_feature_ids_path.empty() || o.features_only) {
    if (o.item_features.empty() && (!o.item_feature_ids_path.empty() || o.features_only))
      return fail("--item-feature-ids and --features-only need --item-features");
    if (!o.aux.empty() || !o.context.empty() || !o.distributed.empty())
      return fail("--item-features and --cold-items take the plain model (without --aux, --context, --distributed)");
    if (!o.item_features.empty()) {
      try {
        o.item_features_path = resolve_file(o.item_features);
        if (!o.item_feature_ids_path.empty()) o.item_feature_ids_path = resolve_file(o.item_feature_ids_path);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

#if defined(SEQREC_WITH_MPI)
  std::optional<seqrec::dist::MpiSession> mpi;
  std::optional<seqrec::dist::Communicator> world;
  if (!o.distributed.empty()) {
    mpi.emplace(argc, argv);
    world.emplace();
    g_job.comm = &*world;
    g_job.rank = world->rank();
    g_job.ranks = world->size();
    if (!g_job.root()) {
      o.json_only = true;  // one rank reports
      if (!std::freopen("/dev/null", "w", stdout)) return 1;
    }
    if (o.distributed == "data-parallel" && o.batch % g_job.ranks != 0) {
      std::fprintf(stderr, "seqrec-train: --batch %d must be a multiple of the %d ranks (each takes a slice)\n",
                   o.batch, g_job.ranks);
      return 2;
    }
  }
#else
  if (!o.distributed.empty()) {
    std::fprintf(stderr,
                 "seqrec-train: --distributed needs MPI; this build has none (install libopenmpi-dev and "
                 "reconfigure)\n");
    return 2;
  }
#endif

  Kokkos::InitArguments args;
  if (o.threads > 0) args.num_threads = o.threads;
  Kokkos::ScopeGuard guard(args);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  // One BLAS thread by default: the model's products are small, and OpenBLAS's spinning workers slow the
  // OpenMP threads down (measured on Games: 2-thread epoch 2.1 s with 2 BLAS threads, 1.3 s with 1).
  seqrec::linalg::set_blas_threads(o.blas_threads > 0 ? o.blas_threads : 1);
  try {
    const auto t0 = Clock::now();
    const auto data = seqrec::tools::read_data(input, {}, o.json_only);
    if (!o.json_only) std::fprintf(stderr, "read %s in %.2f s\n", data.source.c_str(), seconds_since(t0));
    return dispatch(o, data, std::make_index_sequence<seqrec::tools::encoder_kinds.size()>{});
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "seqrec-train: %s\n", e.what());
    return 1;
  }
}
