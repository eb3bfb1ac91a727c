// Checkpoints: every parameter, the optimizer's moments and step count, and the training position (epoch,
// random streams used), in a versioned little-endian binary format with names, shapes and scalar type
// checked on load and a checksum over the whole file. Written atomically (temporary file, fsync, rename),
// so a crash leaves the previous checkpoint intact. Resuming on Serial continues bit for bit.
//
// Layout (version 1):
//   "SEQRECCK" u32 version u32 sizeof(scalar) i64 epoch u64 seed u64 streams_used i64 optimizer_steps u64 count
//   count x { u32 name_len, name, u32 rank, rank x i64 extent, value[], m[], v[] }   (m, v empty without Adam)
//   u64 FNV-1a checksum of everything before it
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/train/adam.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::train {

struct CheckpointState {
  std::int64_t epoch = 0;          // epochs completed
  std::uint64_t seed = 0;          // RandomSource::seed() of the model
  std::uint64_t streams_used = 0;  // RandomSource::streams_used() of the model
};

namespace detail {
inline constexpr char kMagic[8] = {'S', 'E', 'Q', 'R', 'E', 'C', 'C', 'K'};
inline constexpr std::uint32_t kVersion = 1;

inline std::uint64_t fnv1a(const char* data, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ull;
  return h;
}

class Writer {
 public:
  template <class X>
  void put(const X& x) {
    buf_.append(reinterpret_cast<const char*>(&x), sizeof(X));
  }
  void put_bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
  std::string& buffer() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(std::string data, std::string path) : data_(std::move(data)), path_(std::move(path)) {}
  template <class X>
  X get(const char* what) {
    X x;
    get_bytes(&x, sizeof(X), what);
    return x;
  }
  void get_bytes(void* p, std::size_t n, const char* what) {
    SEQREC_REQUIRE_CODE(pos_ + n <= data_.size(), Errc::parse, path_, ": truncated checkpoint while reading ", what,
                        " at byte ", pos_);
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
  }
  std::size_t pos() const { return pos_; }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
  std::string path_;
  std::size_t pos_ = 0;
};

template <class V>
void put_view(Writer& w, const V& v) {
  const auto h = to_host(v);
  w.put_bytes(h.data(), h.size() * sizeof(typename V::value_type));
}

template <class V>
void get_view(Reader& r, const V& v, const char* what) {
  auto h = Kokkos::create_mirror_view(v);
  r.get_bytes(h.data(), h.size() * sizeof(typename V::value_type), what);
  Kokkos::deep_copy(v, h);
}
}  // namespace detail

// Writes parameters (and Adam's state when `adam` is not null) to `path` atomically.
template <Scalar T, ExecutionSpace Space>
void save_checkpoint(const std::filesystem::path& path, const ParameterSet<T, Space>& params,
                     const std::type_identity_t<Adam<T, Space>>* adam, const CheckpointState& state) {
  detail::Writer w;
  w.put_bytes(detail::kMagic, sizeof(detail::kMagic));
  w.put(detail::kVersion);
  w.put(std::uint32_t(sizeof(T)));
  w.put(state.epoch);
  w.put(state.seed);
  w.put(state.streams_used);
  w.put(std::int64_t(adam ? adam->steps() : -1));
  w.put(std::uint64_t(params.size()));
  std::size_t i = 0;
  for (const auto& p : params) {
    w.put(std::uint32_t(p.name().size()));
    w.put_bytes(p.name().data(), p.name().size());
    w.put(std::uint32_t(p.rank()));
    for (auto e : p.shape()) w.put(std::int64_t(e));
    detail::put_view(w, p.value());
    if (adam) {
      detail::put_view(w, adam->first_moments()[i]);
      detail::put_view(w, adam->second_moments()[i]);
    }
    ++i;
  }
  const std::uint64_t sum = detail::fnv1a(w.buffer().data(), w.buffer().size());
  w.put(sum);
  write_file_atomic(path, std::string_view(w.buffer()));
}

// Reads a checkpoint into `params` (and `adam`), checking format, scalar type, names and shapes; throws
// Errc::parse / Errc::shape_mismatch naming what differs. Nothing is modified unless everything checks.
template <Scalar T, ExecutionSpace Space>
CheckpointState load_checkpoint(const std::filesystem::path& path, const ParameterSet<T, Space>& params,
                                std::type_identity_t<Adam<T, Space>>* adam) {
  std::ifstream in(path, std::ios::binary);
  SEQREC_REQUIRE_CODE(in.good(), Errc::io, "cannot open checkpoint '", path.string(), "'");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string where = path.string();
  SEQREC_REQUIRE_CODE(data.size() >= sizeof(detail::kMagic) + 8, Errc::parse, where, ": not a seqrec checkpoint (",
                      data.size(), " bytes)");
  std::uint64_t stored = 0;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  SEQREC_REQUIRE_CODE(std::memcmp(data.data(), detail::kMagic, sizeof(detail::kMagic)) == 0, Errc::parse, where,
                      ": not a seqrec checkpoint (bad magic)");
  SEQREC_REQUIRE_CODE(detail::fnv1a(data.data(), data.size() - 8) == stored, Errc::parse, where,
                      ": checksum mismatch (the file is corrupt or truncated)");
  detail::Reader r(data.substr(0, data.size() - 8), where);
  char magic[8];
  r.get_bytes(magic, 8, "magic");
  const auto version = r.get<std::uint32_t>("version");
  SEQREC_REQUIRE_CODE(version == detail::kVersion, Errc::parse, where, ": checkpoint version ", version,
                      ", this seqrec reads version ", detail::kVersion);
  const auto scalar = r.get<std::uint32_t>("scalar size");
  SEQREC_REQUIRE_CODE(scalar == sizeof(T), Errc::parse, where, ": checkpoint holds ", scalar == 4 ? "float" : "double",
                      " parameters, the model is ", sizeof(T) == 4 ? "float" : "double");
  CheckpointState state;
  state.epoch = r.get<std::int64_t>("epoch");
  state.seed = r.get<std::uint64_t>("seed");
  state.streams_used = r.get<std::uint64_t>("streams");
  const auto steps = r.get<std::int64_t>("optimizer steps");
  SEQREC_REQUIRE_CODE(!adam || steps >= 0, Errc::parse, where, ": checkpoint has no optimizer state to resume");
  const auto count = r.get<std::uint64_t>("parameter count");
  SEQREC_REQUIRE_EQ(count, std::uint64_t(params.size()), where + ": number of parameters");
  // First pass: check every name and shape; second pass: copy.
  const std::size_t start = r.pos();
  for (int pass = 0; pass < 2; ++pass) {
    detail::Reader rr(r.data(), where);
    std::vector<char> skip(start);
    rr.get_bytes(skip.data(), start, "header");
    std::size_t i = 0;
    for (const auto& p : params) {
      const auto len = rr.get<std::uint32_t>("name length");
      SEQREC_REQUIRE_CODE(len < 4096, Errc::parse, where, ": implausible name length ", len);
      std::string name(len, '\0');
      rr.get_bytes(name.data(), len, "name");
      SEQREC_REQUIRE_CODE(name == p.name(), Errc::shape_mismatch, where, ": parameter ", i, " is '", name,
                          "' in the checkpoint, '", p.name(), "' in the model");
      const auto rank = rr.get<std::uint32_t>("rank");
      std::vector<index_t> shape(rank);
      for (auto& e : shape) e = rr.get<std::int64_t>("extent");
      SEQREC_REQUIRE_CODE(shape == p.shape(), Errc::shape_mismatch, where, ": parameter '", name, "' has shape ",
                          seqrec::detail::shape_string(shape), " in the checkpoint, ",
                          seqrec::detail::shape_string(p.shape()), " in the model");
      if (pass == 0) {
        const std::size_t bytes = std::size_t(p.size()) * sizeof(T) * (steps >= 0 ? 3 : 1);
        std::vector<char> data_bytes(bytes);
        rr.get_bytes(data_bytes.data(), bytes, "values");
      } else {
        detail::get_view(rr, p.value(), "values");
        if (steps >= 0) {
          if (adam) {
            detail::get_view(rr, adam->first_moments()[i], "first moments");
            detail::get_view(rr, adam->second_moments()[i], "second moments");
          } else {
            std::vector<char> moments(std::size_t(p.size()) * sizeof(T) * 2);
            rr.get_bytes(moments.data(), moments.size(), "moments");
          }
        }
      }
      ++i;
    }
    SEQREC_REQUIRE_CODE(rr.pos() == rr.data().size(), Errc::parse, where, ": ", rr.data().size() - rr.pos(),
                        " unexpected trailing bytes");
  }
  if (adam) adam->set_steps(steps);
  return state;
}

}  // namespace seqrec::train
