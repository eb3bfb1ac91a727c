// Where the real datasets live: one lookup for tests, examples and benchmarks, so nothing hard-codes a path.
//
//   data_root()               $SEQREC_DATA when set, else the first `../shared/data` found from the working
//                             directory upwards (the checkout sits beside shared/), else "../shared/data".
//   data_file("games/games.txt")   that file under data_root(); Errc::io naming both paths when it is missing.
//   resolve_data_file(arg)    a command line's --data: the path itself when it exists or is absolute, else
//                             data_file(arg).
#pragma once

#include <seqrec/core/error.hpp>

#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace seqrec::data {

inline std::filesystem::path data_root() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SEQREC_DATA"); env != nullptr && *env != '\0') return fs::path(env);
  const fs::path relative = fs::path("..") / "shared" / "data";
  // Tests run from build directories inside the checkout; walk up so they find the data beside it too.
  std::error_code ec;
  fs::path dir = fs::current_path(ec);
  while (!ec && !dir.empty()) {
    const fs::path candidate = dir / relative;
    std::error_code missing;
    if (fs::is_directory(candidate, missing)) return candidate.lexically_normal();
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return relative;
}

// True when `relative` exists under data_root() (tests skip real-data checks otherwise).
inline bool has_data_file(std::string_view relative) {
  std::error_code ec;
  return std::filesystem::is_regular_file(data_root() / relative, ec);
}

inline std::filesystem::path data_file(std::string_view relative) {
  const std::filesystem::path root = data_root();
  const std::filesystem::path path = root / relative;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    SEQREC_THROW(Errc::io, "data file '", path.string(), "' not found (data root '", root.string(),
                 "'; set SEQREC_DATA to the folder that holds ml-100k/, games/, beauty/ and lastfm-2k/)");
  return path;
}

inline std::filesystem::path resolve_data_file(std::string_view arg) {
  const std::filesystem::path path(arg);
  std::error_code ec;
  if (path.is_absolute() || std::filesystem::exists(path, ec)) return path;
  return data_file(arg);
}

}  // namespace seqrec::data
