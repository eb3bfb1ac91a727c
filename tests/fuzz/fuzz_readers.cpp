// libFuzzer harness for every reader: any seqrec::Error is a correct answer to bad input; any other exception,
// a crash or a sanitizer report is a bug. Built and run by scripts/fuzz.sh.
//
// The reader under test is $SEQREC_FUZZ_TARGET (one of kTargets' names); unset, the first input byte picks it.
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/readers.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

namespace {

using seqrec::data::Format;
using seqrec::data::Interactions;
using seqrec::data::ReadOptions;

// Side-information readers need interactions to align with: users and items 1..64.
const Interactions& interactions() {
  static const Interactions x = [] {
    std::string text;
    for (int k = 1; k <= 64; ++k) text += std::to_string(k) + ' ' + std::to_string(65 - k) + '\n';
    return seqrec::data::parse_sasrec(text, "fuzz-interactions");
  }();
  return x;
}

// Checks what every successful read promises, so a wrong answer is caught as well as a crash.
void check(const Interactions& x) {
  const auto n = static_cast<std::size_t>(x.size());
  if (x.user.size() != n || x.item.size() != n || x.weight.size() != n || x.time.size() != n || n == 0) std::abort();
  for (std::size_t k = 0; k < n; ++k) {
    if (x.user[k] < 0 || x.user[k] >= x.num_users() || x.item[k] < 1 || x.item[k] > x.num_items()) std::abort();
    if (k > 0 && (x.user[k - 1] > x.user[k] || (x.user[k - 1] == x.user[k] && x.time[k - 1] > x.time[k]))) std::abort();
    if (x.weight[k] != x.weight[k]) std::abort();  // NaN
  }
}

void check(const seqrec::data::ItemAttributes& a) {
  if (a.num_items() != interactions().num_items()) std::abort();
  for (seqrec::id_t i = 0; i <= a.num_items(); ++i)
    for (auto v : a.of(i))
      if (v < 0 || v >= a.num_attributes()) std::abort();
}

void check(const seqrec::data::UserInfo& u) {
  if (static_cast<seqrec::index_t>(u.age.size()) != interactions().num_users()) std::abort();
  for (auto o : u.occupation)
    if (o < -1 || o >= static_cast<seqrec::id_t>(u.occupations.size())) std::abort();
}

void run(int target, std::string_view text) {
  const Interactions& x = interactions();
  switch (target) {
    case 0:
      return check(seqrec::data::parse(text, "fuzz", Format::sasrec));
    case 1:
      return check(seqrec::data::parse(text, "fuzz", Format::user_lines));
    case 2:
      return check(seqrec::data::parse(text, "fuzz", Format::ml100k));
    case 3:
      return check(seqrec::data::parse(text, "fuzz", Format::ml1m));
    case 4: {  // header, columns by name: user_artists.dat's layout, and a time column
      ReadOptions o;
      o.delimiter = '\t';
      o.user = "userID";
      o.item = "artistID";
      o.weight = "weight";
      return check(seqrec::data::parse(text, "fuzz", Format::delimited, o));
    }
    case 5: {  // comma, no header, columns by position, time column
      ReadOptions o;
      o.has_header = false;
      o.user = 1;
      o.item = 0;
      o.weight = 2;
      o.time = 3;
      return check(seqrec::data::parse(text, "fuzz", Format::delimited, o));
    }
    case 6:
      return check(seqrec::data::parse_item_attributes_json(text, "fuzz", x));
    case 7:
      return check(seqrec::data::parse_ml100k_items(text, "fuzz", x).genres);
    case 8:
      return check(seqrec::data::parse_ml100k_users(text, "fuzz", x));
    case 9:
      return check(seqrec::data::parse_ml1m_movies(text, "fuzz", x).genres);
    case 10:
      return check(seqrec::data::parse_ml1m_users(text, "fuzz", x));
    case 11:  // HetRec Last.fm's user_artists.dat: tab, header, play counts
      return check(seqrec::data::parse(text, "fuzz", Format::lastfm));
    case 12: {  // a multi-character delimiter ("::", as --delimiter colons), no header
      ReadOptions o;
      o.delimiter = "::";
      o.has_header = false;
      o.weight = 2;
      return check(seqrec::data::parse(text, "fuzz", Format::delimited, o));
    }
  }
}

constexpr const char* kTargets[] = {"sasrec",     "user-lines", "ml-100k",      "ml-1m",        "csv-header",
                                    "csv-plain",  "json",       "ml100k-items", "ml100k-users", "ml1m-movies",
                                    "ml1m-users", "lastfm",     "csv-colons"};
constexpr int kNumTargets = sizeof kTargets / sizeof kTargets[0];
int g_target = -1;  // from $SEQREC_FUZZ_TARGET, else chosen by the first byte

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* t = std::getenv("SEQREC_FUZZ_TARGET"); t != nullptr && *t != '\0') {
    for (int k = 0; k < kNumTargets; ++k)
      if (std::strcmp(t, kTargets[k]) == 0) g_target = k;
    if (g_target < 0) {
      std::fprintf(stderr, "fuzz_readers: unknown SEQREC_FUZZ_TARGET '%s'\n", t);
      std::abort();
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int target = g_target;
  if (target < 0) {
    if (size == 0) return 0;
    target = data[0] % kNumTargets;
    ++data;
    --size;
  }
  try {
    run(target, std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const seqrec::Error& e) {
    // The expected answer to malformed input, if it says where: "fuzz:<line>: ...".
    const std::string& m = e.message();
    std::size_t digits = 0;
    while (5 + digits < m.size() && m[5 + digits] >= '0' && m[5 + digits] <= '9') ++digits;
    if (e.code() != seqrec::Errc::parse || !m.starts_with("fuzz:") || digits == 0 ||
        m.compare(5 + digits, 2, ": ") != 0) {
      std::fprintf(stderr, "fuzz_readers: %s: error without a parse code or a 'fuzz:line: ' prefix: %s\n",
                   kTargets[target], e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_readers: %s threw a non-seqrec exception: %s\n", kTargets[target], e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz_readers: %s threw a non-std exception\n", kTargets[target]);
    std::abort();
  }
  return 0;
}
