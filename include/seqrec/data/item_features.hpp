// Dense item features (e.g. a pretrained language model's sentence embeddings of item texts), aligned with a
// dataset's dense item ids:
//
//   auto f = read_item_features("ml100k-minilm.npy", data.items);          // ids from ml100k-minilm.ids.npy
//   View2<float, Space> x = f.to_device<float>(space);                      // [(num_items + 1), dim]
//
// Files: the features, float32 or float64 of shape [N, F], one row per item in any order; the original item ids
// of those rows, int32 or int64 of shape [N], by default beside it as `<features stem>.ids.npy`. Row d of the
// result is dense item d (dense ids start at 1); row 0, the padding item, is zeros.
//
// Nothing is guessed: a dataset item without a row, a row whose id the dataset does not have (unless
// `allow_extra`, which skips and counts them), a duplicate id, a dtype other than those above, a wrong rank or
// shape, an ids count other than the row count, and NaN or Inf anywhere in the file all throw seqrec::Error
// naming the file, with expected vs actual. Host only (it includes npy.hpp and xtensor); Kokkos must be
// initialised, since the .npy decoding goes through host views.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/detail/tokenizer.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/npy.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seqrec::data {

struct ItemFeatures {
  index_t num_items = 0;       // rows 1..num_items are the dataset's dense item ids
  index_t dim = 0;             // F, features per item
  std::vector<double> values;  // [(num_items + 1) * dim], row-major; row 0 (padding) is zeros
  index_t extra_rows = 0;      // rows of the file whose ids the dataset does not have (skipped: allow_extra)
  std::string dtype;           // the features file's dtype, "float32" or "float64"
  std::string source;          // the features file, for messages
  std::string ids_source;      // the ids file

  index_t rows() const { return num_items + 1; }
  double at(id_t item, index_t k) const {
    SEQREC_REQUIRE_INDEX(item, rows(), "item id");
    SEQREC_REQUIRE_INDEX(k, dim, "feature column");
    return values[static_cast<std::size_t>(item * dim + k)];
  }

  // The features as a [(num_items + 1), dim] view of Space (converted to T on the host, then copied). Fences.
  template <Scalar T, ExecutionSpace Space>
  View2<T, Space> to_device(const Space& space, std::string_view label = "item_features") const {
    auto out = make_uninitialized<View2<T, Space>>(space, label, rows(), dim);
    auto host = Kokkos::create_mirror_view(out);
    for (index_t r = 0; r < rows(); ++r)
      for (index_t k = 0; k < dim; ++k) host(r, k) = static_cast<T>(values[static_cast<std::size_t>(r * dim + k)]);
    Kokkos::deep_copy(space, out, host);
    space.fence();  // `host` goes out of scope here
    return out;
  }
};

// Where the ids of a features file are by default: `<dir>/<stem>.ids.npy` beside `<dir>/<stem>.npy`.
inline std::filesystem::path default_item_feature_ids_path(const std::filesystem::path& features_npy) {
  return features_npy.parent_path() / (features_npy.stem().string() + ".ids.npy");
}

namespace detail {

template <class T>
using HostMatrix = Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace>;
template <class T>
using HostVector = Kokkos::View<T*, Kokkos::LayoutRight, Kokkos::HostSpace>;

template <class T>
std::vector<double> feature_rows_as_double(std::string_view bytes, std::string_view source) {
  const auto m = parse_npy<HostMatrix<T>>(bytes, source, "item_features_file");
  std::vector<double> out(m.size());
  for (std::size_t i = 0; i < m.extent(0); ++i)
    for (std::size_t k = 0; k < m.extent(1); ++k) out[i * m.extent(1) + k] = static_cast<double>(m(i, k));
  return out;
}

template <class T>
std::vector<std::int64_t> ids_as_int64(std::string_view bytes, std::string_view source) {
  const auto v = parse_npy<HostVector<T>>(bytes, source, "item_feature_ids_file");
  std::vector<std::int64_t> out(v.extent(0));
  for (std::size_t i = 0; i < v.extent(0); ++i) out[i] = static_cast<std::int64_t>(v(i));
  return out;
}

}  // namespace detail

// Reads features_npy and its ids (ids_npy, or the default path above) and aligns the rows with `items`, an
// IdMap whose dense ids start at 1 (Interactions::items). With allow_extra, rows whose ids `items` does not have
// are skipped and counted in extra_rows instead of throwing.
inline ItemFeatures read_item_features(const std::filesystem::path& features_npy, const IdMap& items,
                                       std::optional<std::filesystem::path> ids_npy = {}, bool allow_extra = false) {
  namespace fs = std::filesystem;
  SEQREC_REQUIRE(items.base() == 1, "read_item_features: the item IdMap's dense ids must start at 1 (row 0 is ",
                 "the padding item), got base ", items.base());
  const std::string src = features_npy.string();
  const fs::path ids_path = ids_npy ? *ids_npy : default_item_feature_ids_path(features_npy);
  const std::string ids_src = ids_path.string();
  std::error_code ec;
  if (!ids_npy && !fs::exists(ids_path, ec))
    SEQREC_THROW(Errc::io, src, ": its item ids file '", ids_src,
                 "' (the default: <features stem>.ids.npy) does not exist; pass the ids file explicitly");

  // Features: [N, F] of float32 or float64.
  const std::string fbytes = detail::read_file(features_npy);
  const NpyHeader fh = parse_npy_header(fbytes, src);
  if (fh.descr != "<f4" && fh.descr != "<f8")
    SEQREC_THROW(Errc::invalid_argument, src, ": dtype: expected '<f4' (float32) or '<f8' (float64), got ",
                 detail::show_descr(fh.descr));
  if (fh.rank() != 2)
    SEQREC_THROW(Errc::shape_mismatch, src, ": rank: expected 2 ([items, features]), got ", fh.rank(), " (shape ",
                 seqrec::detail::shape_string(fh.shape), ")");
  if (fh.shape[1] == 0)
    SEQREC_THROW(Errc::shape_mismatch, src, ": shape: expected at least one feature column, got ",
                 seqrec::detail::shape_string(fh.shape));
  const std::size_t n = static_cast<std::size_t>(fh.shape[0]), dim = static_cast<std::size_t>(fh.shape[1]);

  // Ids: [N] of int32 or int64.
  const std::string ibytes = detail::read_file(ids_path);
  const NpyHeader ih = parse_npy_header(ibytes, ids_src);
  if (ih.descr != "<i4" && ih.descr != "<i8")
    SEQREC_THROW(Errc::invalid_argument, ids_src, ": dtype: expected '<i4' (int32) or '<i8' (int64), got ",
                 detail::show_descr(ih.descr));
  if (ih.rank() != 1)
    SEQREC_THROW(Errc::shape_mismatch, ids_src, ": rank: expected 1 ([items]), got ", ih.rank(), " (shape ",
                 seqrec::detail::shape_string(ih.shape), ")");
  if (ih.shape[0] != fh.shape[0])
    SEQREC_THROW(Errc::shape_mismatch, ids_src, ": ids count: expected ", fh.shape[0], " (one per row of ", src,
                 ", shape ", seqrec::detail::shape_string(fh.shape), "), got ", ih.shape[0]);

  const std::vector<double> file_values = fh.descr == "<f4" ? detail::feature_rows_as_double<float>(fbytes, src)
                                                            : detail::feature_rows_as_double<double>(fbytes, src);
  const std::vector<std::int64_t> ids = ih.descr == "<i4" ? detail::ids_as_int64<std::int32_t>(ibytes, ids_src)
                                                          : detail::ids_as_int64<std::int64_t>(ibytes, ids_src);

  // A NaN row would poison every score it reaches; checked over the whole file, used rows or not, since it
  // means the encoder that wrote it went wrong.
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < dim; ++k)
      if (!std::isfinite(file_values[i * dim + k]))
        SEQREC_THROW(Errc::numeric, src, ": non-finite value ", file_values[i * dim + k], " at row ", i, " (item id ",
                     ids[i], "), column ", k, ": expected finite features");

  ItemFeatures out;
  out.num_items = items.size();
  out.dim = static_cast<index_t>(dim);
  out.dtype = fh.descr == "<f4" ? "float32" : "float64";
  out.source = src;
  out.ids_source = ids_src;
  out.values.assign(static_cast<std::size_t>(out.rows()) * dim, 0.0);

  std::unordered_map<std::int64_t, std::size_t> first_row;  // original id -> row of the file
  first_row.reserve(n);
  std::vector<bool> filled(static_cast<std::size_t>(out.rows()), false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto [it, added] = first_row.try_emplace(ids[i], i);
    if (!added)
      SEQREC_THROW(Errc::invalid_argument, ids_src, ": duplicate id ", ids[i], " at rows ", it->second, " and ", i,
                   ": expected each item once");
    const id_t dense = items.find(ids[i]);
    if (dense < 0) {
      if (!allow_extra)
        SEQREC_THROW(Errc::out_of_range, ids_src, ": extra id ", ids[i], " at row ", i,
                     ": the dataset has no such item (", items.size(), " items); pass allow_extra to skip such rows");
      ++out.extra_rows;
      continue;
    }
    filled[static_cast<std::size_t>(dense)] = true;
    std::copy_n(file_values.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                out.values.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(dense) * dim));
  }

  index_t missing = 0;
  id_t first_missing = 0;
  for (id_t d = 1; d < out.rows(); ++d)
    if (!filled[static_cast<std::size_t>(d)] && missing++ == 0) first_missing = d;
  if (missing > 0)
    SEQREC_THROW(Errc::out_of_range, src, ": missing id ", items.original(first_missing), " (dense item ",
                 first_missing, "): expected a row for each of the dataset's ", items.size(), " items, ", missing,
                 " have none (ids from ", ids_src, ")");
  return out;
}

}  // namespace seqrec::data
