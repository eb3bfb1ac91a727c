// seqrec-train's plain model (the next item alone), with item features and a cold-item split when asked;
// the only variant --blend, --distributed and --double take. Compiled once per scalar
// (SEQREC_TRAIN_SCALAR: examples/CMakeLists.txt), for the three encoders.
#include "encoders.hpp"
#include "run.hpp"

#include <seqrec/data/item_features.hpp>

namespace seqrec::tools {

template <class T, EncoderKind E>
int train_plain(const Options& o, const data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  using Enc = EncoderOf<T, E>;
  Space space;
  std::optional<data::ColdItemSplit> cold;
  if (o.cold_items > 0) {
    auto sorted = data;
    sorted.sort_chronological();
    cold = data::cold_item_split(sorted, o.cold_items, o.seed);
    if (!o.json_only)
      std::fprintf(
          stderr, "cold items: %zu of %lld held out of training (%lld interactions), %lld users to rank them\n",
          cold->cold_items.size(), (long long)data.num_items(), (long long)cold->removed, (long long)cold->evaluated);
  }
  const auto& train_data = cold ? cold->warm : data;
  std::optional<ItemFeatureInput<T, Space>> features;
  if (!o.item_features.empty()) {
    const auto f = data::read_item_features(
        o.item_features_path, data.items,
        o.item_feature_ids_path.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.item_feature_ids_path));
    sequence::FeatureProjectionConfig pc;
    pc.kind = sequence::parse_projection_kind(o.projection);
    pc.hidden = o.projection_hidden;
    features = ItemFeatureInput<T, Space>{f.template to_device<T, Space>(space), pc, !o.features_only};
    if (!o.json_only)
      std::fprintf(stderr, "item features: %lld x %lld (%s), %s projection%s\n", (long long)f.num_items,
                   (long long)f.dim, f.dtype.c_str(), o.projection.c_str(),
                   o.features_only ? ", no learned item embedding" : " added to the item embedding");
  }
  PlainModel<T, E> model(space, data.num_items(), recommender_config(o, data), o.seed, Enc::factory(o),
                         {.loss = loss_from<T>(o, data.num_items())}, features);
  return run(o, train_data, model, Enc::name, cold ? &*cold : nullptr);
}

template int train_plain<SEQREC_TRAIN_SCALAR, EncoderKind::sasrec>(const Options&, const data::Interactions&);
template int train_plain<SEQREC_TRAIN_SCALAR, EncoderKind::gru4rec>(const Options&, const data::Interactions&);
template int train_plain<SEQREC_TRAIN_SCALAR, EncoderKind::lstm>(const Options&, const data::Interactions&);

}  // namespace seqrec::tools
