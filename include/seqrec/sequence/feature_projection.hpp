// Learned projection of constant item features (data::ItemFeatures, e.g. sentence embeddings of item texts)
// into the item-embedding space, so a model scores with E + P(X) instead of E alone:
//
//   linear:  P(X) = X W + b
//   mlp:     P(X) = relu(X W1 + b1) W2 + b2
//
// X is [(num_items + 1), F] with row 0 the padding item; P(X) is [(num_items + 1), dim]. Only rows 1.. are
// computed: row 0 of the output is zeros and row 0 of an output gradient is ignored, so the padding item gets
// no projection and passes no gradient (a bias would otherwise make it non-zero). Workspaces (the MLP's hidden
// activations, kept from forward for backward) are allocated once, in the constructor.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/linear.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <utility>

namespace seqrec::sequence {

enum class ProjectionKind { linear, mlp };

inline constexpr std::string_view to_string(ProjectionKind k) { return k == ProjectionKind::linear ? "linear" : "mlp"; }

// "linear" or "mlp" (command lines, configs).
inline ProjectionKind parse_projection_kind(std::string_view s) {
  if (s == "linear") return ProjectionKind::linear;
  if (s == "mlp") return ProjectionKind::mlp;
  SEQREC_THROW(Errc::invalid_argument, "feature projection: expected 'linear' or 'mlp', got '", s, "'");
}

namespace detail {

// Kernels of FeatureProjection's private members live here: nvcc refuses device lambdas in private functions.
template <class Space, class V>
void projection_relu(const Space& space, const V& h) {
  using T = typename V::value_type;
  Kokkos::parallel_for(
      "seqrec::FeatureProjection::relu",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {h.extent(0), h.extent(1)}),
      KOKKOS_LAMBDA(index_t r, index_t k) { h(r, k) = h(r, k) > T(0) ? h(r, k) : T(0); });
}

// y(r, :) += b for every row.
template <class Space, class V, class B>
void projection_add_bias(const Space& space, const V& y, const B& b) {
  Kokkos::parallel_for(
      "seqrec::FeatureProjection::add_bias",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {y.extent(0), y.extent(1)}),
      KOKKOS_LAMBDA(index_t r, index_t k) { y(r, k) += b(k); });
}

}  // namespace detail

struct FeatureProjectionConfig {
  ProjectionKind kind = ProjectionKind::linear;
  index_t hidden = 256;     // the MLP's hidden width (unused by linear)
  bool bias = true;         // biases on every layer
  double init_scale = 0.1;  // the output layer's Glorot bound is scaled by this: P(X) starts small next to E
};

template <Scalar T, ExecutionSpace Space>
class FeatureProjection {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using config_type = FeatureProjectionConfig;

  FeatureProjection() = default;
  // Registers `name`.fc (linear) or `name`.fc1 and `name`.fc2 (mlp) in `params`. `features` must stay alive
  // (and unchanged) as long as the projection is used.
  FeatureProjection(const Space& space, ParameterSet<T, Space>& params, const std::string& name,
                    const_rows_type features, index_t dim, config_type config = {})
      : x_(features), config_(config) {
    SEQREC_REQUIRE(x_.extent(0) >= 1, "FeatureProjection '", name, "': features need at least the padding row, got ",
                   seqrec::detail::view_shape_string(x_));
    SEQREC_REQUIRE(x_.extent(1) >= 1, "FeatureProjection '", name, "': features need at least one column, got ",
                   seqrec::detail::view_shape_string(x_));
    SEQREC_REQUIRE(dim > 0, "FeatureProjection '", name, "': dim must be positive, got ", dim);
    SEQREC_REQUIRE(config.init_scale >= 0 && std::isfinite(config.init_scale), "FeatureProjection '", name,
                   "': init_scale must be finite and >= 0, got ", config.init_scale);
    if (config.kind == ProjectionKind::linear) {
      out_ = Linear<T, Space>(space, params, name + ".fc", features_dim(), dim, config.bias);
    } else {
      SEQREC_REQUIRE(config.hidden > 0, "FeatureProjection '", name, "': the MLP's hidden size must be positive, got ",
                     config.hidden);
      in_ = Linear<T, Space>(space, params, name + ".fc1", features_dim(), config.hidden, config.bias);
      out_ = Linear<T, Space>(space, params, name + ".fc2", config.hidden, dim, config.bias);
      hidden_ = make_uninitialized<rows_type>(space, "FeatureProjection::hidden", item_rows(), config.hidden);
      dhidden_ = make_uninitialized<rows_type>(space, "FeatureProjection::dhidden", item_rows(), config.hidden);
    }
  }

  index_t rows() const { return x_.extent(0); }  // num_items + 1
  index_t features_dim() const { return x_.extent(1); }
  index_t dim() const { return out_.out(); }
  ProjectionKind kind() const { return config_.kind; }
  index_t hidden() const { return config_.kind == ProjectionKind::mlp ? config_.hidden : 0; }
  const config_type& config() const { return config_; }
  const_rows_type features() const { return x_; }
  // The layers: `output()` is the only one for linear; `input()` exists for mlp only.
  const Linear<T, Space>& input() const { return in_; }
  const Linear<T, Space>& output() const { return out_; }

  // Zero biases; Glorot-uniform weights, the output layer's scaled by config.init_scale.
  void init(const Space& space, RandomStream rs) const {
    if (config_.kind == ProjectionKind::mlp) init_layer(space, in_, RandomStream(rs.key(), 1), 1.0);
    init_layer(space, out_, RandomStream(rs.key(), 2), config_.init_scale);
  }

  // out = P(X), [rows, dim] (row 0 zeros).
  void forward(const Space& space, rows_type out) const {
    SEQREC_REQUIRE_SHAPE(out, "FeatureProjection::forward out", rows(), dim());
    Kokkos::deep_copy(space, Kokkos::subview(out, 0, Kokkos::ALL), T(0));
    apply(space, out, false);
  }

  // table += P(X), [rows, dim] (row 0 unchanged): the model's E + P(X) without a temporary.
  void forward_add(const Space& space, rows_type table) const {
    SEQREC_REQUIRE_SHAPE(table, "FeatureProjection::forward_add table", rows(), dim());
    apply(space, table, true);
  }

  // Accumulates the parameters' gradients of a loss from dL/dP(X) (row 0 ignored). Uses the hidden activations
  // of the last forward or forward_add, so it must follow one with the same parameter values.
  void backward(const Space& space, const_rows_type dout) const {
    SEQREC_REQUIRE_SHAPE(dout, "FeatureProjection::backward dout", rows(), dim());
    if (item_rows() == 0) return;
    const auto dy = Kokkos::subview(dout, items_range(), Kokkos::ALL);
    const auto x = Kokkos::subview(x_, items_range(), Kokkos::ALL);
    if (config_.kind == ProjectionKind::linear) {
      out_.backward(space, x, dy, rows_type{});
      return;
    }
    const rows_type h = hidden_, dh = dhidden_;
    out_.backward(space, h, dy, dh);
    Kokkos::parallel_for(
        "seqrec::FeatureProjection::relu_backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {h.extent(0), h.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          if (h(r, k) <= T(0)) dh(r, k) = T(0);
        });
    in_.backward(space, x, dh, rows_type{});
  }

 private:
  index_t item_rows() const { return rows() - 1; }
  std::pair<index_t, index_t> items_range() const { return {index_t(1), rows()}; }

  static void init_layer(const Space& space, const Linear<T, Space>& layer, RandomStream rs, double scale) {
    const double bound = scale * std::sqrt(6.0 / double(layer.in() + layer.out()));
    fill_uniform(space, layer.weight().value(), rs, T(-bound), T(bound));
    if (layer.has_bias()) Kokkos::deep_copy(space, layer.bias().value(), T(0));
  }

  // Rows 1.. of y = P(X), or y += P(X) when `accumulate`.
  void apply(const Space& space, rows_type y_all, bool accumulate) const {
    if (item_rows() == 0) return;
    const rows_type y = Kokkos::subview(y_all, items_range(), Kokkos::ALL);
    const auto x = Kokkos::subview(x_, items_range(), Kokkos::ALL);
    const_rows_type last_in = x;
    if (config_.kind == ProjectionKind::mlp) {
      const rows_type h = hidden_;
      in_.forward(space, x, h);
      detail::projection_relu(space, h);
      last_in = h;
    }
    if (!accumulate) {
      out_.forward(space, last_in, y);
      return;
    }
    // Linear::forward overwrites its output; here the bias is added, then the product with beta = 1.
    if (out_.has_bias()) detail::projection_add_bias(space, y, out_.bias().value());
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), last_in, out_.weight().template view<2>(), T(1), y);
  }

  const_rows_type x_;
  config_type config_;
  Linear<T, Space> in_, out_;
  rows_type hidden_, dhidden_;  // [num_items, hidden], mlp only
};

}  // namespace seqrec::sequence
