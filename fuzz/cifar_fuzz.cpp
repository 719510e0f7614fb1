// libFuzzer target for the CIFAR-10 binary reader (data/cifar.h), over bytes in memory: one batch file.
// Any bytes must give a dataset or the std::runtime_error read_cifar10() documents, naming the file; a
// crash, a sanitizer report, any other exception or an allocation over -malloc_limit_mb is a finding.
// See fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "data/cifar.h"
#include "fuzz/dataset_fuzz.h"

namespace {

using namespace apot::data;

const std::string kName = "data_batch_1.bin";
constexpr size_t kImageBytes = 3 * 32 * 32;

using apot::fuzz::finding;
using apot::fuzz::Outcome;

Outcome load(std::string_view bytes) {
  try {
    ByteStream in(bytes, kName);
    return {read_cifar10(in), ""};
  } catch (const std::runtime_error& e) {
    // Subclasses (fmt::format_error, std::filesystem::filesystem_error) would be bugs, not verdicts.
    if (typeid(e) != typeid(std::runtime_error)) finding(std::string("unexpected exception: ") + e.what());
    const std::string message = e.what();
    if (message.rfind(kName + ": ", 0) != 0) finding("the error does not start with the file: " + message);
    return {std::nullopt, message};
  }
}

// An accepted raw file holds exactly the records of the dataset read from it.
void check_raw(const ImageSet& set, std::string_view bytes) {
  if (set.channels != 3 || set.height != 32 || set.width != 32 || set.num_classes != 10 || set.size() == 0 ||
      set.pixels.size() != set.size() * kImageBytes || bytes.size() != set.size() * (1 + kImageBytes)) {
    finding("the dataset's shape does not match the file");
  }
  for (size_t r = 0; r < set.size(); ++r) {
    const std::string_view record = bytes.substr(r * (1 + kImageBytes), 1 + kImageBytes);
    const std::vector<uint8_t> pixels(set.pixels.begin() + r * kImageBytes, set.pixels.begin() + (r + 1) * kImageBytes);
    if (set.labels[r] >= 10 || static_cast<uint8_t>(record[0]) != set.labels[r] ||
        !apot::fuzz::same_bytes(pixels, record.substr(1))) {
      finding("record " + std::to_string(r) + " differs from the file");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Outcome outcome = load(bytes);
  if (apot::fuzz::is_gzip(bytes)) return 0;
  if (outcome.set) check_raw(*outcome.set, bytes);
  // The same content gzip-compressed must read the same, error messages included.
  const Outcome packed = load(apot::fuzz::gzip_members(bytes, size / 2));
  if (packed.error != outcome.error) {
    finding("raw and gzip differ: '" + outcome.error + "' against '" + packed.error + "'");
  }
  if (outcome.set && (packed.set->labels != outcome.set->labels || packed.set->pixels != outcome.set->pixels)) {
    finding("raw and gzip give different datasets");
  }
  return 0;
}
