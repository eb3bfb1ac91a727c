// One kernel launch for an element-wise update over many separately allocated flat buffers (a model's
// parameters, their gradients, an optimizer's moments): the buffers are cut into blocks of at most
// `block_size` elements, each block inside one buffer group, and the blocks' addresses are kept in device
// memory. A SASRec has 36 parameters; per-parameter kernels cost 36 launches where this costs one, which
// is what a GPU step is bound by, and the flat inner loop vectorises on host spaces.
//
//   BlockTable<float, Space, 2> t(space, {{w0, g0}, {w1, g1}});          // N = 2 buffers per group
//   t.for_each(space, "sgd", KOKKOS_LAMBDA(const auto& b, index_t j) { b[0][j] -= lr * b[1][j]; });
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace seqrec {

// One block's N buffers, each at the block's first element. (Not Kokkos::Array: a View of those is
// mapped as an extra dimension.)
template <class T, int N>
struct BlockPointers {
  T* buffer[N];
  KOKKOS_INLINE_FUNCTION T* operator[](int k) const { return buffer[k]; }
};

template <Scalar T, ExecutionSpace Space, int N>
class BlockTable {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using pointers = BlockPointers<T, N>;
  using group = std::array<View1<T, Space>, N>;

  static constexpr index_t default_block_size = 4096;

  BlockTable() = default;

  // groups[p] holds N buffers of equal length (parameter p's value, gradient, ...).
  BlockTable(const Space& space, const std::vector<group>& groups, index_t block_size = default_block_size) {
    SEQREC_REQUIRE(block_size >= 1, "BlockTable: block size must be >= 1, got ", block_size);
    std::vector<pointers> ptrs;
    std::vector<index_t> lens;
    for (std::size_t p = 0; p < groups.size(); ++p) {
      const index_t n = static_cast<index_t>(groups[p][0].extent(0));
      for (int k = 1; k < N; ++k)
        SEQREC_REQUIRE_EQ(static_cast<index_t>(groups[p][k].extent(0)), n,
                          "BlockTable: length of buffer " + std::to_string(k) + " of group " + std::to_string(p));
      for (index_t s = 0; s < n; s += block_size) {
        pointers b;
        for (int k = 0; k < N; ++k) b.buffer[k] = groups[p][k].data() + s;
        ptrs.push_back(b);
        lens.push_back(std::min(block_size, n - s));
        numel_ += lens.back();
      }
    }
    const auto nb = static_cast<index_t>(ptrs.size());
    blocks_ = make_uninitialized<View1<pointers, Space>>(space, "BlockTable::blocks", nb);
    lengths_ = make_uninitialized<View1<index_t, Space>>(space, "BlockTable::lengths", nb);
    Kokkos::View<const pointers*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> hp(ptrs.data(), ptrs.size());
    Kokkos::View<const index_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> hl(lens.data(), lens.size());
    Kokkos::deep_copy(space, blocks_, hp);
    Kokkos::deep_copy(space, lengths_, hl);
    space.fence();  // the host vectors go out of scope
  }

  index_t num_blocks() const { return static_cast<index_t>(blocks_.extent(0)); }
  index_t numel() const { return numel_; }

  // f(const pointers& b, index_t j) for every element j of every block: b[k][j] is element j of the
  // block in buffer k. One team per block; its threads (or, on host, one thread's loop) cover the block.
  template <class F>
  void for_each(const Space& space, const char* label, const F& f) const {
    if (num_blocks() == 0) return;
    auto blocks = blocks_;
    auto lengths = lengths_;
    if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible) {
      // A plain loop per block: the buffers of a group never overlap, so it may vectorise.
      Kokkos::parallel_for(label, Kokkos::RangePolicy<Space>(space, 0, num_blocks()), [=](index_t blk) {
        const pointers b = blocks(blk);
        const index_t n = lengths(blk);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#elif defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#endif
        for (index_t j = 0; j < n; ++j) f(b, j);
      });
      return;
    }
    using policy = Kokkos::TeamPolicy<Space>;
    Kokkos::parallel_for(
        label, policy(space, static_cast<int>(num_blocks()), Kokkos::AUTO),
        KOKKOS_LAMBDA(const typename policy::member_type& m) {
          const pointers b = blocks(m.league_rank());
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, lengths(m.league_rank())), [&](index_t j) { f(b, j); });
        });
  }

 private:
  View1<pointers, Space> blocks_;
  View1<index_t, Space> lengths_;
  index_t numel_ = 0;
};

}  // namespace seqrec
