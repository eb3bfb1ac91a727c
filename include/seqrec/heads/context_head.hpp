// Context-aware interest: the hidden state is gated by an embedded context before the dot product with the
// item embedding,
//   c_r    = sum_f C[offset_f + ctx(r, f)]           (one learned row per value of each context field)
//   gate_r = 2 sigmoid(c_r W + b)                    (element-wise, in (0, 2))
//   g_r    = h_r * gate_r,   scores(r, j) = g_r . E[cand(r, j)],   interest p = sigmoid(score)
// Fields: time since the previous interaction (log2 buckets), hour, weekday, and the user's age bucket,
// gender and occupation (MovieLens). The factor 2 makes the head start as the plain dot-product head: with
// a near-zero context (C starts small) and b = 0 the gate is 1 and its slope is the largest. The fields' rows
// are summed rather than concatenated: one dim-sized vector whatever the number of fields. The sigmoid of the
// interest belongs to the loss, as for DotProduct.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/linear.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seqrec::heads {

// ------------------------------------------------------------------------------------------ context fields

enum class ContextField { time_gap, hour, weekday, age, gender, occupation };

// What one interaction's context is made of, before encoding. -1 / '?' mean unknown.
struct ContextFeatures {
  std::int64_t timestamp = -1;           // unix seconds of this interaction
  std::int64_t previous_timestamp = -1;  // of the user's previous one; -1 when this is the first
  std::int32_t age = -1;                 // years (ML-100K) or ML-1M's age group start (1, 18, 25, ...)
  char gender = '?';                     // 'M', 'F'
  id_t occupation = -1;                  // index into UserInfo::occupations
};

namespace context {

// 0: no previous interaction (or clock went backwards); 1 + floor(log2(1 + gap seconds)), capped at buckets - 1:
// seconds, minutes, hours, days and months each get a few buckets.
inline id_t time_gap_bucket(std::int64_t gap_seconds, index_t buckets) {
  if (gap_seconds < 0) return 0;
  id_t b = 1;
  for (std::uint64_t g = std::uint64_t(gap_seconds) + 1; g > 1; g >>= 1) ++b;
  return b < buckets ? b : id_t(buckets - 1);
}
// Hour 0..23 and weekday 0..6 (Monday = 0) in UTC; MovieLens timestamps are UTC unix seconds.
inline id_t hour_of(std::int64_t t) {
  const std::int64_t s = ((t % 86400) + 86400) % 86400;
  return id_t(s / 3600);
}
inline id_t weekday_of(std::int64_t t) {
  std::int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  return id_t(((days + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
}
// 0 unknown; then ML-1M's groups: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+ (ML-1M's coded ages
// 1, 18, 25, 35, 45, 50, 56 fall in the same buckets as the years they stand for).
inline id_t age_bucket(std::int32_t age) {
  if (age < 0) return 0;
  constexpr std::int32_t starts[] = {18, 25, 35, 45, 50, 56};
  id_t b = 1;
  for (auto s : starts) b += age >= s ? 1 : 0;
  return b;
}
inline constexpr index_t age_buckets = 8;
inline id_t gender_id(char g) { return g == 'M' ? 1 : (g == 'F' ? 2 : 0); }
inline constexpr index_t genders = 3;
inline id_t occupation_id(id_t occupation, index_t occupations) {
  return occupation >= 0 && occupation < occupations ? occupation + 1 : 0;
}

}  // namespace context

// The fields a context head embeds and the number of values of each.
struct ContextSchema {
  std::vector<ContextField> fields;
  std::vector<index_t> sizes;

  index_t num_fields() const { return index_t(fields.size()); }
  index_t total() const {
    index_t n = 0;
    for (auto s : sizes) n += s;
    return n;
  }

  ContextSchema& add(ContextField f, index_t size) {
    SEQREC_REQUIRE(size > 0, "ContextSchema: a field needs at least one value");
    fields.push_back(f);
    sizes.push_back(size);
    return *this;
  }
  ContextSchema& add_time(index_t gap_buckets = 24) {
    return add(ContextField::time_gap, gap_buckets).add(ContextField::hour, 24).add(ContextField::weekday, 7);
  }
  ContextSchema& add_user(index_t occupations) {
    return add(ContextField::age, context::age_buckets)
        .add(ContextField::gender, context::genders)
        .add(ContextField::occupation, occupations + 1);
  }
  // "time", "user" or "time+user" (seqrec-train --context).
  static ContextSchema parse(std::string_view what, index_t occupations, index_t gap_buckets = 24) {
    ContextSchema s;
    if (what == "time" || what == "time+user") s.add_time(gap_buckets);
    if (what == "user" || what == "time+user") s.add_user(occupations);
    SEQREC_REQUIRE(s.num_fields() > 0, "context must be time, user or time+user, got '", what, "'");
    return s;
  }

  // One row of field ids (row.size() == num_fields()).
  void encode(const ContextFeatures& x, std::span<id_t> row) const {
    SEQREC_REQUIRE_EQ(index_t(row.size()), num_fields(), "ContextSchema::encode: row length");
    for (std::size_t f = 0; f < fields.size(); ++f) {
      const index_t n = sizes[f];
      id_t v = 0;
      switch (fields[f]) {
        case ContextField::time_gap:
          v = x.previous_timestamp < 0 || x.timestamp < 0
                  ? 0
                  : context::time_gap_bucket(x.timestamp - x.previous_timestamp, n);
          break;
        case ContextField::hour:
          v = x.timestamp < 0 ? 0 : context::hour_of(x.timestamp);
          break;
        case ContextField::weekday:
          v = x.timestamp < 0 ? 0 : context::weekday_of(x.timestamp);
          break;
        case ContextField::age:
          v = context::age_bucket(x.age);
          break;
        case ContextField::gender:
          v = context::gender_id(x.gender);
          break;
        case ContextField::occupation:
          v = context::occupation_id(x.occupation, n - 1);
          break;
      }
      row[f] = v < n ? v : id_t(n - 1);
    }
  }
};

// ------------------------------------------------------------------------------------------------ the head

template <Scalar T, ExecutionSpace Space>
class ContextHead {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;
  using context_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // Buffers of one forward/backward pair, made once (make_workspace) for up to `rows` rows.
  struct Workspace {
    index_t rows = 0;
    rows_type c, gate, g, dg, dz, dc;
  };

  ContextHead() = default;
  // context_dim: size of the context embedding (0: dim).
  ContextHead(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim,
              ContextSchema schema, index_t context_dim = 0)
      : schema_(std::move(schema)) {
    SEQREC_REQUIRE(schema_.num_fields() > 0, "ContextHead: the schema has no fields");
    const index_t dc = context_dim > 0 ? context_dim : dim;
    table_ = params.add(space, name + ".context", {schema_.total(), dc});
    linear_ = sequence::Linear<T, Space>(space, params, name + ".gate", dc, dim);
    Kokkos::View<index_t*, memory_space> off("ContextHead::field_offsets", schema_.num_fields()),
        sizes("ContextHead::field_sizes", schema_.num_fields());
    auto ho = Kokkos::create_mirror_view(off);
    auto hs = Kokkos::create_mirror_view(sizes);
    index_t o = 0;
    for (index_t f = 0; f < schema_.num_fields(); ++f) {
      ho(f) = o;
      hs(f) = schema_.sizes[std::size_t(f)];
      o += hs(f);
    }
    Kokkos::deep_copy(space, off, ho);
    Kokkos::deep_copy(space, sizes, hs);
    space.fence();
    field_offsets_ = off;
    field_sizes_ = sizes;
  }

  index_t dim() const { return linear_.out(); }
  index_t context_dim() const { return linear_.in(); }
  const ContextSchema& schema() const { return schema_; }
  const Parameter<T, Space>& context_table() const { return table_; }
  const sequence::Linear<T, Space>& gate() const { return linear_; }

  // Context rows N(0, stddev) (small: the gate starts near 1), Glorot gate weights, zero gate bias.
  void init(const Space& space, RandomSource& rng, T stddev = T(0.05)) const {
    fill_normal(space, table_.value(), rng.next(), T(0), stddev);
    linear_.init_xavier(space, rng.next());
  }

  Workspace make_workspace(const Space& space, index_t rows) const {
    Workspace ws;
    ws.rows = rows;
    ws.c = make_uninitialized<rows_type>(space, "ContextHead::c", rows, context_dim());
    ws.dc = make_uninitialized<rows_type>(space, "ContextHead::dc", rows, context_dim());
    ws.gate = make_uninitialized<rows_type>(space, "ContextHead::gate", rows, dim());
    ws.g = make_uninitialized<rows_type>(space, "ContextHead::g", rows, dim());
    ws.dg = make_uninitialized<rows_type>(space, "ContextHead::dg", rows, dim());
    ws.dz = make_uninitialized<rows_type>(space, "ContextHead::dz", rows, dim());
    return ws;
  }

  // The gated states g of the last forward ([rows, dim]): for full ranking, g E^T with one gemm.
  static auto gated(const Workspace& ws, index_t rows) { return first_rows(ws.g, rows); }

  // scores [rows, C]; candidate 0 (padding) scores 0. Keeps c, gate and g in ws for backward.
  void forward(const Space& space, const_rows_type hidden, context_type ctx, candidates_type cand, rows_type scores,
               const sequence::Embedding<T, Space>& items, const Workspace& ws) const {
    const index_t rows = hidden.extent(0);
    check(space, hidden, ctx, ws);
    SEQREC_REQUIRE_EQ(index_t(cand.extent(0)), rows, "ContextHead: rows of candidates vs hidden");
    gate_hidden(space, hidden, ctx, ws);
    dot_.forward(space, first_rows(ws.g, rows), cand, scores, items);
  }

  // Only the gated states (no scores), e.g. before a full-ranking gemm.
  void forward_gated(const Space& space, const_rows_type hidden, context_type ctx, const Workspace& ws) const {
    check(space, hidden, ctx, ws);
    gate_hidden(space, hidden, ctx, ws);
  }

  // After forward on the same inputs: item, context-table and gate gradients accumulate; dhidden is
  // overwritten, or added to when `accumulate`.
  void backward(const Space& space, const_rows_type hidden, context_type ctx, candidates_type cand,
                const_rows_type dscores, rows_type dhidden, const sequence::Embedding<T, Space>& items,
                const Workspace& ws, bool accumulate = false) const {
    const index_t rows = hidden.extent(0);
    check_shapes(hidden, ctx, ws);  // ids: checked by the forward on the same context
    SEQREC_REQUIRE_SHAPE(dscores, "ContextHead dscores", index_t(cand.extent(0)), index_t(cand.extent(1)));
    SEQREC_REQUIRE_EQ(index_t(cand.extent(0)), rows, "ContextHead: rows of candidates vs hidden");
    SEQREC_REQUIRE_SHAPE(dhidden, "ContextHead dhidden", rows, dim());
    const auto dg = first_rows(ws.dg, rows);
    dot_.backward(space, first_rows(ws.g, rows), cand, dscores, dg, items);
    backward_gated(space, hidden, ctx, dg, dhidden, ws, accumulate);
  }

  // From d loss / d g (dg [rows, dim]) on: the part shared with full-ranking losses.
  void backward_gated(const Space& space, const_rows_type hidden, context_type ctx, const_rows_type dg,
                      rows_type dhidden, const Workspace& ws, bool accumulate = false) const {
    const index_t rows = hidden.extent(0);
    check_shapes(hidden, ctx, ws);  // ids: checked by the forward on the same context
    SEQREC_REQUIRE_SHAPE(dg, "ContextHead dg", rows, dim());
    SEQREC_REQUIRE_SHAPE(dhidden, "ContextHead dhidden", rows, dim());
    const auto gate = first_rows(ws.gate, rows);
    const auto dz = first_rows(ws.dz, rows);
    const auto dc = first_rows(ws.dc, rows);
    gate_backward(space, hidden, gate, dg, dz, dhidden, accumulate);
    linear_.backward(space, first_rows(ws.c, rows), dz, dc);
    scatter_context(space, ctx, dc);
  }

  // ---- kernels: public only because nvcc refuses device lambdas inside private member functions ----

  template <class V>
  static auto first_rows(const V& v, index_t rows) {
    return Kokkos::subview(v, std::make_pair(index_t(0), rows), Kokkos::ALL);
  }

  void gate_hidden(const Space& space, const_rows_type hidden, context_type ctx, const Workspace& ws) const {
    const index_t rows = hidden.extent(0);
    const auto c = first_rows(ws.c, rows);
    const auto gate = first_rows(ws.gate, rows);
    const auto g = first_rows(ws.g, rows);
    embed_context(space, ctx, c);
    linear_.forward(space, c, gate);  // z, turned into the gate below
    Kokkos::parallel_for(
        "seqrec::ContextHead::gate",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {gate.extent(0), gate.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const T s = T(2) * math::sigmoid(gate(r, k));
          gate(r, k) = s;
          g(r, k) = hidden(r, k) * s;
        });
  }

  template <class C>
  void embed_context(const Space& space, context_type ctx, const C& c) const {
    const auto tab = table_.template view<2>();
    const auto off = field_offsets_;
    const index_t nf = ctx.extent(1);
    Kokkos::parallel_for(
        "seqrec::ContextHead::embed",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {c.extent(0), c.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          T s = 0;
          for (index_t f = 0; f < nf; ++f) s += tab(off(f) + ctx(r, f), k);
          c(r, k) = s;
        });
  }

  // dz = dg * h * dgate/dz with dgate/dz = 2 sigma (1 - sigma) = gate (1 - gate / 2); dh = dg * gate.
  template <class G, class DG, class DZ>
  static void gate_backward(const Space& space, const_rows_type hidden, const G& gate, const DG& dg, const DZ& dz,
                            rows_type dhidden, bool accumulate) {
    Kokkos::parallel_for(
        "seqrec::ContextHead::gate_backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {gate.extent(0), gate.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const T s = gate(r, k), d = dg(r, k);
          dz(r, k) = d * hidden(r, k) * s * (T(1) - T(0.5) * s);
          dhidden(r, k) = (accumulate ? dhidden(r, k) : T(0)) + d * s;
        });
  }

  // C.grad[offset_f + ctx(r, f)] += dc(r); rows repeat across the batch, hence atomics.
  template <class DC>
  void scatter_context(const Space& space, context_type ctx, const DC& dc) const {
    auto gt = table_.template grad_view<2>();
    const auto off = field_offsets_;
    const index_t dcols = dc.extent(1);
    Kokkos::parallel_for(
        "seqrec::ContextHead::scatter",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ctx.extent(0), ctx.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t f) {
          const index_t row = off(f) + ctx(r, f);
          for (index_t k = 0; k < dcols; ++k) Kokkos::atomic_add(&gt(row, k), dc(r, k));
        });
  }

  // Shapes (cheap, no kernel).
  void check_shapes(const_rows_type hidden, context_type ctx, const Workspace& ws) const {
    const index_t rows = hidden.extent(0), nf = schema_.num_fields();
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), dim(), "ContextHead: hidden dimension");
    SEQREC_REQUIRE_SHAPE(ctx, "ContextHead context ids", rows, nf);
    SEQREC_REQUIRE(ws.rows >= rows && index_t(ws.g.extent(1)) == dim() && index_t(ws.c.extent(1)) == context_dim(),
                   "ContextHead: the workspace holds ", ws.rows, " rows, need ", rows,
                   " (make it with this head's make_workspace)");
  }

  // Shapes, and every context id inside its field (one reduction over rows x fields, which waits for it: the
  // forward passes only).
  void check(const Space& space, const_rows_type hidden, context_type ctx, const Workspace& ws) const {
    check_shapes(hidden, ctx, ws);
    const index_t bad = count_bad_ids(space, ctx);
    SEQREC_REQUIRE_CODE(bad == 0, Errc::out_of_range, "ContextHead: ", bad,
                        " context ids are outside their field's range (field sizes: ", sizes_string(), ")");
  }

  index_t count_bad_ids(const Space& space, context_type ctx) const {
    const auto sizes = field_sizes_;
    index_t bad = 0;
    Kokkos::parallel_reduce(
        "seqrec::ContextHead::check_ids",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ctx.extent(0), ctx.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t f, index_t & acc) {
          const id_t v = ctx(r, f);
          acc += (v < 0 || v >= sizes(f)) ? 1 : 0;
        },
        bad);
    return bad;
  }

 private:
  std::string sizes_string() const {
    std::string s;
    for (auto n : schema_.sizes) s += (s.empty() ? "" : ", ") + std::to_string(n);
    return s;
  }

  ContextSchema schema_;
  Parameter<T, Space> table_;
  sequence::Linear<T, Space> linear_;
  DotProduct<T, Space> dot_;
  Kokkos::View<index_t*, memory_space> field_offsets_;
  Kokkos::View<index_t*, memory_space> field_sizes_;
};

}  // namespace seqrec::heads
