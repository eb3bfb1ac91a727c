// Data-parallel training over MPI ranks: every rank holds the same model, takes its slice of each global
// batch, computes gradients, and GradientSync (run by SequentialRecommender::train_step between backward and
// the optimizer step) turns them into the gradient of the whole global batch on every rank, so each rank
// then takes the identical optimizer step:
//   - the loss is a mean over counted positions, so rank r's gradient is weighted by n_r / N;
//   - dense parameters (encoder, positions) are summed with one all-reduce of a host-staged buffer;
//   - the item embedding's gradient is sparse (a batch touches a few thousand of its rows), so each rank
//     sends only the rows its batch touched, as (row id, row) pairs, and adds everyone's into its table.
// Host staging works the same from an OpenMP or a CUDA space.
#pragma once

#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/dist/communicator.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>

#include <chrono>
#include <vector>

namespace seqrec::dist {

// Users of global batch rows [lo, hi) of an epoch's order go to rank r: rows [lo + s r / R, lo + s (r+1) / R)
// with s = hi - lo. Splitting each global batch (not the user list) keeps the ranks' union equal to the batch
// a single process would take, which is what makes R ranks follow one rank's trajectory.
inline std::pair<index_t, index_t> rank_slice(index_t lo, index_t hi, int rank, int ranks) {
  const index_t s = hi - lo;
  return {lo + s * rank / ranks, lo + s * (rank + 1) / ranks};
}

struct SyncStats {
  std::int64_t steps = 0;
  std::int64_t dense_bytes = 0;   // sent by this rank, all steps
  std::int64_t sparse_bytes = 0;  // ids and rows sent by this rank, all steps
  std::int64_t rows_sent = 0;
  double seconds = 0;  // staging and communication
};

namespace detail {

// mark(i) = 1 for every item id in ids and cand (row 0, padding, never has a gradient).
template <class Space>
void mark_rows(const Space& space, View1<int, Space> mark,
               Kokkos::View<const id_t**, Kokkos::LayoutRight, typename Space::memory_space> ids,
               View2<const id_t, Space> cand) {
  Kokkos::deep_copy(space, mark, 0);
  Kokkos::parallel_for(
      "seqrec::dist::mark_inputs",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ids.extent(0), ids.extent(1)}),
      KOKKOS_LAMBDA(index_t b, index_t t) {
        if (ids(b, t) > 0) mark(ids(b, t)) = 1;
      });
  Kokkos::parallel_for(
      "seqrec::dist::mark_candidates",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {cand.extent(0), cand.extent(1)}),
      KOKKOS_LAMBDA(index_t r, index_t c) {
        if (cand(r, c) > 0) mark(cand(r, c)) = 1;
      });
}

// out(j, :) = scale * table(ids(j), :)
template <class T, class Space, class Table>
void gather_rows(const Space& space, View1<const id_t, Space> ids, Table table, View2<T, Space> out, T scale) {
  Kokkos::parallel_for(
      "seqrec::dist::gather_rows",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ids.extent(0), table.extent(1)}),
      KOKKOS_LAMBDA(index_t j, index_t k) { out(j, k) = scale * table(ids(j), k); });
}

// table(ids(j), :) = 0 for every j, then table(ids(j), :) += rows(j, :) (ids repeat: one entry per rank).
template <class T, class Space, class Table>
void replace_rows_with_sums(const Space& space, View1<const id_t, Space> ids, View2<const T, Space> rows, Table table) {
  const auto policy = Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ids.extent(0), table.extent(1)});
  Kokkos::parallel_for(
      "seqrec::dist::zero_rows", policy, KOKKOS_LAMBDA(index_t j, index_t k) { table(ids(j), k) = T(0); });
  Kokkos::parallel_for(
      "seqrec::dist::add_rows", policy,
      KOKKOS_LAMBDA(index_t j, index_t k) { Kokkos::atomic_add(&table(ids(j), k), rows(j, k)); });
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class GradientSync {
 public:
  explicit GradientSync(Communicator& comm) : comm_(&comm) {}

  const SyncStats& stats() const { return stats_; }
  Communicator& communicator() const { return *comm_; }

  template <class Model>
  losses::LossValue operator()(const Space& space, Model& model, const data::SequenceBatch<Space>& batch,
                               losses::LossValue loss) {
    Communicator& comm = *comm_;
    if (comm.size() == 1) {  // one rank: its gradient is the global batch's already
      ++stats_.steps;
      return loss;
    }
    const auto t0 = std::chrono::steady_clock::now();
    // The global loss and count: [sum of losses, counted positions], summed over ranks.
    double l[2] = {loss.count > 0 ? loss.value * double(loss.count) : 0.0, double(loss.count)};
    comm.allreduce_sum(std::span<double>(l, 2), "loss");
    const double N = l[1];
    const T scale = N > 0 ? T(double(loss.count) / N) : T(0);

    const auto& items = model.items();
    const T* table_data = items.parameter().value().data();
    if (dense_.empty()) {
      std::int64_t n = 0;
      for (const auto& p : model.parameters())
        if (p.value().data() != table_data) n += p.size();
      dense_.resize(std::size_t(n));
    }
    space.fence();
    std::size_t at = 0;
    for (const auto& p : model.parameters())
      if (p.value().data() != table_data) {
        stage_to_host(p.grad(), dense_.data() + at);
        at += std::size_t(p.size());
      }
    for (auto& g : dense_) g *= scale;
    comm.allreduce_sum(std::span<T>(dense_), "gradients");
    at = 0;
    for (const auto& p : model.parameters())
      if (p.value().data() != table_data) {
        stage_from_host(p.grad(), dense_.data() + at);
        at += std::size_t(p.size());
      }
    stats_.dense_bytes += std::int64_t(dense_.size() * sizeof(T));

    // The item embedding: (id, row) pairs of the rows this rank's batch touched.
    const index_t rows = items.rows(), d = items.dim();
    if (index_t(mark_.extent(0)) != rows) {
      mark_ = make_uninitialized<View1<int, Space>>(space, "dist::GradientSync::mark", rows);
      mark_host_ = Kokkos::create_mirror_view(mark_);
    }
    detail::mark_rows(space, mark_, batch.inputs, model.candidates());
    Kokkos::deep_copy(space, mark_host_, mark_);
    space.fence();
    ids_.clear();
    for (index_t i = 1; i < rows; ++i)
      if (mark_host_(i)) ids_.push_back(id_t(i));
    const index_t n = index_t(ids_.size());
    const View1<const id_t, Space> ids_dev = upload(space, ids_, ids_dev_);
    const View2<T, Space> out = rows_of(space, out_, n, d, "dist::GradientSync::rows");
    detail::gather_rows(space, ids_dev, items.grad(), out, scale);
    row_buf_.resize(std::size_t(n * d));
    Kokkos::deep_copy(space, HostRows<T>(row_buf_.data(), n, d), out);
    space.fence();
    std::vector<int> counts;
    const auto all_ids = comm.allgatherv(std::span<const id_t>(ids_), counts, "embedding_rows");
    const auto all_rows = comm.allgatherv(std::span<const T>(row_buf_), counts, "embedding_rows");
    stats_.sparse_bytes += std::int64_t(ids_.size() * sizeof(id_t) + row_buf_.size() * sizeof(T));
    stats_.rows_sent += n;
    const index_t m = index_t(all_ids.size());
    const View1<const id_t, Space> all_ids_dev = upload(space, all_ids, all_ids_dev_);
    const View2<T, Space> all_rows_dev = rows_of(space, all_rows_dev_, m, d, "dist::GradientSync::all_rows");
    Kokkos::deep_copy(space, all_rows_dev, HostRows<const T>(all_rows.data(), m, d));
    detail::replace_rows_with_sums(space, all_ids_dev, View2<const T, Space>(all_rows_dev), items.grad());
    space.fence();
    ++stats_.steps;
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return losses::LossValue{N > 0 ? l[0] / N : 0.0, index_t(N)};
  }

 private:
  template <class U>
  using HostRows = Kokkos::View<U**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  // Buffers grow (by half again) and are reused: no allocation in the steady state of a training loop.
  static View2<T, Space> rows_of(const Space& space, View2<T, Space>& buf, index_t n, index_t d, const char* label) {
    if (index_t(buf.extent(0)) < n || index_t(buf.extent(1)) != d)
      buf = make_uninitialized<View2<T, Space>>(space, label, n + n / 2 + 1, d);
    return Kokkos::subview(buf, std::make_pair(index_t(0), n), Kokkos::ALL);
  }
  static View1<const id_t, Space> upload(const Space& space, const std::vector<id_t>& v, View1<id_t, Space>& buf) {
    const index_t n = index_t(v.size());
    if (index_t(buf.extent(0)) < n)
      buf = make_uninitialized<View1<id_t, Space>>(space, "dist::GradientSync::ids", n + n / 2 + 1);
    const View1<id_t, Space> dst = Kokkos::subview(buf, std::make_pair(index_t(0), n));
    Kokkos::deep_copy(
        space, dst, Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(v.data(), n));
    space.fence();  // v may change after return
    return dst;
  }

  Communicator* comm_;
  SyncStats stats_;
  std::vector<T> dense_, row_buf_;
  std::vector<id_t> ids_;
  View1<int, Space> mark_;
  View1<id_t, Space> ids_dev_, all_ids_dev_;
  View2<T, Space> out_, all_rows_dev_;
  typename View1<int, Space>::HostMirror mark_host_;
};

}  // namespace seqrec::dist
