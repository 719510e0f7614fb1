#include "data/cifar.h"

#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "data/byte_stream.h"

namespace apot::data {

namespace {

constexpr int kSide = 32;
constexpr int kChannels = 3;
constexpr int kClasses = 10;
constexpr size_t kImageBytes = size_t{kChannels} * kSide * kSide;
constexpr size_t kRecordBytes = 1 + kImageBytes;

ImageSet empty_set() {
  ImageSet set;
  set.channels = kChannels;
  set.height = kSide;
  set.width = kSide;
  set.num_classes = kClasses;
  return set;
}

void append_records(ByteStream& in, ImageSet& set) {
  std::vector<uint8_t> bytes;
  in.read(std::numeric_limits<size_t>::max(), bytes);
  if (bytes.empty() || bytes.size() % kRecordBytes != 0) {
    throw std::runtime_error(fmt::format(
        "{}: size {} bytes is not a positive multiple of the CIFAR-10 record size {} (1 label + 3 x 32 x 32 "
        "pixels)",
        in.path(), bytes.size(), kRecordBytes));
  }
  const size_t records = bytes.size() / kRecordBytes;
  for (size_t r = 0; r < records; ++r) {
    const uint8_t* record = bytes.data() + r * kRecordBytes;
    if (record[0] >= kClasses) {
      throw std::runtime_error(fmt::format("{}: label {} in record {} is out of range: expected 0..{}", in.path(),
                                           record[0], r, kClasses - 1));
    }
    set.labels.push_back(record[0]);
    set.pixels.insert(set.pixels.end(), record + 1, record + kRecordBytes);
  }
}

}  // namespace

ImageSet read_cifar10(const std::vector<std::string>& files) {
  if (files.empty()) throw std::invalid_argument("read_cifar10: no files given");
  ImageSet set = empty_set();
  for (const std::string& path : files) {
    ByteStream in(path);
    append_records(in, set);
  }
  return set;
}

ImageSet read_cifar10(ByteStream& in) {
  ImageSet set = empty_set();
  append_records(in, set);
  return set;
}

}  // namespace apot::data
