// seqrec-train --aux item-item and/or --aux user-user: the joint embedding tasks beside the next item (main()
// puts item-item first when both are given). Instantiated for the three encoders.
#include "encoders.hpp"
#include "multitask_model.hpp"
#include "run.hpp"

#include <seqrec/heads/joint_tasks.hpp>
#include <seqrec/multitask_recommender.hpp>

namespace seqrec::tools {

template <EncoderKind E>
int train_joint(const Options& o, const data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  using T = float;
  using Enc = EncoderOf<T, E>;
  using ItemItem = heads::ItemItemTask<T, Space>;
  using UserUser = heads::UserUserTask<T, Space>;
  Space space;
  const auto cfg = recommender_config(o, data);
  const std::string combinator = o.combinator_or_default();
  const auto split = data::leave_one_out(data);
  const typename ItemItem::Options io{o.joint_window, o.joint_negatives};
  if (o.aux.size() == 2) {
    using Combinator = RuntimeCombinator<3>;
    MultiTaskModelOf<T, E, Combinator, ItemItem, UserUser> model(
        space, data.num_items(), cfg, o.seed, std::tuple{io, split.train_sequences},
        Combinator::make(combinator, o.weights), Enc::factory(o), {.loss = loss_from<T>(o, data.num_items())});
    return run(o, data, model, Enc::name);
  }
  using Combinator = RuntimeCombinator<2>;
  if (o.aux[0] == "item-item") {
    MultiTaskModelOf<T, E, Combinator, ItemItem> model(space, data.num_items(), cfg, o.seed, io,
                                                       Combinator::make(combinator, o.weights), Enc::factory(o),
                                                       {.loss = loss_from<T>(o, data.num_items())});
    return run(o, data, model, Enc::name);
  }
  MultiTaskModelOf<T, E, Combinator, UserUser> model(space, data.num_items(), cfg, o.seed, split.train_sequences,
                                                     Combinator::make(combinator, o.weights), Enc::factory(o),
                                                     {.loss = loss_from<T>(o, data.num_items())});
  return run(o, data, model, Enc::name);
}

template int train_joint<EncoderKind::sasrec>(const Options&, const data::Interactions&);
template int train_joint<EncoderKind::gru4rec>(const Options&, const data::Interactions&);
template int train_joint<EncoderKind::lstm>(const Options&, const data::Interactions&);

}  // namespace seqrec::tools
