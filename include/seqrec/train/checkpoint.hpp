// Checkpoints: every parameter, the optimizer's state buffers and step count, and the training position
// (epoch, random seed and streams used), in a versioned little-endian binary format with names, shapes and
// scalar type checked on load and a checksum over the whole file. Written atomically (temporary file,
// fsync, rename), so a crash leaves the previous checkpoint intact. Resuming on Serial continues bit for bit.
//
// Layout (version 1):
//   "SEQRECCK" u32 version u32 sizeof(scalar) i64 epoch u64 seed u64 streams_used u64 count
//   count x { u32 name_len, name, u32 rank, rank x i64 extent, value[] }
//   i64 optimizer_steps (-1: no optimizer state) u64 buffers  buffers x { u64 length, data[] }
//   u64 FNV-1a checksum of everything before it
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/optimizer.hpp>

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
  Reader(const std::string& data, std::string path) : data_(data), path_(std::move(path)) {}
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
  void skip(std::size_t n, const char* what) {
    SEQREC_REQUIRE_CODE(pos_ + n <= data_.size(), Errc::parse, path_, ": truncated checkpoint while reading ", what,
                        " at byte ", pos_);
    pos_ += n;
  }
  std::size_t pos() const { return pos_; }
  const std::string& data() const { return data_; }

 private:
  const std::string& data_;
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

// Writes parameters (and the optimizer's state when `optimizer` is not null) to `path` atomically.
template <Scalar T, ExecutionSpace Space, class Opt = Adam<T, Space>>
void save_checkpoint(const std::filesystem::path& path, const ParameterSet<T, Space>& params,
                     std::type_identity_t<const Opt*> optimizer, const CheckpointState& state) {
  detail::Writer w;
  w.put_bytes(detail::kMagic, sizeof(detail::kMagic));
  w.put(detail::kVersion);
  w.put(std::uint32_t(sizeof(T)));
  w.put(state.epoch);
  w.put(state.seed);
  w.put(state.streams_used);
  w.put(std::uint64_t(params.size()));
  for (const auto& p : params) {
    w.put(std::uint32_t(p.name().size()));
    w.put_bytes(p.name().data(), p.name().size());
    w.put(std::uint32_t(p.rank()));
    for (auto e : p.shape()) w.put(std::int64_t(e));
    detail::put_view(w, p.value());
  }
  w.put(std::int64_t(optimizer ? optimizer->steps() : -1));
  w.put(std::uint64_t(optimizer ? optimizer->state().size() : 0));
  if (optimizer)
    for (const auto& buf : optimizer->state()) {
      w.put(std::uint64_t(buf.extent(0)));
      detail::put_view(w, buf);
    }
  const std::uint64_t sum = detail::fnv1a(w.buffer().data(), w.buffer().size());
  w.put(sum);
  write_file_atomic(path, std::string_view(w.buffer()));
}

// Reads a checkpoint into `params` (and `optimizer`), checking format, scalar type, names, shapes and the
// optimizer's buffers; throws Errc::parse / Errc::shape_mismatch naming what differs. Nothing is modified
// unless everything checks.
template <Scalar T, ExecutionSpace Space, class Opt = Adam<T, Space>>
CheckpointState load_checkpoint(const std::filesystem::path& path, const ParameterSet<T, Space>& params,
                                std::type_identity_t<Opt*> optimizer) {
  std::ifstream in(path, std::ios::binary);
  SEQREC_REQUIRE_CODE(in.good(), Errc::io, "cannot open checkpoint '", path.string(), "'");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string where = path.string();
  SEQREC_REQUIRE_CODE(data.size() >= sizeof(detail::kMagic) + 8, Errc::parse, where, ": not a seqrec checkpoint (",
                      data.size(), " bytes)");
  SEQREC_REQUIRE_CODE(std::memcmp(data.data(), detail::kMagic, sizeof(detail::kMagic)) == 0, Errc::parse, where,
                      ": not a seqrec checkpoint (bad magic)");
  std::uint64_t stored = 0;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  SEQREC_REQUIRE_CODE(detail::fnv1a(data.data(), data.size() - 8) == stored, Errc::parse, where,
                      ": checksum mismatch (the file is corrupt or truncated)");
  data.resize(data.size() - 8);
  // Two passes over the same bytes: the first checks everything, the second copies.
  CheckpointState state;
  for (int pass = 0; pass < 2; ++pass) {
    const bool copy = pass == 1;
    detail::Reader r(data, where);
    char magic[8];
    r.get_bytes(magic, 8, "magic");
    const auto version = r.get<std::uint32_t>("version");
    SEQREC_REQUIRE_CODE(version == detail::kVersion, Errc::parse, where, ": checkpoint version ", version,
                        ", this seqrec reads version ", detail::kVersion);
    const auto scalar = r.get<std::uint32_t>("scalar size");
    SEQREC_REQUIRE_CODE(scalar == sizeof(T), Errc::parse, where, ": checkpoint holds ",
                        scalar == 4 ? "float" : "double", " parameters, the model is ",
                        sizeof(T) == 4 ? "float" : "double");
    state.epoch = r.get<std::int64_t>("epoch");
    state.seed = r.get<std::uint64_t>("seed");
    state.streams_used = r.get<std::uint64_t>("streams");
    const auto count = r.get<std::uint64_t>("parameter count");
    SEQREC_REQUIRE_EQ(count, std::uint64_t(params.size()), where + ": number of parameters");
    std::size_t i = 0;
    for (const auto& p : params) {
      const auto len = r.get<std::uint32_t>("name length");
      SEQREC_REQUIRE_CODE(len < 4096, Errc::parse, where, ": implausible name length ", len);
      std::string name(len, '\0');
      r.get_bytes(name.data(), len, "name");
      SEQREC_REQUIRE_CODE(name == p.name(), Errc::shape_mismatch, where, ": parameter ", i, " is '", name,
                          "' in the checkpoint, '", p.name(), "' in the model");
      const auto rank = r.get<std::uint32_t>("rank");
      SEQREC_REQUIRE_CODE(rank <= 8, Errc::parse, where, ": implausible rank ", rank);
      std::vector<index_t> shape(rank);
      for (auto& e : shape) e = r.get<std::int64_t>("extent");
      SEQREC_REQUIRE_CODE(shape == p.shape(), Errc::shape_mismatch, where, ": parameter '", name, "' has shape ",
                          seqrec::detail::shape_string(shape), " in the checkpoint, ",
                          seqrec::detail::shape_string(p.shape()), " in the model");
      if (copy)
        detail::get_view(r, p.value(), "values");
      else
        r.skip(std::size_t(p.size()) * sizeof(T), "values");
      ++i;
    }
    const auto steps = r.get<std::int64_t>("optimizer steps");
    const auto buffers = r.get<std::uint64_t>("optimizer buffers");
    if (optimizer) {
      SEQREC_REQUIRE_CODE(steps >= 0, Errc::parse, where, ": checkpoint has no optimizer state to resume");
      SEQREC_REQUIRE_CODE(buffers == optimizer->state().size(), Errc::shape_mismatch, where, ": checkpoint has ",
                          buffers, " optimizer buffers, the optimizer keeps ", optimizer->state().size(),
                          " (another optimizer?)");
    }
    for (std::uint64_t k = 0; k < buffers; ++k) {
      const auto length = r.get<std::uint64_t>("buffer length");
      if (optimizer) {
        const auto& buf = optimizer->state()[k];
        SEQREC_REQUIRE_CODE(length == buf.extent(0), Errc::shape_mismatch, where, ": optimizer buffer ", k, " holds ",
                            length, " values, the optimizer's holds ", buf.extent(0));
        if (copy) {
          detail::get_view(r, buf, "optimizer state");
          continue;
        }
      }
      r.skip(length * sizeof(T), "optimizer state");
    }
    SEQREC_REQUIRE_CODE(r.pos() == r.data().size(), Errc::parse, where, ": ", r.data().size() - r.pos(),
                        " unexpected trailing bytes");
    if (copy && optimizer) optimizer->set_steps(steps);
  }
  return state;
}

// A model's checkpoint: its parameters, its optimizer's state and its random position (the models' save/load).
template <Scalar T, ExecutionSpace Space, class Opt>
void save_model(const std::filesystem::path& path, const ParameterSet<T, Space>& params, const Opt& optimizer,
                const RandomSource& rng, std::int64_t epoch) {
  save_checkpoint<T, Space, Opt>(path, params, &optimizer, CheckpointState{epoch, rng.seed(), rng.streams_used()});
}
// Reads it back (the model built with the same configuration) and returns the epoch it was saved after.
template <Scalar T, ExecutionSpace Space, class Opt>
std::int64_t load_model(const std::filesystem::path& path, const ParameterSet<T, Space>& params, Opt& optimizer,
                        RandomSource& rng) {
  const auto state = load_checkpoint<T, Space, Opt>(path, params, &optimizer);
  rng = RandomSource(state.seed);
  rng.set_streams_used(state.streams_used);
  return state.epoch;
}

}  // namespace seqrec::train
