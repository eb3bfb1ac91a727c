// The MPI side of seqrec's scale-out: a communicator over the ranks of a job that moves host buffers
// (device data is staged through the host by the callers) and keeps a ledger of everything this rank sent,
// by kind ("gradients", "embedding_rows", "parameters", ...), so benchmarks report bytes per step and tests
// check what leaves a rank.
//
// Needs MPI (OpenMPI from Debian: libopenmpi-dev); link MPI::MPI_CXX. MPI must be initialised (MpiSession)
// before a Communicator is made.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <mpi.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::dist {

namespace detail {

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return MPI_INT64_T;
  else
    static_assert(sizeof(T) == 0, "seqrec::dist: no MPI datatype for this element type");
}

inline void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    SEQREC_THROW(Errc::invalid_argument, "MPI ", what, " failed: ", std::string(msg, std::size_t(len)));
  }
}

}  // namespace detail

// MPI_Init/MPI_Finalize for the lifetime of the object (a no-op pair when MPI is already up, as under a
// test harness that initialised it).
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int up = 0;
    MPI_Initialized(&up);
    if (!up) {
      detail::check(MPI_Init(&argc, &argv), "MPI_Init");
      owner_ = true;
    }
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() {
    int down = 0;
    MPI_Finalized(&down);
    if (owner_ && !down) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};

// What one rank sent, by kind: bytes and messages (a collective counts once, with this rank's contribution;
// a job of one rank sends nothing).
struct Ledger {
  std::map<std::string, std::int64_t> bytes, calls;
  std::int64_t total_bytes() const {
    std::int64_t s = 0;
    for (const auto& [k, b] : bytes) s += b;
    return s;
  }
  void add(const std::string& kind, std::int64_t b) {
    if (b == 0) return;
    bytes[kind] += b;
    calls[kind] += 1;
  }
  void clear() {
    bytes.clear();
    calls.clear();
  }
};

class Communicator {
 public:
  // MPI_COMM_WORLD, or any communicator (MPI_COMM_SELF gives a one-rank job, the reference in tests).
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    int up = 0;
    MPI_Initialized(&up);
    SEQREC_REQUIRE(up, "seqrec::dist::Communicator: MPI is not initialised (make a dist::MpiSession first)");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  MPI_Comm comm() const { return comm_; }
  const Ledger& ledger() const { return ledger_; }
  Ledger& ledger() { return ledger_; }

  // In place: x = sum over ranks of x.
  template <class T>
  void allreduce_sum(std::span<T> x, const std::string& kind) {
    if (size_ == 1 || x.empty()) return;
    ledger_.add(kind, std::int64_t(x.size_bytes()));
    detail::check(MPI_Allreduce(MPI_IN_PLACE, x.data(), int(x.size()), detail::mpi_type<T>(), MPI_SUM, comm_),
                  "MPI_Allreduce");
  }
  template <class T>
  T allreduce_sum(T x, const std::string& kind) {
    allreduce_sum(std::span<T>(&x, 1), kind);
    return x;
  }
  template <class T>
  T allreduce_max(T x, const std::string& kind) {
    if (size_ == 1) return x;
    ledger_.add(kind, std::int64_t(sizeof(T)));
    detail::check(MPI_Allreduce(MPI_IN_PLACE, &x, 1, detail::mpi_type<T>(), MPI_MAX, comm_), "MPI_Allreduce");
    return x;
  }

  // Every rank's `mine`, concatenated in rank order; counts(r) says how many came from rank r.
  template <class T>
  std::vector<T> allgatherv(std::span<const T> mine, std::vector<int>& counts, const std::string& kind) {
    if (size_ > 1) ledger_.add(kind, std::int64_t(mine.size_bytes()));
    counts.assign(std::size_t(size_), 0);
    int n = int(mine.size());
    SEQREC_REQUIRE(mine.size() <= std::size_t(INT32_MAX), "allgatherv: more than 2^31 elements from one rank");
    detail::check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    std::vector<int> displs(std::size_t(size_), 0);
    std::int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[std::size_t(r)] = int(total);
      total += counts[std::size_t(r)];
    }
    SEQREC_REQUIRE(total <= INT32_MAX, "allgatherv: more than 2^31 elements in all");
    std::vector<T> out(static_cast<std::size_t>(total));
    detail::check(MPI_Allgatherv(mine.data(), n, detail::mpi_type<T>(), out.data(), counts.data(), displs.data(),
                                 detail::mpi_type<T>(), comm_),
                  "MPI_Allgatherv");
    return out;
  }

  template <class T>
  void broadcast(std::span<T> x, int root, const std::string& kind) {
    if (rank_ == root) ledger_.add(kind, std::int64_t(x.size_bytes()) * (size_ - 1));
    if (size_ == 1 || x.empty()) return;
    detail::check(MPI_Bcast(x.data(), int(x.size()), detail::mpi_type<T>(), root, comm_), "MPI_Bcast");
  }

  void barrier() const { MPI_Barrier(comm_); }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  Ledger ledger_;
};

// Host staging of every parameter of a set, in registration order, into one flat buffer (and back).
template <class Params>
std::int64_t flat_size(const Params& params) {
  std::int64_t n = 0;
  for (const auto& p : params) n += p.size();
  return n;
}

template <class View, class T>
void stage_to_host(const View& v, T* dst) {
  using Host = Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Kokkos::deep_copy(Host(dst, v.extent(0)), v);
}
template <class View, class T>
void stage_from_host(const View& v, const T* src) {
  using Host = Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Kokkos::deep_copy(v, Host(src, v.extent(0)));
}

}  // namespace seqrec::dist
