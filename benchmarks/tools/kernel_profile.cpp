// A Kokkos tools library that times every kernel, deep copy and fence of a run, with global fencing asked
// of Kokkos so that a kernel's time is its launch plus its execution on any backend (CUDA included):
//
//   KOKKOS_PROFILE_LIBRARY=build/lib/libseqrec-kernel-profile.so build/bin/seqrec-train ... --epochs 2
//
// At exit it writes one JSON line per kernel name (by time, then the totals) to $SEQREC_PROFILE_OUT or,
// unset, stderr: {"profile":"kernel","name":..,"kind":"for|reduce|scan","count":..,"seconds":..}, then
// {"profile":"total","kernels":..,"kernel_seconds":..,"deep_copies":..,"deep_copy_seconds":..,"fences":..}.
// Fencing serialises the run, so the sum is an upper bound on the kernels' share of the wall time; the
// counts are exact and tell how many launches a training step costs.
#include <impl/Kokkos_Profiling_C_Interface.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
  std::string kind;
  std::uint64_t count = 0;
  double seconds = 0;
};

struct Open {
  std::string key;
  Clock::time_point start;
};

std::mutex mutex;
std::unordered_map<std::string, Entry> kernels;
std::unordered_map<std::uint64_t, Open> open;
std::uint64_t next_id = 1, deep_copies = 0, fences = 0;
double deep_copy_seconds = 0;
Clock::time_point deep_copy_start;

void begin(const char* kind, const char* name, std::uint64_t* id) {
  std::lock_guard<std::mutex> lock(mutex);
  *id = next_id++;
  std::string key = std::string(kind) + '\t' + name;
  open[*id] = {std::move(key), Clock::now()};
}

void end(std::uint64_t id) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = open.find(id);
  if (it == open.end()) return;
  const auto tab = it->second.key.find('\t');
  Entry& e = kernels[it->second.key];
  e.kind = it->second.key.substr(0, tab);
  ++e.count;
  e.seconds += std::chrono::duration<double>(now - it->second.start).count();
  open.erase(it);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

extern "C" {

void kokkosp_request_tool_settings(const uint32_t, Kokkos_Tools_ToolSettings* settings) {
  settings->requires_global_fencing = true;
}

void kokkosp_init_library(const int, const uint64_t, const uint32_t, Kokkos_Profiling_KokkosPDeviceInfo*) {}

void kokkosp_begin_parallel_for(const char* name, const uint32_t, uint64_t* id) { begin("for", name, id); }
void kokkosp_end_parallel_for(const uint64_t id) { end(id); }
void kokkosp_begin_parallel_reduce(const char* name, const uint32_t, uint64_t* id) { begin("reduce", name, id); }
void kokkosp_end_parallel_reduce(const uint64_t id) { end(id); }
void kokkosp_begin_parallel_scan(const char* name, const uint32_t, uint64_t* id) { begin("scan", name, id); }
void kokkosp_end_parallel_scan(const uint64_t id) { end(id); }

void kokkosp_begin_deep_copy(Kokkos_Profiling_SpaceHandle, const char*, const void*, Kokkos_Profiling_SpaceHandle,
                             const char*, const void*, uint64_t) {
  std::lock_guard<std::mutex> lock(mutex);
  ++deep_copies;
  deep_copy_start = Clock::now();
}
void kokkosp_end_deep_copy() {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex);
  deep_copy_seconds += std::chrono::duration<double>(now - deep_copy_start).count();
}

void kokkosp_begin_fence(const char*, const uint32_t, uint64_t* id) {
  std::lock_guard<std::mutex> lock(mutex);
  ++fences;
  *id = 0;
}
void kokkosp_end_fence(const uint64_t) {}

void kokkosp_finalize_library() {
  std::lock_guard<std::mutex> lock(mutex);
  FILE* out = stderr;
  if (const char* path = std::getenv("SEQREC_PROFILE_OUT"); path && *path) {
    if (FILE* f = std::fopen(path, "w")) out = f;
  }
  std::vector<std::pair<std::string, Entry>> rows(kernels.begin(), kernels.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  std::uint64_t launches = 0;
  double total = 0;
  for (const auto& [key, e] : rows) {
    launches += e.count;
    total += e.seconds;
    std::fprintf(out, "{\"profile\":\"kernel\",\"name\":\"%s\",\"kind\":\"%s\",\"count\":%llu,\"seconds\":%.6f}\n",
                 json_escape(key.substr(key.find('\t') + 1)).c_str(), e.kind.c_str(),
                 static_cast<unsigned long long>(e.count), e.seconds);
  }
  std::fprintf(out,
               "{\"profile\":\"total\",\"kernels\":%llu,\"kernel_seconds\":%.6f,\"deep_copies\":%llu,"
               "\"deep_copy_seconds\":%.6f,\"fences\":%llu}\n",
               static_cast<unsigned long long>(launches), total, static_cast<unsigned long long>(deep_copies),
               deep_copy_seconds, static_cast<unsigned long long>(fences));
  if (out != stderr) std::fclose(out);
}

}  // extern "C"
