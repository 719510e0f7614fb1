// libFuzzer target for the IDX reader (data/idx.h), over bytes in memory. An input is a label file and an
// image file: a 2-byte big-endian length, that many bytes of labels (fewer where the input ends), then the
// images. Any two files must give a dataset or the std::runtime_error read_idx() documents, naming a file;
// a crash, a sanitizer report, any other exception or an allocation over -malloc_limit_mb is a finding.
// See fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

#include "data/idx.h"
#include "fuzz/dataset_fuzz.h"

namespace {

using namespace apot::data;

const std::string kImages = "images.idx";
const std::string kLabels = "labels.idx";

using apot::fuzz::finding;
using apot::fuzz::Outcome;

Outcome load(std::string_view images, std::string_view labels) {
  try {
    ByteStream image_stream(images, kImages);
    ByteStream label_stream(labels, kLabels);
    return {read_idx(image_stream, label_stream), ""};
  } catch (const std::runtime_error& e) {
    // Subclasses (fmt::format_error, std::filesystem::filesystem_error) would be bugs, not verdicts.
    if (typeid(e) != typeid(std::runtime_error)) finding(std::string("unexpected exception: ") + e.what());
    const std::string message = e.what();
    if (message.find(kImages) == std::string::npos && message.find(kLabels) == std::string::npos) {
      finding("the error names neither file: " + message);
    }
    return {std::nullopt, message};
  }
}

uint32_t big_endian32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = at; i < at + 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

// An accepted pair of raw files holds exactly the dataset read from it.
void check_raw(const ImageSet& set, std::string_view images, std::string_view labels) {
  if (images.size() < 16 || labels.size() < 8) finding("accepted a file shorter than its header");
  const uint32_t count = big_endian32(images, 4), rows = big_endian32(images, 8), cols = big_endian32(images, 12);
  const bool same = set.channels == 1 && set.height == static_cast<int>(rows) &&
                    set.width == static_cast<int>(cols) && set.size() == count && big_endian32(labels, 4) == count &&
                    apot::fuzz::same_bytes(set.pixels, images.substr(16)) &&
                    apot::fuzz::same_bytes(set.labels, labels.substr(8));
  if (!same) finding("the dataset differs from the files it was read from");
  for (uint8_t label : set.labels) {
    if (label >= set.num_classes) finding("accepted a label out of range");
  }
}

bool same_set(const ImageSet& a, const ImageSet& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width && a.num_classes == b.num_classes &&
         a.pixels == b.pixels && a.labels == b.labels;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t claimed = size >= 2 ? (size_t{data[0]} << 8 | data[1]) : 0;
  const std::string_view rest = input.substr(size >= 2 ? 2 : size);
  const std::string_view labels = rest.substr(0, claimed);
  const std::string_view images = rest.substr(labels.size());

  const Outcome outcome = load(images, labels);
  if (outcome.set && !apot::fuzz::is_gzip(images) && !apot::fuzz::is_gzip(labels)) {
    check_raw(*outcome.set, images, labels);
  }
  // The same content gzip-compressed must read the same, error messages included: whether a file is
  // compressed is the reader's business alone.
  if (apot::fuzz::is_gzip(images) && apot::fuzz::is_gzip(labels)) return 0;
  const std::string packed_images =
      apot::fuzz::is_gzip(images) ? std::string(images) : apot::fuzz::gzip_members(images, images.size() / 2);
  const std::string packed_labels =
      apot::fuzz::is_gzip(labels) ? std::string(labels) : apot::fuzz::gzip_members(labels, labels.size() / 3);
  const Outcome packed = load(packed_images, packed_labels);
  if (packed.error != outcome.error) {
    finding("raw and gzip differ: '" + outcome.error + "' against '" + packed.error + "'");
  }
  if (outcome.set && !same_set(*outcome.set, *packed.set)) finding("raw and gzip give different datasets");
  return 0;
}
