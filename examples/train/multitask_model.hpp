// The multi-task model seqrec-train builds for --aux: the next item with the loss --loss names (a candidate loss,
// chosen at run time like the plain model's), then the auxiliary tasks Aux..., combined by Combinator.
#pragma once

#include "encoders.hpp"

#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/registry.hpp>
#include <seqrec/multitask_recommender.hpp>

#include <tuple>

namespace seqrec::tools {

template <class T, EncoderKind E, class Combinator, class... Aux>
using MultiTaskModelOf = MultiTaskModel<typename EncoderOf<T, E>::type, Combinator, std::tuple<Aux...>,
                                        heads::DotProduct<T, Kokkos::DefaultExecutionSpace>,
                                        losses::RuntimeLoss<T, Kokkos::DefaultExecutionSpace>>;

}  // namespace seqrec::tools
