#include "data/idx.h"

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "data/byte_stream.h"

namespace apot::data {

namespace {

constexpr uint8_t kUint8 = 0x08;

// Element types of the IDX format (third magic byte); nullptr for a byte that names none.
const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
  }
  return nullptr;
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

[[noreturn]] void fail(const ByteStream& in, const std::string& problem) {
  throw std::runtime_error(fmt::format("{}: {}", in.path(), problem));
}

// Reads the magic number and the `rank` dimensions of a uint8 IDX file.
std::vector<uint32_t> read_header(ByteStream& in, int rank, const char* content) {
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(rank);
  std::vector<uint8_t> header;
  in.read(header_bytes, header);
  const uint32_t expected = (uint32_t{kUint8} << 8) | static_cast<uint32_t>(rank);
  if (header.size() < 4) {
    fail(in, fmt::format("truncated header: expected {} bytes, found {}", header_bytes, header.size()));
  }
  const uint32_t found = big_endian32(header.data());
  if (header[0] != 0 || header[1] != 0 || type_name(header[2]) == nullptr) {
    fail(in, fmt::format("bad magic: expected 0x{:08x} ({}), found 0x{:08x}: not an IDX file", expected,
                         content, found));
  }
  if (header[2] != kUint8) {
    fail(in, fmt::format("wrong data type: expected uint8 (magic 0x{:08x}), found {} (magic 0x{:08x})",
                         expected, type_name(header[2]), found));
  }
  if (header[3] != rank) {
    fail(in, fmt::format("bad magic: expected 0x{:08x} ({}), found 0x{:08x} ({}-dimensional data)", expected,
                         content, found, header[3]));
  }
  if (header.size() < header_bytes) {
    fail(in, fmt::format("truncated header: expected {} bytes, found {}", header_bytes, header.size()));
  }
  std::vector<uint32_t> dims(rank);
  for (int d = 0; d < rank; ++d) dims[d] = big_endian32(header.data() + 4 + 4 * d);
  return dims;
}

// Reads exactly `bytes` bytes of payload and checks that the file ends there.
std::vector<uint8_t> read_payload(ByteStream& in, uint64_t bytes, const std::string& content) {
  std::vector<uint8_t> payload;
  in.read(static_cast<size_t>(bytes), payload);
  if (payload.size() < bytes) {
    fail(in, fmt::format("truncated: expected {} bytes of {}, found {}", bytes, content, payload.size()));
  }
  if (!in.at_end()) fail(in, fmt::format("trailing garbage after the {} bytes of {}", bytes, content));
  return payload;
}

void check_num_classes(int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw std::invalid_argument(fmt::format("read_idx: num_classes = {}, expected 1..256", num_classes));
  }
}

}  // namespace

ImageSet read_idx(const std::string& images_path, const std::string& labels_path, int num_classes) {
  check_num_classes(num_classes);
  ByteStream images(images_path);
  ByteStream labels(labels_path);
  return read_idx(images, labels, num_classes);
}

ImageSet read_idx(ByteStream& images, ByteStream& labels, int num_classes) {
  check_num_classes(num_classes);
  const std::vector<uint32_t> dims = read_header(images, 3, "uint8 images [N, rows, cols]");
  const uint32_t count = read_header(labels, 1, "uint8 labels [N]")[0];
  if (dims[0] != count) {
    throw std::runtime_error(fmt::format("count mismatch: {} holds {} images but {} holds {} labels",
                                         images.path(), dims[0], labels.path(), count));
  }
  if (dims[1] == 0 || dims[2] == 0 || dims[1] > INT_MAX || dims[2] > INT_MAX) {
    fail(images, fmt::format("image size {} x {} is impossible", dims[1], dims[2]));
  }
  // Three 32-bit factors can overflow 64 bits; the first two cannot.
  const uint64_t image_bytes = uint64_t{dims[1]} * dims[2];
  if (dims[0] != 0 && image_bytes > UINT64_MAX / dims[0]) {
    fail(images, fmt::format("header claims {} x {} x {} bytes, more than any file holds", dims[0], dims[1],
                             dims[2]));
  }

  ImageSet set;
  set.channels = 1;
  set.height = static_cast<int>(dims[1]);
  set.width = static_cast<int>(dims[2]);
  set.num_classes = num_classes;
  set.pixels = read_payload(images, dims[0] * image_bytes,
                            fmt::format("pixels ({} images of {} x {})", dims[0], dims[1], dims[2]));
  set.labels = read_payload(labels, count, fmt::format("labels ({} labels)", count));
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] >= num_classes) {
      fail(labels, fmt::format("label {} at index {} is out of range: expected 0..{}", set.labels[i], i,
                               num_classes - 1));
    }
  }
  return set;
}

}  // namespace apot::data
