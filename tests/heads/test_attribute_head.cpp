#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/attribute_head.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

// 5 items, 4 attributes: item 3 lists nothing (unknown), item 2 lists attribute 1 twice (counted once).
seqrec::data::ItemAttributes small_attributes() {
  seqrec::data::ItemAttributes a;
  a.offsets = {0, 0, 2, 4, 4, 5, 7};  // items 0..5
  a.values = {0, 3, 1, 1, 2, 0, 2};
  for (int k = 0; k < 4; ++k) a.attributes.insert(100 + k);
  return a;
}

}  // namespace

TEMPLATE_TEST_CASE("attribute head: logits, masked multi-label BCE and its gradients", "[heads][grad][multitask]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto attrs = small_attributes();
  const auto table = seqrec::heads::make_attribute_table(space, attrs);
  CHECK(table.num_items() == 5);
  CHECK(table.num_attributes == 4);

  seqrec::ParameterSet<T, Space> params;
  seqrec::heads::AttributeHead<T, Space> head(space, params, "attr", 3, 4);
  head.init(space, seqrec::RandomStream(6, 1));
  seqrec::fill_normal(space, head.linear().bias().value(), seqrec::RandomStream(6, 4), T(0), T(0.5));
  const seqrec::index_t rows = 6;
  seqrec::View2<T, Space> hidden("hidden", rows, 3), logits("logits", rows, 4), dlogits("dl", rows, 4),
      dh("dh", rows, 3), none;
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(6, 2), T(0), T(1));
  // Rows: item 1, padding, item 2, item 3 (no attributes: masked), item 4, item 5.
  auto targets = seqrec::test::from_vector<Space, seqrec::id_t>({1, 0, 2, 3, 4, 5}, "targets");
  head.forward(space, hidden, logits);
  const auto value = head.loss(space, logits, targets, table, dlogits);
  CHECK(value.count == 4);

  // Host reference.
  auto hh = seqrec::to_host(hidden);
  auto hw = seqrec::to_host(head.linear().weight().template view<2>());
  auto hb = seqrec::to_host(head.linear().bias().value());
  auto hl = seqrec::to_host(logits);
  auto hd = seqrec::to_host(dlogits);
  const int target[6] = {1, 0, 2, 3, 4, 5};
  const int y[6][4] = {{1, 0, 0, 1}, {0, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 1, 0}};
  double ref = 0;
  for (int r = 0; r < 6; ++r) {
    const bool valid = target[r] != 0 && target[r] != 3;
    for (int a = 0; a < 4; ++a) {
      double z = hb(a);
      for (int k = 0; k < 3; ++k) z += double(hh(r, k)) * double(hw(k, a));
      CHECK(hl(r, a) == Approx(z).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
      const double p = 1 / (1 + std::exp(-z));
      if (valid) ref += -(y[r][a] * std::log(p) + (1 - y[r][a]) * std::log(1 - p));
      const double g = valid ? (p - y[r][a]) / 16.0 : 0.0;
      CHECK(hd(r, a) == Approx(g).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  }
  CHECK(value.value == Approx(ref / 16.0).epsilon(seqrec::test::tolerance<T>()));

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      head.forward(space, hidden, logits);
      return head.loss(space, logits, targets, table, none).value;
    };
    params.zero_grad(space);
    loss();
    head.loss(space, logits, targets, table, dlogits);
    head.backward(space, hidden, dlogits, dh);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, head.linear().weight().value(), head.linear().weight().grad(), loss, "W");
    seqrec::test::check_gradient(space, head.linear().bias().value(), head.linear().bias().grad(), loss, "b");
    // accumulate adds to what another head left in dhidden.
    seqrec::View2<T, Space> acc("acc", rows, 3);
    Kokkos::deep_copy(acc, T(1));
    head.backward(space, hidden, dlogits, acc, true);
    auto ha = seqrec::to_host(acc);
    auto hdh = seqrec::to_host(dh);
    for (int r = 0; r < 6; ++r)
      for (int k = 0; k < 3; ++k) CHECK(ha(r, k) == Approx(1 + hdh(r, k)).epsilon(1e-12));
  }

  // Only padding or unknown items: loss 0, gradient 0.
  auto masked = seqrec::test::from_vector<Space, seqrec::id_t>({0, 3, 0, 3, 0, 0}, "masked");
  Kokkos::deep_copy(dlogits, T(7));
  const auto empty = head.loss(space, logits, masked, table, dlogits);
  CHECK(empty.count == 0);
  CHECK(empty.value == 0);
  auto hz = seqrec::to_host(dlogits);
  for (int r = 0; r < 6; ++r)
    for (int a = 0; a < 4; ++a) CHECK(hz(r, a) == T(0));

  // Shape and range errors.
  seqrec::View2<T, Space> wrong_logits("wrong", rows, 3), wrong_hidden("wrong", rows, 2), wrong_dh("wrong", 5, 3);
  CHECK_THROWS_AS(head.forward(space, hidden, wrong_logits), seqrec::Error);
  CHECK_THROWS_AS(head.forward(space, wrong_hidden, logits), seqrec::Error);
  CHECK_THROWS_AS(head.loss(space, wrong_logits, targets, table, dlogits), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, dlogits, wrong_dh), seqrec::Error);
  auto too_big = seqrec::test::from_vector<Space, seqrec::id_t>({1, 6, 0, 0, 0, 0}, "too_big");
  CHECK_THROWS_WITH(head.loss(space, logits, too_big, table, dlogits),
                    Catch::Contains("not items of the attribute table"));
  seqrec::heads::AttributeHead<T, Space> other(space, params, "other", 3, 5);
  seqrec::View2<T, Space> logits5("l5", rows, 5);
  CHECK_THROWS_AS(other.loss(space, logits5, targets, table, none), seqrec::Error);
  auto bad = attrs;
  bad.values[0] = 9;  // attribute id beyond the map
  CHECK_THROWS_AS(seqrec::heads::make_attribute_table(space, bad), seqrec::Error);
}

#include <seqrec/data/readers.hpp>

TEST_CASE("attribute table from the item2attributes reader: rows follow the dense item ids", "[heads][multitask]") {
  // Items 10, 20, 30, 40 get dense ids 1..4 in order of appearance; item 30 is not in the file (unknown).
  const auto x = seqrec::data::parse_sasrec("1 10\n1 20\n2 30\n3 40\n3 10\n", "small");
  const auto a = seqrec::data::parse_item_attributes_json(R"({"10": [7, 8], "20": [8], "40": [9, 7, 9]})", "json", x);
  Kokkos::Serial space;
  const auto table = seqrec::heads::make_attribute_table(space, a);
  REQUIRE(table.num_items() == 4);
  REQUIRE(table.num_attributes == 3);
  auto off = seqrec::to_host(table.offsets);
  auto val = seqrec::to_host(table.values);
  auto attrs_of = [&](int item) {
    std::vector<std::int64_t> out;
    for (auto j = off(item); j < off(item + 1); ++j) out.push_back(a.attributes.original(val(j)));
    return out;
  };
  CHECK(attrs_of(0).empty());
  CHECK(attrs_of(1) == std::vector<std::int64_t>{7, 8});
  CHECK(attrs_of(2) == std::vector<std::int64_t>{8});
  CHECK(attrs_of(3).empty());
  CHECK(attrs_of(4) == std::vector<std::int64_t>{7, 9});  // the repeated 9 counted once
}
