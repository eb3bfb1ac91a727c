// Transforms of interaction weights applied after reading, for data whose raw weights span orders of magnitude
// (Last.fm play counts run from 1 to 352,698: as ALS confidences 1 + alpha * w a few heavy listeners would
// dominate the fit).
//
//   raw      w as read
//   log1p    w -> log(1 + w)     (needs w > -1; keeps w = 0 at 0 and the order of the weights)
//   binary   w -> 1              (every observed pair counts the same; has_weight becomes false)
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/data/interactions.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

namespace seqrec::data {

enum class WeightTransform { raw, log1p, binary };

inline constexpr std::array<WeightTransform, 3> all_weight_transforms = {WeightTransform::raw, WeightTransform::log1p,
                                                                         WeightTransform::binary};

inline constexpr std::string_view to_string(WeightTransform t) {
  switch (t) {
    case WeightTransform::raw:
      return "raw";
    case WeightTransform::log1p:
      return "log1p";
    case WeightTransform::binary:
      return "binary";
  }
  return "?";
}

inline WeightTransform parse_weight_transform(std::string_view name) {
  for (WeightTransform t : all_weight_transforms)
    if (name == to_string(t)) return t;
  SEQREC_THROW(Errc::invalid_argument, "unknown weight transform '", name, "'; expected raw, log1p or binary");
}

// Applies `t` to every weight of `x` in place. log1p refuses weights <= -1 (no finite logarithm), naming the
// row's original user and item.
inline void transform_weights(Interactions& x, WeightTransform t) {
  switch (t) {
    case WeightTransform::raw:
      return;
    case WeightTransform::log1p:
      for (std::size_t k = 0; k < x.weight.size(); ++k) {
        const float w = x.weight[k];
        if (!(w > -1.0f)) [[unlikely]]
          SEQREC_THROW(Errc::invalid_argument, x.source, ": weight transform log1p needs weights > -1, got ", w,
                       " for user ", x.users.original(x.user[k]), ", item ", x.items.original(x.item[k]));
        x.weight[k] = static_cast<float>(std::log1p(static_cast<double>(w)));
      }
      return;
    case WeightTransform::binary:
      for (float& w : x.weight) w = 1.0f;
      x.has_weight = false;  // as a file without weights reads
      return;
  }
  SEQREC_THROW(Errc::invalid_argument, "unknown WeightTransform value ", static_cast<int>(t));
}

}  // namespace seqrec::data
