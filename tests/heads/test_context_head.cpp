#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/context_head.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <vector>

namespace sh = seqrec::heads;

TEST_CASE("context fields: time-gap buckets, hour, weekday, user attributes", "[heads][context]") {
  using namespace sh::context;
  CHECK(time_gap_bucket(-1, 24) == 0);
  CHECK(time_gap_bucket(0, 24) == 1);
  CHECK(time_gap_bucket(1, 24) == 2);
  CHECK(time_gap_bucket(2, 24) == 2);
  CHECK(time_gap_bucket(3, 24) == 3);
  CHECK(time_gap_bucket(1000, 24) == 10);                   // log2(1001) = 9.97
  CHECK(time_gap_bucket(std::int64_t(1) << 40, 24) == 23);  // capped
  CHECK(hour_of(0) == 0);
  CHECK(weekday_of(0) == 3);  // Thursday, Monday = 0
  // 881250949 (ML-100K's first line): 1997-12-04 15:55:49 UTC, a Thursday.
  CHECK(hour_of(881250949) == 15);
  CHECK(weekday_of(881250949) == 3);
  CHECK(weekday_of(-86400) == 2);
  CHECK(age_bucket(-1) == 0);
  CHECK(age_bucket(1) == 1);
  CHECK(age_bucket(17) == 1);
  CHECK(age_bucket(18) == 2);
  CHECK(age_bucket(24) == 2);
  CHECK(age_bucket(25) == 3);
  CHECK(age_bucket(56) == 7);
  CHECK(age_bucket(73) == 7);
  CHECK(gender_id('M') == 1);
  CHECK(gender_id('F') == 2);
  CHECK(gender_id('?') == 0);
  CHECK(occupation_id(-1, 21) == 0);
  CHECK(occupation_id(20, 21) == 21);
  CHECK(occupation_id(21, 21) == 0);

  auto both = sh::ContextSchema::parse("time+user", 21);
  REQUIRE(both.num_fields() == 6);
  CHECK(both.total() == 24 + 24 + 7 + 8 + 3 + 22);
  CHECK(sh::ContextSchema::parse("time", 21).num_fields() == 3);
  CHECK(sh::ContextSchema::parse("user", 21).num_fields() == 3);
  CHECK_THROWS_AS(sh::ContextSchema::parse("weather", 21), seqrec::Error);
  std::array<seqrec::id_t, 6> row{};
  both.encode({881250949, 881250949 - 3600, 30, 'F', 4}, row);
  CHECK(row == std::array<seqrec::id_t, 6>{12, 15, 3, 3, 2, 5});
  both.encode({}, row);  // all unknown
  CHECK(row == std::array<seqrec::id_t, 6>{0, 0, 0, 0, 0, 0});
  std::array<seqrec::id_t, 2> short_row{};
  CHECK_THROWS_AS(both.encode({}, short_row), seqrec::Error);
}

TEMPLATE_TEST_CASE("context head gates the hidden state and back-propagates to every input", "[heads][grad][context]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 7, 3);
  items.init_normal(space, seqrec::RandomStream(7, 1), T(1));
  sh::ContextSchema schema;
  schema.add(sh::ContextField::time_gap, 4).add(sh::ContextField::gender, 3);
  sh::ContextHead<T, Space> head(space, params, "ctx", 3, schema, 2);
  seqrec::RandomSource rng(7);
  head.init(space, rng, T(0.7));  // larger than the default so the gate is far from 1 in the check
  seqrec::fill_normal(space, head.gate().bias().value(), seqrec::RandomStream(7, 9), T(0), T(0.5));
  CHECK(head.dim() == 3);
  CHECK(head.context_dim() == 2);
  CHECK(head.context_table().extent(0) == 7);

  const seqrec::index_t rows = 4;
  seqrec::View2<T, Space> hidden("hidden", rows, 3), scores("scores", rows, 3), r("r", rows, 3), dh("dh", rows, 3);
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(7, 2), T(0), T(1));
  seqrec::fill_uniform(space, r, seqrec::RandomStream(7, 3), T(-1), T(1));
  auto cand = seqrec::test::id_matrix<Space>({{1, 5, 6}, {2, 2, 0}, {0, 3, 4}, {6, 1, 1}});
  // The same time bucket twice, so the context-table gradient accumulates over rows.
  auto ctx = seqrec::test::id_matrix<Space>({{0, 1}, {3, 2}, {3, 0}, {1, 1}});
  auto ws = head.make_workspace(space, 6);  // more rows than used: first rows taken
  head.forward(space, hidden, ctx, cand, scores, items, ws);

  // Host reference.
  auto hh = seqrec::to_host(hidden);
  auto he = seqrec::to_host(items.table());
  auto hc = seqrec::to_host(head.context_table().template view<2>());
  auto hw = seqrec::to_host(head.gate().weight().template view<2>());
  auto hb = seqrec::to_host(head.gate().bias().value());
  auto hs = seqrec::to_host(scores);
  const int ids[4][3] = {{1, 5, 6}, {2, 2, 0}, {0, 3, 4}, {6, 1, 1}};
  const int cx[4][2] = {{0, 1}, {3, 2}, {3, 0}, {1, 1}};
  for (int i = 0; i < 4; ++i) {
    double c[2];
    for (int k = 0; k < 2; ++k) c[k] = hc(cx[i][0], k) + hc(4 + cx[i][1], k);
    double g[3];
    for (int j = 0; j < 3; ++j) {
      double z = hb(j);
      for (int k = 0; k < 2; ++k) z += c[k] * hw(k, j);
      g[j] = hh(i, j) * 2 / (1 + std::exp(-z));
    }
    for (int j = 0; j < 3; ++j) {
      double ref = 0;
      for (int k = 0; k < 3; ++k) ref += g[k] * (ids[i][j] ? he(ids[i][j], k) : 0.0);
      CHECK(hs(i, j) == Approx(ref).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  }
  CHECK(hs(1, 2) == T(0));

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      head.forward(space, hidden, ctx, cand, scores, items, ws);
      return seqrec::test::weighted_sum(space, scores, r);
    };
    loss();
    params.zero_grad(space);
    head.backward(space, hidden, ctx, cand, r, dh, items, ws);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items");
    seqrec::test::check_gradient(space, head.context_table().value(), head.context_table().grad(), loss, "context");
    seqrec::test::check_gradient(space, head.gate().weight().value(), head.gate().weight().grad(), loss, "gate W");
    seqrec::test::check_gradient(space, head.gate().bias().value(), head.gate().bias().grad(), loss, "gate b");

    // Through BCE with the first column as the positive: interest = sigmoid(score), end to end.
    seqrec::losses::BinaryCrossEntropy<T, Space> bce;
    seqrec::View2<T, Space> ds("ds", rows, 3), no_grad;
    auto bce_loss = [&] {
      head.forward(space, hidden, ctx, cand, scores, items, ws);
      return bce.forward_backward(space, scores, cand, no_grad).value;
    };
    bce_loss();
    bce.forward_backward(space, scores, cand, ds);
    params.zero_grad(space);
    head.backward(space, hidden, ctx, cand, ds, dh, items, ws);
    seqrec::test::check_gradient(space, hidden, dh, bce_loss, "hidden (bce)");
    seqrec::test::check_gradient(space, head.context_table().value(), head.context_table().grad(), bce_loss,
                                 "context (bce)");
  }

  // A zero context and zero gate bias reproduce the plain dot-product head (gate = 1).
  {
    seqrec::ParameterSet<T, Space> p2;
    sh::ContextHead<T, Space> plain(space, p2, "plain", 3, schema);
    auto ws2 = plain.make_workspace(space, rows);
    seqrec::View2<T, Space> s2("s2", rows, 3), s3("s3", rows, 3);
    plain.forward(space, hidden, ctx, cand, s2, items, ws2);
    sh::DotProduct<T, Space>().forward(space, hidden, cand, s3, items);
    auto a = seqrec::to_host(s2);
    auto b = seqrec::to_host(s3);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 3; ++j) CHECK(a(i, j) == Approx(b(i, j)).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
  }

  // Shape, workspace and range errors.
  seqrec::View2<T, Space> wrong_scores("wrong", rows, 2), wrong_hidden("wrong", rows, 2), wrong_dh("wrong", 3, 3);
  auto small_ws = head.make_workspace(space, 2);
  auto wrong_ctx = seqrec::test::id_matrix<Space>({{0}, {0}, {0}, {0}});
  auto out_of_range = seqrec::test::id_matrix<Space>({{0, 1}, {4, 2}, {3, 0}, {1, 1}});  // time_gap has 4 values
  auto negative = seqrec::test::id_matrix<Space>({{0, 1}, {0, -1}, {3, 0}, {1, 1}});
  CHECK_THROWS_AS(head.forward(space, hidden, ctx, cand, wrong_scores, items, ws), seqrec::Error);
  CHECK_THROWS_AS(head.forward(space, wrong_hidden, ctx, cand, scores, items, ws), seqrec::Error);
  CHECK_THROWS_AS(head.forward(space, hidden, wrong_ctx, cand, scores, items, ws), seqrec::Error);
  CHECK_THROWS_WITH(head.forward(space, hidden, ctx, cand, scores, items, small_ws),
                    Catch::Contains("workspace holds 2 rows"));
  CHECK_THROWS_WITH(head.forward(space, hidden, out_of_range, cand, scores, items, ws),
                    Catch::Contains("outside their field's range"));
  CHECK_THROWS_AS(head.forward(space, hidden, negative, cand, scores, items, ws), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, ctx, cand, r, wrong_dh, items, ws), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, ctx, cand, wrong_scores, dh, items, ws), seqrec::Error);
}
