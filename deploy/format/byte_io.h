// Little-endian binary writing and bounds-checked reading for the .apot file: every read names the
// field it reads, so a short or corrupt file is an error that says where and what, never a read past
// the end, and every count is checked against the bytes left before anything is allocated for it.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace apot::deploy {

// The format is little-endian, like every host this project targets (x86-64 with AVX2); a big-endian
// port would swap bytes in put() and get().
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .apot byte order assumes a little-endian host");

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_arithmetic_v<T>);
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out_.append(raw, sizeof(T));
  }
  void put_bytes(std::string_view bytes) { out_.append(bytes); }
  // A u32 count before variable-length data; throws std::invalid_argument naming the field above 2^32 - 1.
  void put_count(size_t count, const char* field);
  // u32 length, then the bytes.
  void put_string(std::string_view text, const char* field);
  // u32 count, then the elements.
  template <typename T>
  void put_array(const std::vector<T>& values, const char* field) {
    put_count(values.size(), field);
    for (const T& v : values) put(v);
  }

  size_t size() const { return out_.size(); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  // `bytes` starts at `file_offset` in the file called `source`: error messages give file offsets.
  ByteReader(std::string_view bytes, size_t file_offset, std::string source)
      : bytes_(bytes), file_offset_(file_offset), source_(std::move(source)) {}

  // Names what is being read in errors, e.g. "op 3 (conv)"; empty for the top level.
  void set_context(std::string context) { context_ = std::move(context); }

  template <typename T>
  T get(const char* field) {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "bools are bytes checked to be 0 or 1");
    T value;
    std::memcpy(&value, get_bytes(sizeof(T), field).data(), sizeof(T));
    return value;
  }
  std::string_view get_bytes(size_t size, const char* field);
  // A u32 count of elements of `element_size` bytes each (at least 1) that must fit in what remains.
  size_t get_count(const char* field, size_t element_size);
  std::string get_string(const char* field);
  template <typename T>
  std::vector<T> get_array(const char* field) {
    const size_t count = get_count(field, sizeof(T));
    std::vector<T> values(count);
    for (T& v : values) v = get<T>(field);
    return values;
  }

  size_t remaining() const { return bytes_.size() - position_; }
  size_t file_offset() const { return file_offset_ + position_; }
  // Throws std::invalid_argument "<source>: <context>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  [[noreturn]] void truncated(const char* field, size_t needed) const;
  [[noreturn]] void throw_error(const std::string& message) const;

  std::string_view bytes_;
  size_t position_ = 0;
  size_t file_offset_ = 0;
  std::string source_;
  std::string context_;
};

}  // namespace apot::deploy
