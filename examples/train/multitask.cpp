// seqrec-train --aux attributes | genres | rating: the next item and one property of it (its attributes or
// genres, multi-label; its rating, regression) on one encoder, combined by --combinator. Instantiated for
// the three encoders.
#include "encoders.hpp"
#include "multitask_model.hpp"
#include "run.hpp"

#include <seqrec/data/attributes.hpp>
#include <seqrec/multitask_recommender.hpp>

namespace seqrec::tools {

template <EncoderKind E>
int train_multitask(const Options& o, const data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  using T = float;
  using Enc = EncoderOf<T, E>;
  using Combinator = RuntimeCombinator<2>;
  Space space;
  const auto cfg = recommender_config(o, data);
  const std::string combinator = o.combinator_or_default();
  if (o.aux[0] == "rating") {  // the data's weights are the ratings
    const auto split = data::leave_one_out(data);
    MultiTaskModelOf<T, E, Combinator, heads::RatingTask<T, Space>> model(
        space, data.num_items(), cfg, o.seed, split.train_sequences,
        Combinator::make(combinator, o.weights,
                         std::array{losses::TaskKind::classification, losses::TaskKind::regression}),
        Enc::factory(o), {.loss = loss_from<T>(o, data.num_items())});
    if (!o.json_only) std::fprintf(stderr, "rating: mean training rating %.3f\n", model.aux().mean_rating());
    return run(o, data, model, Enc::name);
  }
  const auto attributes = o.aux[0] == "genres" ? data::read_ml100k_items(o.attributes_path, data).genres
                                               : data::read_item_attributes_json(o.attributes_path, data);
  if (!o.json_only)
    std::fprintf(stderr, "%s: %lld of %lld items have some of %lld attributes (%lld file items skipped)\n",
                 o.aux[0].c_str(), (long long)attributes.covered_items(), (long long)data.num_items(),
                 (long long)attributes.num_attributes(), (long long)attributes.skipped_items);
  MultiTaskModelOf<T, E, Combinator, heads::AttributeTask<T, Space>> model(
      space, data.num_items(), cfg, o.seed, attributes, Combinator::make(combinator, o.weights), Enc::factory(o),
      {.loss = loss_from<T>(o, data.num_items())});
  return run(o, data, model, Enc::name);
}

template int train_multitask<EncoderKind::sasrec>(const Options&, const data::Interactions&);
template int train_multitask<EncoderKind::gru4rec>(const Options&, const data::Interactions&);
template int train_multitask<EncoderKind::lstm>(const Options&, const data::Interactions&);

}  // namespace seqrec::tools
