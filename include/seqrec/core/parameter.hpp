// Named parameter tensors with their gradients. Layers register what they learn here; optimizers,
// gradient clipping, NaN checks, checkpoints and MPI all-reduce iterate over the set.
#pragma once

#include <seqrec/core/block_table.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace seqrec {

// A parameter is stored flat (contiguous, so element-wise optimizers and communication see one array)
// and viewed with its shape through view<R>() / grad_view<R>().
template <Scalar T, ExecutionSpace Space>
class Parameter {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using flat_type = View1<T, Space>;
  static constexpr unsigned max_rank = 4;

  Parameter() = default;
  Parameter(const Space& space, std::string name, std::vector<index_t> shape)
      : name_(std::move(name)), shape_(std::move(shape)) {
    SEQREC_REQUIRE(!shape_.empty() && shape_.size() <= max_rank, "parameter '", name_, "': rank must be 1..", max_rank,
                   ", got ", shape_.size());
    index_t n = 1;
    for (auto e : shape_) {
      SEQREC_REQUIRE(e > 0, "parameter '", name_, "': extents must be positive, got ", detail::shape_string(shape_));
      n *= e;
    }
    value_ = make_zeros<flat_type>(space, "param:" + name_, n);
    grad_ = make_zeros<flat_type>(space, "grad:" + name_, n);
  }

  const std::string& name() const { return name_; }
  const std::vector<index_t>& shape() const { return shape_; }
  index_t rank() const { return static_cast<index_t>(shape_.size()); }
  index_t size() const { return static_cast<index_t>(value_.extent(0)); }
  index_t extent(index_t r) const { return shape_.at(static_cast<std::size_t>(r)); }
  flat_type value() const { return value_; }
  flat_type grad() const { return grad_; }

  // Shaped, unmanaged views of the same memory. The parameter must outlive them.
  template <unsigned R>
  auto view() const {
    return shaped<R>(value_);
  }
  template <unsigned R>
  auto grad_view() const {
    return shaped<R>(grad_);
  }

 private:
  template <unsigned R>
  auto shaped(const flat_type& flat) const {
    static_assert(R >= 1 && R <= max_rank, "seqrec::Parameter: rank must be 1..4");
    SEQREC_REQUIRE_EQ(shape_.size(), std::size_t(R), "rank of parameter '" + name_ + "'");
    using data_type =
        std::conditional_t<R == 1, T*, std::conditional_t<R == 2, T**, std::conditional_t<R == 3, T***, T****>>>;
    using V = Kokkos::View<data_type, Kokkos::LayoutRight, memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    std::array<std::size_t, 4> e{KOKKOS_INVALID_INDEX, KOKKOS_INVALID_INDEX, KOKKOS_INVALID_INDEX,
                                 KOKKOS_INVALID_INDEX};
    for (unsigned r = 0; r < R; ++r) e[r] = static_cast<std::size_t>(shape_[r]);
    if constexpr (R == 1)
      return V(flat.data(), e[0]);
    else if constexpr (R == 2)
      return V(flat.data(), e[0], e[1]);
    else if constexpr (R == 3)
      return V(flat.data(), e[0], e[1], e[2]);
    else
      return V(flat.data(), e[0], e[1], e[2], e[3]);
  }

  std::string name_;
  std::vector<index_t> shape_;
  flat_type value_;
  flat_type grad_;
};

// Where a non-finite number was found: which parameter, value or gradient, and the flat index.
struct NonFinite {
  std::string parameter;
  bool in_gradient = false;
  index_t index = -1;
};

template <Scalar T, ExecutionSpace Space>
class ParameterSet {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using parameter_type = Parameter<T, Space>;

  // Registers a zero-initialised parameter and returns a handle sharing its memory. Names are unique.
  parameter_type add(const Space& space, const std::string& name, std::vector<index_t> shape) {
    SEQREC_REQUIRE(!name.empty(), "parameter names must not be empty");
    SEQREC_REQUIRE(!contains(name), "parameter '", name, "' is already registered");
    params_.emplace_back(space, name, std::move(shape));
    return params_.back();
  }

  // Puts `grown` in the place of the registered parameter of the same name, after copying the old values into
  // its leading entries bit for bit: with the same trailing extents and at least as many rows, those are the old
  // rows (LayoutRight). grown's other entries are left as they are (the caller initialises its new rows). Handles
  // of the old parameter keep the old memory; an optimizer made over the set must then resize its state
  // (train::Adam::resize_state).
  void replace_with_grown(const Space& space, const parameter_type& grown) {
    for (auto& p : params_) {
      if (p.name() != grown.name()) continue;
      SEQREC_REQUIRE(grown.rank() == p.rank() && grown.extent(0) >= p.extent(0), "parameter '", p.name(),
                     "': ", detail::shape_string(grown.shape()), " does not grow ", detail::shape_string(p.shape()));
      for (index_t r = 1; r < p.rank(); ++r)
        SEQREC_REQUIRE(grown.extent(r) == p.extent(r), "parameter '", p.name(),
                       "': ", detail::shape_string(grown.shape()), " does not grow ", detail::shape_string(p.shape()),
                       " (only the first extent may change)");
      if (grown.value().data() != p.value().data()) {
        Kokkos::deep_copy(space, Kokkos::subview(grown.value(), Kokkos::make_pair(index_t(0), p.size())), p.value());
        space.fence();  // the old buffer may go when p lets it go
      }
      p = grown;
      grad_table_params_ = kStale;  // the gradient table points at the old buffers
      return;
    }
    SEQREC_THROW(Errc::out_of_range, "no parameter named '", grown.name(), "'");
  }

  bool contains(const std::string& name) const {
    return std::any_of(params_.begin(), params_.end(), [&](const auto& p) { return p.name() == name; });
  }

  const parameter_type& operator[](const std::string& name) const {
    for (const auto& p : params_)
      if (p.name() == name) return p;
    SEQREC_THROW(Errc::out_of_range, "no parameter named '", name, "'");
  }

  std::size_t size() const { return params_.size(); }
  auto begin() const { return params_.begin(); }
  auto end() const { return params_.end(); }

  // Total number of scalars over all parameters.
  index_t numel() const {
    index_t n = 0;
    for (const auto& p : params_) n += p.size();
    return n;
  }

  // Every gradient to zero, in one launch (the block table is rebuilt when parameters were added).
  void zero_grad(const Space& space) const {
    if (grad_table_params_ != params_.size()) {
      std::vector<typename BlockTable<T, Space, 1>::group> groups;
      for (const auto& p : params_) groups.push_back({p.grad()});
      grad_table_ = BlockTable<T, Space, 1>(space, groups);
      grad_table_params_ = params_.size();
    }
    grad_table_.for_each(
        space, "seqrec::ParameterSet::zero_grad",
        KOKKOS_LAMBDA(const typename BlockTable<T, Space, 1>::pointers& b, index_t j) { b[0][j] = T(0); });
  }

  // Sum of squared gradients over every parameter, accumulated in double.
  double grad_norm_squared(const Space& space) const {
    double total = 0;
    for (const auto& p : params_) {
      auto g = p.grad();
      double s = 0;
      Kokkos::parallel_reduce(
          "seqrec::ParameterSet::grad_norm", Kokkos::RangePolicy<Space>(space, 0, g.extent(0)),
          KOKKOS_LAMBDA(std::int64_t i, double& acc) { acc += double(g(i)) * double(g(i)); }, s);
      total += s;
    }
    return total;
  }

  // First non-finite value (or gradient, when `gradients`), or nothing.
  std::optional<NonFinite> find_non_finite(const Space& space, bool gradients) const {
    for (const auto& p : params_) {
      auto v = gradients ? p.grad() : p.value();
      index_t first = 0;  // Min's identity is the largest index_t: "none found"
      Kokkos::parallel_reduce(
          "seqrec::ParameterSet::find_non_finite", Kokkos::RangePolicy<Space>(space, 0, v.extent(0)),
          KOKKOS_LAMBDA(std::int64_t i, index_t & acc) {
            if (!math::isfinite(v(i)) && i < acc) acc = i;
          },
          Kokkos::Min<index_t>(first));
      if (first < static_cast<index_t>(v.extent(0))) return NonFinite{p.name(), gradients, first};
    }
    return std::nullopt;
  }

  // Throws Errc::numeric naming the parameter when any value or gradient is NaN or Inf.
  void require_finite(const Space& space, const char* when) const {
    for (bool gradients : {false, true})
      if (auto bad = find_non_finite(space, gradients))
        SEQREC_THROW(Errc::numeric, "non-finite ", bad->in_gradient ? "gradient" : "value", " in parameter '",
                     bad->parameter, "' at flat index ", bad->index, " (", when, ")");
  }

 private:
  static constexpr std::size_t kStale = ~std::size_t(0);
  std::vector<parameter_type> params_;
  mutable BlockTable<T, Space, 1> grad_table_;  // of the first grad_table_params_ parameters
  mutable std::size_t grad_table_params_ = 0;
};

}  // namespace seqrec
