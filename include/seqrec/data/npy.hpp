// NumPy .npy files <-> Kokkos views of rank 1 and 2 (float, double, int32, int64), through xtensor's npy
// codec (host only: keep this header out of anything a device kernel includes).
//
//   save_npy(path, view)                writes the view (any layout, any memory space) as a C-order array,
//                                       atomically (temporary file + rename: never half written);
//   load_npy<ViewType>(path)            a new view of ViewType's rank and value type, in its memory space;
//   load_npy_into(path, view)           fills an existing view whose extents must equal the file's shape;
//   read_npy_header(path)               dtype, shape and order, without converting anything;
//   to_npy(view) / parse_npy<V>(bytes, source)
//                                       the in-memory twins (tests, fuzzers, other containers).
//
// xtensor 0.24's reader trusts its input: it reads past a short file without noticing, and indexes an empty
// header. So every file is first checked here (magic, version, header dictionary, dtype, rank, exact data
// length) and only a well-formed one is handed to xt::load_npy. Errors name the file and say expected vs
// actual: Errc::parse for a malformed or truncated file, Errc::invalid_argument for a dtype other than the
// requested one, Errc::shape_mismatch for a rank or shape other than the requested one, Errc::unsupported for
// dtypes seqrec does not read (big-endian, structured, complex...), Errc::io when the file cannot be read.
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/detail/tokenizer.hpp>

#include <Kokkos_Core.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <istream>
#include <limits>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace seqrec::data {

// What a .npy header says.
struct NpyHeader {
  std::string descr;                 // NumPy's type string, e.g. "<f4"
  bool fortran_order = false;        // column-major data (NumPy writes C order unless asked)
  std::vector<std::uint64_t> shape;  // () for a scalar
  std::size_t data_offset = 0;       // bytes before the data
  std::size_t item_size = 0;         // bytes per element, from descr

  std::size_t rank() const { return shape.size(); }
  std::uint64_t count() const {
    std::uint64_t n = 1;
    for (auto e : shape) n *= e;  // checked against overflow when parsed
    return n;
  }
};

namespace detail {

template <class T>
inline constexpr bool npy_supported_v = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                        std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>;

// The little-endian type strings NumPy writes on the machines seqrec runs on.
template <class T>
constexpr std::string_view npy_descr() {
  if constexpr (std::is_same_v<T, float>)
    return "<f4";
  else if constexpr (std::is_same_v<T, double>)
    return "<f8";
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return "<i4";
  else
    return "<i8";
}

// "float32" for "<f4", for messages; the type string itself when it is not a plain numeric one.
inline std::string npy_type_name(std::string_view descr) {
  const bool order = descr.size() >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=' || descr[0] == '>');
  std::size_t bytes = 0;
  for (std::size_t k = 2; order && k < descr.size() && k < 6; ++k) {
    if (descr[k] < '0' || descr[k] > '9') return std::string(descr);
    bytes = bytes * 10 + static_cast<std::size_t>(descr[k] - '0');
  }
  if (!order || descr.size() > 6) return std::string(descr);
  const std::string bits = std::to_string(8 * bytes), big = descr[0] == '>' ? ", big-endian" : "";
  switch (descr[1]) {
    case 'f':
      return "float" + bits + big;
    case 'i':
      return "int" + bits + big;
    case 'u':
      return "uint" + bits + big;
    case 'c':
      return "complex" + bits + big;
    case 'b':
      return "bool";
    default:
      return std::string(descr);
  }
}

// Built by append: g++ 12 warns falsely (-Wrestrict) on "'" + std::string(...).
inline std::string show_descr(std::string_view descr) {
  std::string out;
  out.append("'").append(descr).append("' (").append(npy_type_name(descr)).append(")");
  return out;
}

// A tiny reader of the header's Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class NpyDictParser {
 public:
  NpyDictParser(std::string_view text, std::string_view source) : s_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal("a key");
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() == '[')
          SEQREC_THROW(Errc::unsupported, source_, ": structured dtypes (a descr list) are not supported");
        h.descr = string_literal("the descr value");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (s_.substr(pos_, 4) == "True") {
          h.fortran_order = true;
          pos_ += 4;
        } else if (s_.substr(pos_, 5) == "False") {
          h.fortran_order = false;
          pos_ += 5;
        } else {
          bad("fortran_order must be True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    if (!have_descr || !have_order || !have_shape)
      bad(std::string("missing key ") + (!have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'"));
    skip_space();
    if (pos_ != s_.size()) bad("unexpected text after the dictionary");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    SEQREC_THROW(Errc::parse, source_, ": malformed .npy header (", what, " at offset ", pos_, " of the dictionary ",
                 seqrec::data::detail::show(s_), ")");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal(const char* what) {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') bad(std::string("expected ") + what + " in quotes");
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  std::vector<std::uint64_t> tuple() {
    std::vector<std::uint64_t> out;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("expected a non-negative integer in the shape");
      std::uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const std::uint64_t d = static_cast<std::uint64_t>(peek() - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) bad("shape entry too large");
        v = v * 10 + d;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      out.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') bad("expected ',' or ')' in the shape");
    }
    ++pos_;
    return out;
  }

  std::string_view s_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

inline std::uint32_t little_endian(std::string_view bytes, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < n; ++k)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + k])) << (8 * k);
  return v;
}

// xtensor 0.24 reads the header length through signed chars (a length byte >= 0x80 comes out wrong) and knows
// versions 1.0 and 2.0 only. Such files are valid, so they get a canonical version 1.0 header (the one np.save
// writes, padded to 64 bytes) before xtensor sees them; the common case is passed through untouched.
inline bool xtensor_misreads(std::string_view bytes) {
  if (bytes[6] != 1 && bytes[6] != 2) return true;
  const std::size_t len_bytes = bytes[6] == 1 ? 2 : 4;
  for (std::size_t k = 0; k < len_bytes; ++k)
    if (static_cast<unsigned char>(bytes[8 + k]) >= 0x80) return true;
  return false;
}

inline std::string canonical_npy(std::string_view bytes, const NpyHeader& h) {
  std::string shape;
  for (std::size_t r = 0; r < h.shape.size(); ++r) shape += (r ? ", " : "") + std::to_string(h.shape[r]);
  if (h.shape.size() == 1) shape += ',';  // Python's one-element tuple
  std::string dict = "{'descr': '" + h.descr + "', 'fortran_order': " + (h.fortran_order ? "True" : "False") +
                     ", 'shape': (" + shape + "), }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  out += dict;
  out.append(bytes.substr(h.data_offset));
  return out;
}

// An istream over bytes already in memory, so xtensor reads them without another copy.
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());  // never written: this buffer is only read
    setg(p, p, p + bytes.size());
  }
};

template <class V>
constexpr void check_npy_view() {
  static_assert(Kokkos::is_view<V>::value, "seqrec::data npy: expected a Kokkos::View");
  static_assert(V::rank == 1 || V::rank == 2, "seqrec::data npy: only views of rank 1 and 2 are supported");
  static_assert(npy_supported_v<std::remove_const_t<typename V::value_type>>,
                "seqrec::data npy: the value type must be float, double, std::int32_t or std::int64_t");
}

}  // namespace detail

// ------------------------------------------------------------------------------------ header

// Checks and parses the header of .npy bytes: magic, version (1.0, 2.0, 3.0), the dictionary, the type
// string's item size, and that the data that follows is exactly shape x item size bytes long.
inline NpyHeader parse_npy_header(std::string_view bytes, std::string_view source) {
  constexpr std::string_view magic = "\x93NUMPY";
  if (bytes.substr(0, magic.size()) != magic)
    SEQREC_THROW(Errc::parse, source, ": not a .npy file (it does not start with the bytes \\x93NUMPY; ", bytes.size(),
                 " bytes)");
  if (bytes.size() < 10) SEQREC_THROW(Errc::parse, source, ": truncated .npy header (", bytes.size(), " bytes)");
  const int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    SEQREC_THROW(Errc::unsupported, source, ": .npy format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes)
    SEQREC_THROW(Errc::parse, source, ": truncated .npy header (", bytes.size(), " bytes)");
  const std::size_t header_len = detail::little_endian(bytes, 8, len_bytes);
  const std::size_t offset = 8 + len_bytes + header_len;
  if (bytes.size() < offset)
    SEQREC_THROW(Errc::parse, source, ": truncated .npy header: it declares ", header_len, " bytes, the file has ",
                 bytes.size() - 8 - len_bytes, " after the length field");
  std::string_view dict = bytes.substr(8 + len_bytes, header_len);
  if (dict.empty() || dict.back() != '\n')
    SEQREC_THROW(Errc::parse, source, ": malformed .npy header: it does not end with a newline");
  NpyHeader h = detail::NpyDictParser(dict, source).parse();
  h.data_offset = offset;

  const std::string_view d = h.descr;
  const bool known_order = !d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=');
  bool digits = d.size() >= 3 && d.size() <= 5;
  for (std::size_t k = 2; digits && k < d.size(); ++k) digits = d[k] >= '0' && d[k] <= '9';
  if (!known_order || !digits)
    SEQREC_THROW(Errc::unsupported, source, ": dtype '", h.descr,
                 "' is not a plain numeric type (supported: '<f4', '<f8', '<i4', '<i8')");
  h.item_size = std::stoul(std::string(d.substr(2)));

  std::uint64_t count = 1;
  for (auto e : h.shape) {
    if (e != 0 && count > std::numeric_limits<std::uint64_t>::max() / e)
      SEQREC_THROW(Errc::parse, source, ": shape ", seqrec::detail::shape_string(h.shape), " overflows");
    count *= e;
  }
  if (h.item_size != 0 && count > (std::numeric_limits<std::uint64_t>::max() - offset) / h.item_size)
    SEQREC_THROW(Errc::parse, source, ": shape ", seqrec::detail::shape_string(h.shape), " overflows");
  const std::uint64_t expected = count * h.item_size, actual = bytes.size() - offset;
  if (actual < expected)
    SEQREC_THROW(Errc::parse, source, ": truncated .npy data: shape ", seqrec::detail::shape_string(h.shape), " of ",
                 detail::show_descr(h.descr), " needs ", expected, " bytes, the file has ", actual);
  if (actual > expected)
    SEQREC_THROW(Errc::parse, source, ": .npy data too long: shape ", seqrec::detail::shape_string(h.shape), " of ",
                 detail::show_descr(h.descr), " needs ", expected, " bytes, the file has ", actual);
  return h;
}

inline NpyHeader read_npy_header(const std::filesystem::path& path) {
  return parse_npy_header(detail::read_file(path), path.string());
}

// ------------------------------------------------------------------------------------ load

// Fills `view` (any layout and memory space, rank 1 or 2) from .npy bytes whose dtype is exactly the view's
// value type and whose shape equals the view's extents. Fences.
template <class V>
void parse_npy_into(std::string_view bytes, std::string_view source, const V& view) {
  detail::check_npy_view<V>();
  using T = typename V::non_const_value_type;
  static_assert(!std::is_const_v<typename V::value_type>, "seqrec::data::parse_npy_into: the view must be writable");
  const NpyHeader h = parse_npy_header(bytes, source);
  if (h.descr != detail::npy_descr<T>())
    SEQREC_THROW(Errc::invalid_argument, source, ": dtype: expected ", detail::show_descr(detail::npy_descr<T>()),
                 ", got ", detail::show_descr(h.descr));
  if (h.rank() != V::rank)
    SEQREC_THROW(Errc::shape_mismatch, source, ": rank: expected ", V::rank, ", got ", h.rank(), " (shape ",
                 seqrec::detail::shape_string(h.shape), ")");
  bool same = true;
  for (unsigned r = 0; r < V::rank; ++r) same = same && h.shape[r] == view.extent(r);
  if (!same)
    SEQREC_THROW(Errc::shape_mismatch, source, ": shape: expected ", seqrec::detail::view_shape_string(view), ", got ",
                 seqrec::detail::shape_string(h.shape));

  // The bytes are known good; xtensor decodes them (and handles Fortran order through its strides).
  std::string canonical;
  if (detail::xtensor_misreads(bytes)) canonical = detail::canonical_npy(bytes, h);
  detail::ViewStreamBuf buf(canonical.empty() ? bytes : std::string_view(canonical));
  std::istream in(&buf);
  auto host = Kokkos::create_mirror_view(view);
  try {
    auto a = xt::load_npy<T>(in);
    bool same_shape = a.dimension() == V::rank;
    for (unsigned r = 0; same_shape && r < V::rank; ++r) same_shape = a.shape()[r] == view.extent(r);
    if (!same_shape)
      SEQREC_THROW(Errc::parse, source, ": xtensor read shape ", seqrec::detail::shape_string(a.shape()),
                   ", the header says ", seqrec::detail::shape_string(h.shape));
    if constexpr (V::rank == 1) {
      for (std::size_t i = 0; i < view.extent(0); ++i) host(i) = a(i);
    } else {
      for (std::size_t i = 0; i < view.extent(0); ++i)
        for (std::size_t j = 0; j < view.extent(1); ++j) host(i, j) = a(i, j);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    SEQREC_THROW(Errc::parse, source, ": xtensor could not read the .npy data: ", e.what());
  }
  Kokkos::deep_copy(view, host);
}

// A new view of ViewType (rank 1 or 2, value type float, double, int32 or int64, any memory space) with the
// shape the bytes declare.
template <class ViewType>
ViewType parse_npy(std::string_view bytes, std::string_view source, std::string_view label = "npy") {
  detail::check_npy_view<ViewType>();
  const NpyHeader h = parse_npy_header(bytes, source);
  using T = typename ViewType::non_const_value_type;
  if (h.descr != detail::npy_descr<T>())
    SEQREC_THROW(Errc::invalid_argument, source, ": dtype: expected ", detail::show_descr(detail::npy_descr<T>()),
                 ", got ", detail::show_descr(h.descr));
  if (h.rank() != ViewType::rank)
    SEQREC_THROW(Errc::shape_mismatch, source, ": rank: expected ", ViewType::rank, ", got ", h.rank(), " (shape ",
                 seqrec::detail::shape_string(h.shape), ")");
  const auto alloc = Kokkos::view_alloc(Kokkos::WithoutInitializing, seqrec::detail::label(label));
  ViewType view;
  if constexpr (ViewType::rank == 1)
    view = ViewType(alloc, static_cast<std::size_t>(h.shape[0]));
  else
    view = ViewType(alloc, static_cast<std::size_t>(h.shape[0]), static_cast<std::size_t>(h.shape[1]));
  parse_npy_into(bytes, source, view);
  return view;
}

template <class ViewType>
ViewType load_npy(const std::filesystem::path& path, std::string_view label = "npy") {
  return parse_npy<ViewType>(detail::read_file(path), path.string(), label);
}

template <class V>
void load_npy_into(const std::filesystem::path& path, const V& view) {
  parse_npy_into(detail::read_file(path), path.string(), view);
}

// ------------------------------------------------------------------------------------ save

// The .npy bytes of `view` (rank 1 or 2, any layout and memory space) in C order. Fences.
template <class V>
std::string to_npy(const V& view) {
  detail::check_npy_view<V>();
  using T = typename V::non_const_value_type;
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, view);
  std::vector<T> values;
  values.reserve(view.size());
  std::vector<std::size_t> shape;
  if constexpr (V::rank == 1) {
    shape = {host.extent(0)};
    for (std::size_t i = 0; i < host.extent(0); ++i) values.push_back(host(i));
  } else {
    shape = {host.extent(0), host.extent(1)};
    for (std::size_t i = 0; i < host.extent(0); ++i)
      for (std::size_t j = 0; j < host.extent(1); ++j) values.push_back(host(i, j));
  }
  return xt::dump_npy(xt::adapt(values, shape));
}

// Writes `view` to `path` as .npy, atomically: readers see the old file or the whole new one.
template <class V>
void save_npy(const std::filesystem::path& path, const V& view) {
  const std::string bytes = to_npy(view);
  write_file_atomic(path, std::string_view(bytes));
}

}  // namespace seqrec::data
