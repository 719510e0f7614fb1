// Sequential reading of a dataset file that may be gzip-compressed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace apot::data {

// Reads a file from start to end, inflating it on the fly when it starts with the gzip magic bytes 1f 8b:
// the content decides, not the name, so a decompressed file that kept its .gz name (or the reverse) loads.
// Inflation streams in bounded chunks, so memory follows the bytes actually read and never a size that a
// corrupt header claims. Concatenated gzip members read as one stream, as gunzip does.
// Errors are std::runtime_error whose message starts with the path.
class ByteStream {
 public:
  explicit ByteStream(const std::string& path);
  // The same over bytes in memory, which are not copied and must outlive the stream; `name` stands for
  // the path in messages.
  ByteStream(std::string_view bytes, const std::string& name);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  const std::string& path() const;
  bool gzip() const;

  // Appends up to `count` bytes to `out` and returns how many it appended: fewer only where the data
  // ends. `out` grows with the data read, so `count` may be a bound rather than a size to allocate.
  size_t read(size_t count, std::vector<uint8_t>& out);

  // Whether the data is exhausted. For gzip this reads to the end of the stream, so it also verifies the
  // CRC and length in the trailer, and that nothing but further gzip members follows it.
  bool at_end();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole (decompressed) content of a file.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace apot::data
