// Reader speed: seqrec::data::read on 1M-line files against pandas.read_csv (C engine) on the same files.
//
//   bench-data [--lines N] [--repeats R] [--file PATH --format NAME] [--no-peer] [--quick]
//
// Without --file it writes a SASRec-format file (`user item`, users contiguous) and a u.data-like file
// (`user\titem\trating\tts`, rows in random order) of N lines (default 1,000,000) to a temporary folder.
// Each reader runs R times (default 3) and the best time counts. seqrec's time covers reading the file,
// dense id maps and the chronological sort; pandas only parses into columns, so the comparison favours
// pandas. Prints one JSON line per file, then a short summary. --quick: 100,000 lines, best of 1 (smoke runs).
#include <seqrec/data/readers.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using seqrec::data::Format;

namespace {

struct Job {
  fs::path file;
  Format format;
  long lines = 0;
};

struct Result {
  Job job;
  double seconds = 0;
  std::optional<double> peer_seconds;
  std::string peer_note;
};

void append(std::string& s, long v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

// `user item`, users contiguous with 1..19 items each, as in SASRec's Games file.
std::string sasrec_text(long lines, std::mt19937_64& rng) {
  std::string s;
  s.reserve(static_cast<std::size_t>(lines) * 13);
  long user = 1, left = 0;
  for (long k = 0; k < lines; ++k) {
    if (left == 0) {
      left = 1 + static_cast<long>(rng() % 19);
      ++user;
    }
    --left;
    append(s, user);
    s += ' ';
    append(s, 1 + static_cast<long>(rng() % 50000));
    s += '\n';
  }
  return s;
}

// `user\titem\trating\ttimestamp` in random order, as in MovieLens' u.data.
std::string udata_text(long lines, std::mt19937_64& rng) {
  std::string s;
  s.reserve(static_cast<std::size_t>(lines) * 26);
  for (long k = 0; k < lines; ++k) {
    append(s, 1 + static_cast<long>(rng() % 70000));
    s += '\t';
    append(s, 1 + static_cast<long>(rng() % 10000));
    s += '\t';
    append(s, 1 + static_cast<long>(rng() % 5));
    s += '\t';
    append(s, 874724710 + static_cast<long>(rng() % 18561928));
    s += '\n';
  }
  return s;
}

double seqrec_seconds(const Job& job, int repeats) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto x = seqrec::data::read(job.file, job.format);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (x.size() <= 0) std::abort();
    best = std::min(best, s);
  }
  return best;
}

bool pandas_available() { return std::system("python3 -c 'import pandas' >/dev/null 2>&1") == 0; }

// pandas.read_csv on the same file; nullopt and a note when it cannot run.
std::optional<double> pandas_seconds(const Job& job, int repeats, const fs::path& dir, std::string& note) {
  std::string sep, names, header = "None";
  switch (job.format) {
    case Format::sasrec:
      sep = " ", names = "['user', 'item']";
      break;
    case Format::user_lines:
      note = "user-lines rows have varying widths: no read_csv equivalent";
      return std::nullopt;
    case Format::ml100k:
      sep = "\\t", names = "['user', 'item', 'rating', 'time']";
      break;
    case Format::ml1m:
      note = "pandas' C engine has no multi-character separator";
      return std::nullopt;
    case Format::delimited:
      sep = ",", names = "None", header = "0";
      break;
    case Format::lastfm:
      sep = "\\t", names = "None", header = "0";
      break;
  }
  const fs::path script = dir / "bench_pandas.py";
  std::ofstream(script) << "import sys, time\n"
                           "import pandas as pd\n"
                           "best = float('inf')\n"
                           "for _ in range("
                        << repeats
                        << "):\n"
                           "    t = time.perf_counter()\n"
                           "    df = pd.read_csv(sys.argv[1], sep='"
                        << sep << "', header=" << header << ", names=" << names
                        << ", engine='c')\n"
                           "    best = min(best, time.perf_counter() - t)\n"
                           "    assert len(df) > 0\n"
                           "print(best)\n";
  const std::string command = "python3 '" + script.string() + "' '" + job.file.string() + "'";
  std::FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    note = "could not start python3";
    return std::nullopt;
  }
  char buf[256] = {};
  const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  const int status = pclose(p);
  double seconds = 0;
  if (!got || status != 0 || std::sscanf(buf, "%lf", &seconds) != 1) {
    note = "pandas run failed";
    return std::nullopt;
  }
  return seconds;
}

void usage() {
  std::cerr << "usage: bench-data [--lines N] [--repeats R] [--file PATH --format sasrec|user-lines|ml-100k|ml-1m|csv]"
               " [--no-peer] [--quick]\n";
}

}  // namespace

int main(int argc, char** argv) {
  long lines = 1000000;
  int repeats = 3;
  bool peer = true;
  std::optional<fs::path> file;
  std::optional<Format> format;
  try {
    for (int a = 1; a < argc; ++a) {
      const std::string arg = argv[a];
      const auto value = [&]() -> std::string {
        if (a + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++a];
      };
      if (arg == "--lines")
        lines = std::stol(value());
      else if (arg == "--repeats")
        repeats = std::max(1, std::stoi(value()));
      else if (arg == "--file")
        file = value();
      else if (arg == "--format")
        format = seqrec::data::parse_format(value());
      else if (arg == "--no-peer")
        peer = false;
      else if (arg == "--quick")
        lines = 100000, repeats = 1;
      else if (arg == "--help" || arg == "-h")
        return usage(), 0;
      else
        throw std::invalid_argument("unknown argument " + arg);
    }
    if (file.has_value() != format.has_value()) throw std::invalid_argument("--file and --format go together");
  } catch (const std::exception& e) {
    std::cerr << "bench-data: " << e.what() << '\n';
    usage();
    return 2;
  }

  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("seqrec-bench-data-" + std::to_string(rd()));
  fs::create_directories(dir);
  std::vector<Job> jobs;
  try {
    if (file) {
      std::ifstream in(*file, std::ios::binary);
      if (!in) throw std::runtime_error("cannot open " + file->string());
      jobs.push_back({*file, *format, static_cast<long>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'))});
    } else {
      std::mt19937_64 rng(20261130);
      jobs.push_back({dir / "sasrec.txt", Format::sasrec, lines});
      std::ofstream(jobs.back().file, std::ios::binary) << sasrec_text(lines, rng);
      jobs.push_back({dir / "u.data", Format::ml100k, lines});
      std::ofstream(jobs.back().file, std::ios::binary) << udata_text(lines, rng);
    }

    const bool have_pandas = peer && pandas_available();
    std::vector<Result> results;
    for (const Job& job : jobs) {
      Result r{job, seqrec_seconds(job, repeats), std::nullopt, ""};
      if (!peer)
        r.peer_note = "peer disabled (--no-peer)";
      else if (!have_pandas)
        r.peer_note = "python3 with pandas not available (pip install pandas)";
      else
        r.peer_seconds = pandas_seconds(job, repeats, dir, r.peer_note);
      std::ostringstream js;
      js << "{\"bench\":\"read\",\"format\":\"" << seqrec::data::to_string(job.format) << "\",\"lines\":" << job.lines
         << ",\"bytes\":" << fs::file_size(job.file) << ",\"seconds\":" << r.seconds << ",\"peer\":\"pandas\"";
      if (r.peer_seconds)
        js << ",\"peer_seconds\":" << *r.peer_seconds << ",\"ratio\":" << *r.peer_seconds / r.seconds;
      else
        js << ",\"peer_seconds\":null,\"ratio\":null,\"peer_note\":\"" << r.peer_note << '"';
      js << '}';
      std::cout << js.str() << std::endl;
      results.push_back(r);
    }

    std::cout << "\nread " << (file ? file->string() : std::to_string(lines) + "-line generated files") << ", best of "
              << repeats << ":\n";
    for (const Result& r : results) {
      std::printf("  %-8s %9.1f ms  %6.1f M lines/s", std::string(seqrec::data::to_string(r.job.format)).c_str(),
                  r.seconds * 1e3, static_cast<double>(r.job.lines) / r.seconds / 1e6);
      if (r.peer_seconds)
        std::printf("   pandas %7.1f ms   seqrec is %.2fx %s\n", *r.peer_seconds * 1e3,
                    std::max(*r.peer_seconds / r.seconds, r.seconds / *r.peer_seconds),
                    *r.peer_seconds >= r.seconds ? "faster" : "slower");
      else
        std::printf("   pandas: %s\n", r.peer_note.c_str());
    }
    std::cout << "  (seqrec includes dense id maps and the chronological sort; pandas only parses)\n";
  } catch (const std::exception& e) {
    std::cerr << "bench-data: " << e.what() << '\n';
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 1;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
