// seqrec-train --context: the next item scored through the context-gated head (time gap, hour, weekday, user
// attributes). Instantiated for the three encoders.
#include "encoders.hpp"
#include "run.hpp"

#include <seqrec/context_recommender.hpp>
#include <seqrec/data/attributes.hpp>

namespace seqrec::tools {

template <EncoderKind E>
int train_context(const Options& o, const data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  using Enc = EncoderOf<float, E>;
  Space space;
  std::optional<data::UserInfo> users;
  if (!o.users_path.empty()) users = data::read_ml100k_users(o.users_path, data);
  auto sorted = data;
  sorted.sort_chronological();
  const auto schema = heads::ContextSchema::parse(o.context, users ? index_t(users->occupations.size()) : 0);
  auto table =
      heads::ContextTable<Space>::build(space, data::Sequences::from(sorted), users ? &*users : nullptr, schema);
  if (!o.json_only)
    std::fprintf(stderr, "context %s: %lld fields, %lld values\n", o.context.c_str(), (long long)schema.num_fields(),
                 (long long)schema.total());
  const auto split = data::leave_one_out(data);
  ContextRecommender<typename Enc::type, losses::RuntimeLoss<float, Space>> model(
      space, data.num_items(), recommender_config(o, data), o.seed, std::move(table), split.train_sequences,
      Enc::factory(o), 0, loss_from<float>(o, data.num_items()));
  return run(o, data, model, Enc::name);
}

template int train_context<EncoderKind::sasrec>(const Options&, const data::Interactions&);
template int train_context<EncoderKind::gru4rec>(const Options&, const data::Interactions&);
template int train_context<EncoderKind::lstm>(const Options&, const data::Interactions&);

}  // namespace seqrec::tools
