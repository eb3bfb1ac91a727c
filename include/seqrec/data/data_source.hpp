// A dataset as a person names it on a command line -> Interactions: the file or folder, the format name (or
// none, when the file's name says it), a delimiter name and a weight transform. The tools' --data, --format,
// --delimiter and --weights options are thin wrappers over this header.
//
//   resolve_data_path("ml-100k")          a folder resolves to the known file it holds (u.data, ratings.dat,
//                                         user_artists.dat: readers.hpp's known_data_files, in that order)
//   choose_format(file, "sasrec", infer)  the named format, or the known file's when the user named none
//   choose_delimiter(format, "tab")       the delimiter, or a clear error where the format has its own
//   read_data_source(request)             all of it, plus notes for stderr (what was inferred, and why)
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/weight_transform.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace seqrec::data {

// A --data argument -> a file: the path as given when it exists or is absolute, else under data_root() (as
// resolve_data_file). A folder resolves to the first known dataset file in it; a folder with none of them
// throws Errc::io naming the folder and the files looked for.
inline std::filesystem::path resolve_data_path(std::string_view arg) {
  namespace fs = std::filesystem;
  SEQREC_REQUIRE(!arg.empty(), "empty data path; expected a file or folder, absolute or under the data root '",
                 data_root().string(), "'");
  fs::path path(arg);
  std::error_code ec;
  if (!path.is_absolute() && !fs::exists(path, ec)) {
    const fs::path root = data_root();
    path = root / arg;
    if (!fs::exists(path, ec))
      SEQREC_THROW(Errc::io, "data '", arg, "' not found: neither '", arg, "' nor '", path.string(),
                   "' exists (data root '", root.string(),
                   "'; set SEQREC_DATA to the folder that holds ml-100k/, games/, beauty/ and lastfm-2k/)");
  }
  if (!fs::is_directory(path, ec)) return path;
  std::string looked_for;
  for (const KnownDataFile& k : known_data_files) {
    if (fs::is_regular_file(path / k.file_name, ec)) return path / k.file_name;
    looked_for += (looked_for.empty() ? "" : ", ") + std::string(k.file_name) + " (" + std::string(k.dataset) + ")";
  }
  SEQREC_THROW(Errc::io, "data folder '", path.string(), "' holds none of the files a folder resolves to: expected ",
               looked_for, "; name the file itself");
}

// The delimiter to read `format` with: its own when `typed` is empty, else parse_delimiter(typed). Only csv
// (and tsv) take any delimiter; the other formats accept theirs (ml-1m "::", lastfm a tab, and a space or tab
// for the whitespace formats) and refuse the rest, since they would not read the file differently.
inline std::string choose_delimiter(const FormatName& format, std::string_view typed) {
  if (typed.empty()) return std::string(format.delimiter);
  std::string d = parse_delimiter(typed);
  if (format.format == Format::delimited || d == format.delimiter) return d;
  if (format.delimiter.empty() && (d == " " || d == "\t")) return std::string(format.delimiter);
  SEQREC_THROW(Errc::invalid_argument, "delimiter ", detail::show(d), " does not apply to format ",
               to_string(format.format), ", which is ",
               format.delimiter.empty() ? std::string("separated by spaces or tabs")
                                        : "separated by " + detail::show(format.delimiter),
               "; for another layout use format csv with that delimiter");
}

// The format to read `file` with: find_format(name), or, when `infer` (the user did not choose one), the
// format of a known dataset file of that name (u.data: ml-100k, ratings.dat: ml-1m, user_artists.dat: lastfm).
inline FormatName choose_format(const std::filesystem::path& file, std::string_view name, bool infer) {
  const FormatName named = find_format(name);
  if (infer)
    if (const auto known = known_data_file(file)) return find_format(to_string(known->format));
  return named;
}

// What a tool was asked to read.
struct DataRequest {
  std::string data;           // a file or a folder (resolve_data_path)
  std::string format;         // a format name or alias (find_format)
  bool infer_format = false;  // the format was not chosen by the user: a known file name overrides it
  std::string delimiter;      // "" = the format's own (choose_delimiter)
  WeightTransform weights = WeightTransform::raw;
};

struct DataSource {
  Interactions interactions;
  std::filesystem::path path;      // the file read
  Format format = Format::sasrec;  // the format it was read with
  std::vector<std::string> notes;  // what was inferred and what the caller should know, one line each
};

// Resolves, picks the format, applies the delimiter, reads and transforms the weights. `options` supplies
// the reader's other settings (header, columns, ranges, keep_file_order); its delimiter is replaced.
inline DataSource read_data_source(const DataRequest& request, ReadOptions options = {}) {
  DataSource out;
  out.path = resolve_data_path(request.data);
  if (request.data != out.path.string() && std::filesystem::path(request.data).filename() != out.path.filename())
    out.notes.push_back("data '" + request.data + "' is a folder: reading " + out.path.string());
  const FormatName format = choose_format(out.path, request.format, request.infer_format);
  if (const auto known = known_data_file(out.path); known && format.format != find_format(request.format).format) {
    out.notes.push_back("format " + std::string(format.name) + " from the file name (" + std::string(known->dataset) +
                        "'s " + std::string(known->file_name) + "); name a format to read it otherwise");
  }
  out.format = format.format;
  const std::string delimiter = choose_delimiter(format, request.delimiter);
  if (format.format == Format::delimited) options.delimiter = delimiter;
  out.interactions = read(out.path, format.format, options);
  transform_weights(out.interactions, request.weights);
  if (!out.interactions.has_time && (format.format == Format::lastfm || format.format == Format::delimited))
    out.notes.push_back(std::string(to_string(format.format)) +
                        " data without timestamps: each user's rows keep file order, so leave-one-out holds out "
                        "the last rows listed");
  return out;
}

}  // namespace seqrec::data
