// Small synthetic dataset files for the data/ tests, written into a per-test temporary directory.
#pragma once

#include <gmock/gmock.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace apot::data::fixtures {

using Bytes = std::vector<uint8_t>;

// A fresh directory, removed with its content when the test ends; unique, so tests may run in parallel.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "apot-data-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_raw(const std::string& path, const Bytes& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The gzip file gzip(1) would write, through zlib's own gzip writer.
inline void write_gzip(const std::string& path, const Bytes& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile out = gzopen(path.c_str(), "wb");
  if (out == nullptr) throw std::runtime_error("cannot write " + path);
  const int written = bytes.empty() ? 0 : gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(out) != Z_OK || written != static_cast<int>(bytes.size())) {
    throw std::runtime_error("cannot write " + path);
  }
}

inline Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void append_big_endian(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// An IDX file: magic 0x0000 TT RR, then the dimensions, then the payload as given.
inline Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& payload, uint8_t type = 0x08) {
  Bytes out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) append_big_endian(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// `count` images of rows x cols whose pixels differ from their neighbours and from image to image.
inline Bytes pixel_pattern(size_t count, size_t rows, size_t cols) {
  Bytes pixels(count * rows * cols);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i / (rows * cols)) * 7 + i);
  return pixels;
}

// Labels 0, 1, ..., classes - 1, 0, 1, ...
inline Bytes label_pattern(size_t count, int classes = 10) {
  Bytes labels(count);
  for (size_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(i % classes);
  return labels;
}

// Matches a callable that throws std::runtime_error whose message names `path` and contains every part:
// the errors of data/ must say which file and what is wrong with it.
template <class... Parts>
auto ThrowsAbout(const std::string& path, const Parts&... parts) {
  return ::testing::ThrowsMessage<std::runtime_error>(
      ::testing::AllOf(::testing::HasSubstr(path), ::testing::HasSubstr(std::string(parts))...));
}

// A Fashion-MNIST-shaped set of uniformly random pixels and labels in `dir` (IDX files, as
// --data-dir reads them): 320 training and 64 test images.
inline void write_random_idx_set(const TempDir& dir) {
  std::mt19937 rng(11);
  auto bytes = [&](size_t n, int modulo) {
    Bytes b(n);
    for (auto& v : b) v = static_cast<uint8_t>(rng() % static_cast<unsigned>(modulo));
    return b;
  };
  for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", 320}, {"t10k", 64}}) {
    write_raw(dir.file(split + "-images-idx3-ubyte"), idx_bytes({n, 28, 28}, bytes(n * 784, 256)));
    write_raw(dir.file(split + "-labels-idx1-ubyte"), idx_bytes({n}, bytes(n, 10)));
  }
}

}  // namespace apot::data::fixtures
