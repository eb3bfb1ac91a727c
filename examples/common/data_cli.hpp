// The tools' data options (--data, --format, --delimiter, --weights), one definition for seqrec-complete,
// seqrec-data and seqrec-train. Only the CLI11 glue lives here: names, aliases, folder resolution and weight
// transforms are seqrec/data/data_source.hpp's, tested there.
//
//   seqrec::tools::DataOptions data;
//   seqrec::tools::add_data_options(app, data, /*with_weights=*/true);
//   ... CLI11_PARSE ...
//   const auto x = seqrec::tools::read_data(data);   // notes (inferred format, file order) on stderr
#pragma once

#include <seqrec/data/data_source.hpp>
#include <seqrec/data/readers.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace seqrec::tools {

struct DataOptions {
  std::string data = "games/games.txt";
  std::string format = "sasrec";
  std::string delimiter;        // "" = the format's default; accepts "tab", "\\t", "comma", ",", "::", ";", "space" ...
  std::string weights = "raw";  // raw | log1p | binary: a transform of the interaction weights
};

// --data, --format, --delimiter, and --weights only when with_weights (seqrec-train uses --weights for other
// things). Names are checked when read, so an unknown one gets the library's message with the full list.
inline void add_data_options(CLI::App& app, DataOptions& o, bool with_weights) {
  app.add_option("--data", o.data,
                 "data file or folder (a folder reads its u.data, ratings.dat or user_artists.dat), absolute or "
                 "relative to $SEQREC_DATA (default ../shared/data)")
      ->capture_default_str();
  app.add_option("--format", o.format,
                 "format of the file: " + seqrec::data::describe_formats() +
                     " (left at sasrec, a u.data / ratings.dat / user_artists.dat file takes its own)")
      ->capture_default_str();
  app.add_option("--delimiter", o.delimiter,
                 "csv field delimiter: a character or string (',', ';', '::'), or tab, comma, semicolon, space, "
                 "pipe, colons (default: the format's own)");
  if (with_weights)
    app.add_option("--weights", o.weights, "transform of the interaction weights: raw | log1p | binary")
        ->capture_default_str()
        ->check(CLI::IsMember({"raw", "log1p", "binary"}));
}

// Resolves, picks the format (left at its default, a known file name decides), applies the delimiter, reads
// and transforms the weights; the result says which file and format were read. What was inferred goes to
// stderr unless quiet. Errors are seqrec::Error.
inline seqrec::data::DataSource read_data_source(const DataOptions& o, seqrec::data::ReadOptions ro = {},
                                                 bool quiet = false) {
  seqrec::data::DataRequest request;
  request.data = o.data;
  request.format = o.format;
  request.infer_format = o.format == DataOptions{}.format;
  request.delimiter = o.delimiter;
  request.weights = seqrec::data::parse_weight_transform(o.weights);
  auto source = seqrec::data::read_data_source(request, ro);
  if (!quiet)
    for (const auto& note : source.notes) std::fprintf(stderr, "[data] %s\n", note.c_str());
  return source;
}

// The interactions alone.
inline seqrec::data::Interactions read_data(const DataOptions& o, seqrec::data::ReadOptions ro = {},
                                            bool quiet = false) {
  return std::move(read_data_source(o, ro, quiet).interactions);
}

}  // namespace seqrec::tools
