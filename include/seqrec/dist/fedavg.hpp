// Federated averaging (McMahan et al. 2017) over MPI ranks: each rank is a client that trains on its own
// users' interactions only; after its local epochs, FedAvg::average combines the clients' models into the
// next global model, weighting each client by its number of training examples. What a client sends is its
// parameter update and its size, never interactions (the communicator's ledger shows it).
// Optional differential-privacy style protection (DP-FedAvg, McMahan et al. 2018): each client's update is
// clipped to L2 norm `clip`, and Gaussian noise of standard deviation noise_multiplier * clip * max_k w_k
// (the weighted sum's sensitivity to one client) is added to the average; the noise multiplier is reported.
// The noise is drawn from a stream seeded by (seed, round) on every rank alike, so all ranks agree on the
// new global model without another message. Optimizer state (Adam's moments) stays local to each client.
#pragma once

#include <seqrec/core/random.hpp>
#include <seqrec/dist/communicator.hpp>

#include <cmath>
#include <vector>

namespace seqrec::dist {

struct FedAvgOptions {
  double clip = 0;              // L2 bound on each client's update; 0: no clipping
  double noise_multiplier = 0;  // z: noise std = z * clip * max weight; needs clip > 0
  std::uint64_t seed = 0;       // noise stream
};

struct FedAvgRound {
  int round = 0;
  double weight = 0;       // this client's n_k / N
  double update_norm = 0;  // before clipping
  bool clipped = false;
  double noise_std = 0;
  std::int64_t bytes_sent = 0;  // by this rank in this round
};

template <class Params>
class FedAvg {
 public:
  using scalar_type = typename std::remove_cvref_t<decltype(*std::declval<const Params&>().begin())>::scalar_type;
  using T = scalar_type;

  // Takes the current parameters (identical on every rank: same seed) as the first global model.
  FedAvg(Communicator& comm, const Params& params, FedAvgOptions options) : comm_(&comm), options_(options) {
    SEQREC_REQUIRE(options.clip >= 0 && options.noise_multiplier >= 0, "FedAvg: clip (", options.clip,
                   ") and noise multiplier (", options.noise_multiplier, ") must be >= 0");
    SEQREC_REQUIRE(options.noise_multiplier == 0 || options.clip > 0,
                   "FedAvg: noise needs a clipping bound (the noise is scaled by it): set clip > 0");
    global_.resize(std::size_t(flat_size(params)));
    local_.resize(global_.size());
    stage(params, global_, true);
  }

  const FedAvgOptions& options() const { return options_; }
  const std::vector<T>& global() const { return global_; }

  // After this client's local training on `client_size` examples: the new global model, written into params.
  FedAvgRound average(const Params& params, std::int64_t client_size) {
    Communicator& comm = *comm_;
    const std::int64_t before = comm.ledger().total_bytes();
    FedAvgRound out;
    out.round = ++round_;
    stage(params, local_, true);
    double norm2 = 0;
    for (std::size_t i = 0; i < local_.size(); ++i) {
      const double u = double(local_[i]) - double(global_[i]);  // this client's update
      norm2 += u * u;
    }
    out.update_norm = std::sqrt(norm2);
    const double total = double(comm.allreduce_sum(client_size, "client_size"));
    SEQREC_REQUIRE(total > 0, "FedAvg::average: no client has training examples");
    out.weight = double(client_size) / total;
    if (options_.clip <= 0) {
      // Without clipping, g + sum_k w_k (l_k - g) = sum_k w_k l_k: average the models themselves, which one
      // client reproduces exactly (the update form would round g + (l - g)).
      const T w = T(out.weight);
      for (auto& x : local_) x *= w;
      comm.allreduce_sum(std::span<T>(local_), "parameters");
      global_.swap(local_);
    } else {
      double factor = 1;
      if (out.update_norm > options_.clip) {
        factor = options_.clip / out.update_norm;
        out.clipped = true;
      }
      const T w = T(out.weight * factor);
      for (std::size_t i = 0; i < local_.size(); ++i) local_[i] = w * (local_[i] - global_[i]);
      comm.allreduce_sum(std::span<T>(local_), "parameters");
      if (options_.noise_multiplier > 0) {
        const double max_w = comm.allreduce_max(out.weight, "client_size");
        out.noise_std = options_.noise_multiplier * options_.clip * max_w;
        const RandomStream rs(options_.seed, std::uint64_t(round_));
        for (std::size_t i = 0; i < local_.size(); ++i) local_[i] += T(out.noise_std * rs.normal<double>(i));
      }
      for (std::size_t i = 0; i < global_.size(); ++i) global_[i] += local_[i];
    }
    stage(params, global_, false);
    out.bytes_sent = comm.ledger().total_bytes() - before;
    return out;
  }

 private:
  static void stage(const Params& params, std::vector<T>& buf, bool to_host) {
    std::size_t at = 0;
    for (const auto& p : params) {
      if (to_host)
        stage_to_host(p.value(), buf.data() + at);
      else
        stage_from_host(p.value(), buf.data() + at);
      at += std::size_t(p.size());
    }
    Kokkos::fence();
  }

  Communicator* comm_;
  FedAvgOptions options_;
  std::vector<T> global_, local_;
  int round_ = 0;
};

}  // namespace seqrec::dist
