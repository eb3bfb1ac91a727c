// ContextTable: the context ids (ContextSchema::encode) of every interaction of every user, in the users'
// chronological order, on the host and on the device. A context-aware model looks up, for the interaction it
// predicts, the context at which that interaction happened: the time since the user's previous interaction,
// hour and weekday of the request, and who the user is. This is the recommendation-request context (the user
// is at the system at that time); the interaction's item is never part of it.
//
//   auto table = heads::ContextTable::build(space, Sequences::from(data), &users, schema);
//   table.row(u, k)           // ids of user u's k-th interaction (k = length(u): "after the last", time unknown)
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/heads/context_head.hpp>

#include <Kokkos_Core.hpp>

#include <span>
#include <vector>

namespace seqrec::heads {

template <ExecutionSpace Space>
class ContextTable {
 public:
  using memory_space = typename Space::memory_space;
  using ids_type = Kokkos::View<id_t**, Kokkos::LayoutRight, memory_space>;

  ContextTable() = default;

  // full: every interaction of every user, chronological (Sequences::from(data) after sort_chronological).
  // users: MovieLens user attributes by dense user id, needed when the schema has user fields.
  static ContextTable build(const Space& space, const data::Sequences& full, const data::UserInfo* users,
                            ContextSchema schema) {
    ContextTable t;
    t.schema_ = std::move(schema);
    const index_t F = t.schema_.num_fields(), U = full.num_users();
    bool needs_time = false, needs_user = false;
    for (auto f : t.schema_.fields) {
      needs_time = needs_time || f == ContextField::time_gap || f == ContextField::hour || f == ContextField::weekday;
      needs_user = needs_user || f == ContextField::age || f == ContextField::gender || f == ContextField::occupation;
    }
    SEQREC_REQUIRE(!needs_time || index_t(full.times.size()) == full.size(), "ContextTable: time context needs ",
                   "a timestamp per interaction; the data has ", full.times.size(), " for ", full.size(),
                   " interactions (read a format with timestamps)");
    SEQREC_REQUIRE(!needs_user || users != nullptr, "ContextTable: user context needs the users' attributes");
    if (needs_user)
      SEQREC_REQUIRE_EQ(index_t(users->age.size()), U, "ContextTable: users with attributes vs users of the data");
    t.offsets_ = full.offsets;
    t.host_.assign(std::size_t(full.size() + U) * std::size_t(F), 0);  // then one "after the last" row per user
    for (index_t u = 0; u < U; ++u) {
      ContextFeatures x;
      if (needs_user) {
        x.age = users->age[std::size_t(u)];
        x.gender = users->gender[std::size_t(u)];
        x.occupation = users->occupation[std::size_t(u)];
      }
      for (index_t k = 0; k < full.length(u); ++k) {
        const index_t i = full.offsets[u] + k;
        if (needs_time) {
          x.timestamp = full.times[std::size_t(i)];
          x.previous_timestamp = k > 0 ? full.times[std::size_t(i - 1)] : -1;
        }
        t.schema_.encode(x, t.host_row(i));
      }
      x.timestamp = x.previous_timestamp = -1;  // a request after the last interaction: its time is not known
      t.schema_.encode(x, t.host_row(full.size() + u));
    }
    t.ids_ = make_uninitialized<ids_type>(space, "ContextTable::ids", full.size() + U, F);
    auto h = Kokkos::create_mirror_view(t.ids_);
    for (std::size_t i = 0; i < t.host_.size(); ++i) h.data()[i] = t.host_[i];
    Kokkos::deep_copy(space, t.ids_, h);
    t.offsets_device_ = make_uninitialized<View1<index_t, Space>>(space, "ContextTable::offsets", U + 1);
    auto ho = Kokkos::create_mirror_view(t.offsets_device_);
    for (index_t u = 0; u <= U; ++u) ho(u) = full.offsets[std::size_t(u)];
    Kokkos::deep_copy(space, t.offsets_device_, ho);
    space.fence();
    return t;
  }

  const ContextSchema& schema() const { return schema_; }
  index_t num_fields() const { return schema_.num_fields(); }
  index_t num_users() const { return offsets_.empty() ? 0 : index_t(offsets_.size()) - 1; }
  index_t length(index_t u) const { return offsets_[std::size_t(u) + 1] - offsets_[std::size_t(u)]; }
  index_t num_interactions() const { return offsets_.empty() ? 0 : offsets_.back(); }

  // Ids of user u's k-th interaction; k >= length(u) gives the "after the last" row (time fields unknown).
  std::span<const id_t> row(index_t u, index_t k) const {
    SEQREC_REQUIRE_INDEX(u, num_users(), "ContextTable::row: user");
    SEQREC_REQUIRE(k >= 0, "ContextTable::row: negative position ", k);
    const index_t i = k < length(u) ? offsets_[std::size_t(u)] + k : num_interactions() + u;
    return {host_.data() + std::size_t(i) * std::size_t(num_fields()), std::size_t(num_fields())};
  }

  // Device: ids(offsets(u) + k, f) for k < length(u), and row num_interactions() + u after the last.
  ids_type ids() const { return ids_; }
  View1<index_t, Space> offsets() const { return offsets_device_; }

 private:
  std::span<id_t> host_row(index_t i) {
    return {host_.data() + std::size_t(i) * std::size_t(num_fields()), std::size_t(num_fields())};
  }

  ContextSchema schema_;
  std::vector<index_t> offsets_;
  std::vector<id_t> host_;
  ids_type ids_;
  View1<index_t, Space> offsets_device_;
};

}  // namespace seqrec::heads
