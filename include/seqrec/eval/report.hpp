// Reporting evaluation results (host only): MetricSet as JSON, JSON lines to a stream, a human table that
// compares rows (seqrec against a paper's reference numbers, with the difference), and an atomic file writer
// so a report file is either the old one or the complete new one, never half written.
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/eval/metrics.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seqrec::eval {

// ------------------------------------------------------------------------------------ JSON

// {"protocol": ..., "users": n, ..., "metrics": {"HR@10": ..., ...}}. Found by nlohmann's ADL, so
// `nlohmann::json j = metric_set;` works.
inline void to_json(nlohmann::json& j, const MetricSet& m) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : m.named()) metrics[name] = value;
  j = nlohmann::json{{"protocol", m.protocol},
                     {"users", m.count},
                     {"eligible_users", m.eligible_users},
                     {"user_sample", m.user_sample},
                     {"metrics", std::move(metrics)}};
  if (m.user_sample) j["user_seed"] = m.user_seed;
  if (m.candidates > 0) {
    j["candidates"] = m.candidates;
    j["candidate_seed"] = m.candidate_seed;
  }
  j["nan_scores"] = m.nan_scores;
}

inline nlohmann::json metrics_json(const MetricSet& m) { return nlohmann::json(m); }

// One compact JSON document and a newline (the JSON lines format), flushed so a crash loses nothing written.
inline void write_json_line(std::ostream& os, const nlohmann::json& j) {
  os << j.dump() << '\n';
  os.flush();
  SEQREC_REQUIRE_CODE(os.good(), Errc::io, "write_json_line: the stream failed");
}

// ------------------------------------------------------------------------------------ comparison table

// Rows of named values (a MetricSet, or a paper's published numbers), printed as an aligned text table with
// one column per metric and, after the rows, one "A - ref" row per row A for the reference row `ref`.
class SummaryTable {
 public:
  using Values = std::vector<std::pair<std::string, double>>;

  // Columns to show, e.g. {"HR@10", "NDCG@10"}; empty: every metric of the first row added.
  explicit SummaryTable(std::vector<std::string> columns = {}, int precision = 4)
      : columns_(std::move(columns)), precision_(precision) {}

  SummaryTable& add(std::string name, const MetricSet& m) { return add(std::move(name), m.named()); }
  SummaryTable& add(std::string name, Values values) {
    if (columns_.empty())
      for (const auto& kv : values) columns_.push_back(kv.first);
    rows_.push_back({std::move(name), std::move(values)});
    return *this;
  }
  // The row the others are compared with (by name; it must have been added before print()).
  SummaryTable& reference(std::string name) {
    reference_ = std::move(name);
    return *this;
  }

  void print(std::ostream& os) const {
    const Row* ref = nullptr;
    if (reference_) {
      for (const auto& r : rows_)
        if (r.name == *reference_) ref = &r;
      SEQREC_REQUIRE(ref != nullptr, "SummaryTable: no row named '", *reference_, "' to compare with");
    }
    std::vector<std::vector<std::string>> cells;  // first column: the row's name
    std::vector<std::string> header{"system"};
    header.insert(header.end(), columns_.begin(), columns_.end());
    cells.push_back(header);
    for (const auto& r : rows_) {
      std::vector<std::string> line{r.name};
      for (const auto& c : columns_) line.push_back(format(r.find(c), false));
      cells.push_back(std::move(line));
    }
    if (ref != nullptr)
      for (const auto& r : rows_) {
        if (&r == ref) continue;
        std::vector<std::string> line{r.name + " - " + ref->name};
        for (const auto& c : columns_) {
          const auto a = r.find(c), b = ref->find(c);
          line.push_back(format(a && b ? std::optional<double>(*a - *b) : std::nullopt, true));
        }
        cells.push_back(std::move(line));
      }
    std::vector<std::size_t> width(header.size(), 0);
    for (const auto& line : cells)
      for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
    auto print_line = [&](const std::vector<std::string>& line) {
      os << '|';
      for (std::size_t c = 0; c < line.size(); ++c)
        os << ' ' << (c == 0 ? std::left : std::right) << std::setw(static_cast<int>(width[c])) << line[c] << " |";
      os << '\n';
    };
    print_line(cells[0]);
    os << '|';
    for (std::size_t c = 0; c < width.size(); ++c) os << std::string(width[c] + 2, '-') << '|';
    os << '\n';
    for (std::size_t i = 1; i < cells.size(); ++i) print_line(cells[i]);
    os << std::left;
  }

  std::string str() const {
    std::ostringstream os;
    print(os);
    return os.str();
  }

 private:
  struct Row {
    std::string name;
    Values values;
    std::optional<double> find(const std::string& column) const {
      for (const auto& kv : values)
        if (kv.first == column) return kv.second;
      return std::nullopt;
    }
  };

  std::string format(std::optional<double> v, bool signed_value) const {
    if (!v) return "-";
    std::ostringstream os;
    os << std::fixed << std::setprecision(precision_) << (signed_value ? std::showpos : std::noshowpos) << *v;
    return os.str();
  }

  std::vector<std::string> columns_;
  std::vector<Row> rows_;
  std::optional<std::string> reference_;
  int precision_;
};

inline std::ostream& operator<<(std::ostream& os, const SummaryTable& t) {
  t.print(os);
  return os;
}

// Atomic file writes live in core (checkpoints use them too); report writers call them from here.
using seqrec::write_file_atomic;

}  // namespace seqrec::eval
