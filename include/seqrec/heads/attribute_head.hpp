// Attribute head for multi-task training: from the hidden state h_r predict the attributes of row r's target
// item (the next item) as A independent labels,
//   logits(r, a) = (h_r W + b)_a,   loss = mean over valid rows and attributes of BCE(logits, y),
// with y(r, a) = 1 when attribute a belongs to target(r) (Beauty's item2attributes, MovieLens genres). A row
// is valid when its target is not padding (0) and the item has at least one attribute: an item the file
// does not list is unknown, not "has none". The sigmoid is inside the loss (softplus form, stable).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/attributes.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/sequence/linear.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace seqrec::heads {

// Item -> attribute ids on the device (CSR, item i in values[offsets[i] .. offsets[i+1]); row 0 empty),
// duplicates within an item removed.
template <ExecutionSpace Space>
struct AttributeTable {
  using memory_space = typename Space::memory_space;
  Kokkos::View<const index_t*, memory_space> offsets;  // num_items + 2 entries
  Kokkos::View<const id_t*, memory_space> values;
  index_t num_attributes = 0;
  index_t num_items() const { return offsets.extent(0) < 2 ? 0 : index_t(offsets.extent(0)) - 2; }
};

template <ExecutionSpace Space>
AttributeTable<Space> make_attribute_table(const Space& space, const data::ItemAttributes& a) {
  SEQREC_REQUIRE(a.offsets.size() >= 2, "AttributeTable: the attributes cover no items");
  const index_t A = a.num_attributes();
  SEQREC_REQUIRE(A > 0, "AttributeTable: there are no attributes");
  using memory_space = typename Space::memory_space;
  Kokkos::View<index_t*, memory_space> offsets("AttributeTable::offsets", a.offsets.size());
  auto ho = Kokkos::create_mirror_view(offsets);
  std::vector<id_t> flat;
  flat.reserve(a.values.size());
  ho(0) = 0;
  for (std::size_t i = 0; i + 1 < a.offsets.size(); ++i) {
    std::vector<id_t> row(a.values.begin() + a.offsets[i], a.values.begin() + a.offsets[i + 1]);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    for (id_t v : row) {
      SEQREC_REQUIRE_INDEX(v, A, "attribute id");
      flat.push_back(v);
    }
    ho(i + 1) = index_t(flat.size());
  }
  Kokkos::View<id_t*, memory_space> values("AttributeTable::values", std::max<std::size_t>(flat.size(), 1));
  auto hv = Kokkos::create_mirror_view(values);
  for (std::size_t j = 0; j < flat.size(); ++j) hv(j) = flat[j];
  Kokkos::deep_copy(space, offsets, ho);
  Kokkos::deep_copy(space, values, hv);
  space.fence();
  return {offsets, values, A};
}

template <Scalar T, ExecutionSpace Space>
class AttributeHead {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using targets_type = Kokkos::View<const id_t*, memory_space>;

  AttributeHead() = default;
  AttributeHead(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim,
                index_t num_attributes)
      : linear_(space, params, name, dim, num_attributes) {}

  index_t dim() const { return linear_.in(); }
  index_t num_attributes() const { return linear_.out(); }
  const sequence::Linear<T, Space>& linear() const { return linear_; }

  // Glorot weights, zero bias.
  void init(const Space& space, RandomStream rs) const { linear_.init_xavier(space, rs); }

  // logits [rows, A] = hidden [rows, dim] W + b.
  void forward(const Space& space, const_rows_type hidden, rows_type logits) const {
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), dim(), "AttributeHead: hidden dimension");
    SEQREC_REQUIRE_SHAPE(logits, "AttributeHead logits", index_t(hidden.extent(0)), num_attributes());
    linear_.forward(space, hidden, logits);
  }

  // Multi-label BCE against the attributes of targets(r) and d loss / d logits (written to dlogits, which may
  // be empty to skip the gradient; invalid rows get 0). Throws when a target is not an item of the table.
  losses::LossValue loss(const Space& space, const_rows_type logits, targets_type targets,
                         const AttributeTable<Space>& table, rows_type dlogits) const {
    const index_t rows = targets.extent(0), A = num_attributes();
    SEQREC_REQUIRE_SHAPE(logits, "AttributeHead logits", rows, A);
    SEQREC_REQUIRE_EQ(table.num_attributes, A, "AttributeHead: attributes of the table vs outputs of the head");
    const bool grad = dlogits.data() != nullptr;
    if (grad) SEQREC_REQUIRE_SHAPE(dlogits, "AttributeHead dlogits", rows, A);
    const index_t out_of_range = count_out_of_range(space, targets, table.num_items());
    SEQREC_REQUIRE_CODE(out_of_range == 0, Errc::out_of_range, "AttributeHead: ", out_of_range,
                        " target ids are not items of the attribute table (", table.num_items(), " items)");
    const index_t count = count_valid(space, targets, table);
    if (count == 0) {
      if (grad) Kokkos::deep_copy(space, dlogits, T(0));
      return {};
    }
    return {bce(space, logits, targets, table, dlogits, count) / double(count * A), count};
  }

  // W.grad, b.grad += from dlogits; dhidden = dlogits W^T, or += when `accumulate` (the shared encoder's
  // gradient is the sum over heads).
  void backward(const Space& space, const_rows_type hidden, const_rows_type dlogits, rows_type dhidden,
                bool accumulate = false) const {
    SEQREC_REQUIRE_SHAPE(dlogits, "AttributeHead dlogits", index_t(hidden.extent(0)), num_attributes());
    if (dhidden.data() != nullptr)
      SEQREC_REQUIRE_SHAPE(dhidden, "AttributeHead dhidden", index_t(hidden.extent(0)), dim());
    linear_.backward(space, hidden, dlogits, dhidden, accumulate);
  }

  // The kernels below are public only because nvcc refuses device lambdas inside private member functions.
  static index_t count_out_of_range(const Space& space, targets_type targets, index_t num_items) {
    index_t bad = 0;
    Kokkos::parallel_reduce(
        "seqrec::AttributeHead::check_targets", Kokkos::RangePolicy<Space>(space, 0, targets.extent(0)),
        KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += (targets(r) < 0 || targets(r) > num_items) ? 1 : 0; }, bad);
    return bad;
  }

  static index_t count_valid(const Space& space, targets_type targets, const AttributeTable<Space>& table) {
    const auto off = table.offsets;
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::AttributeHead::count", Kokkos::RangePolicy<Space>(space, 0, targets.extent(0)),
        KOKKOS_LAMBDA(index_t r, index_t & acc) {
          const id_t it = targets(r);
          acc += (it != 0 && off(it + 1) > off(it)) ? 1 : 0;
        },
        count);
    return count;
  }

  // Sum over valid rows and attributes of softplus(z) - y z; dlogits = (sigmoid(z) - y) / (count A).
  double bce(const Space& space, const_rows_type logits, targets_type targets, const AttributeTable<Space>& table,
             rows_type dlogits, index_t count) const {
    const auto off = table.offsets;
    const auto val = table.values;
    const index_t A = num_attributes();
    const bool grad = dlogits.data() != nullptr;
    const T inv = T(1) / T(double(count) * double(A));
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::AttributeHead::bce", Kokkos::RangePolicy<Space>(space, 0, targets.extent(0)),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          const id_t it = targets(r);
          const index_t b = off(it), e = off(it + 1);
          const bool valid = it != 0 && e > b;
          if (!valid) {
            if (grad)
              for (index_t a = 0; a < A; ++a) dlogits(r, a) = T(0);
            return;
          }
          double s = 0;
          for (index_t a = 0; a < A; ++a) {
            const T z = logits(r, a);
            s += double(math::softplus(z));
            if (grad) dlogits(r, a) = math::sigmoid(z) * inv;
          }
          for (index_t j = b; j < e; ++j) {  // the positives: -y z and -y in the gradient
            const id_t a = val(j);
            s -= double(logits(r, a));
            if (grad) dlogits(r, a) -= inv;
          }
          acc += s;
        },
        total);
    return total;
  }

 private:
  sequence::Linear<T, Space> linear_;
};

}  // namespace seqrec::heads
