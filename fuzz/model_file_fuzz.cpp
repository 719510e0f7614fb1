// libFuzzer target for the .apot loader (deploy/format/model_file.h). Any bytes must give a model or a
// std::invalid_argument, the one exception deserialize() documents; a crash, a sanitizer report, any
// other exception or an allocation over -malloc_limit_mb is a finding. See fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "deploy/format/crc32.h"
#include "deploy/format/model_file.h"
#include "tests/support/model_difference.h"

namespace {

using namespace apot::deploy;

constexpr size_t kHeaderSize = 24;

// An accepted model must also write back into a file that loads as the same model.
void load(std::string_view bytes) {
  IntegerModel model;
  try {
    model = deserialize(bytes, "fuzz input");
  } catch (const std::invalid_argument&) {
    return;
  }
  const std::string difference = test::ModelDiff::between(deserialize(serialize(model), "rewritten"), model);
  if (!difference.empty()) {
    std::fprintf(stderr, "the rewritten model differs: %s\n", difference.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  load(bytes);
  // A mutation almost never keeps the CRC right; load the bytes once more behind a matching header
  // (payload length and CRC-32) so the parser and validate() get fuzzed, not only the checksum.
  if (size >= kHeaderSize) {
    std::string sealed(bytes);
    const uint32_t crc = crc32(bytes.substr(kHeaderSize));
    const uint64_t length = size - kHeaderSize;
    std::memcpy(sealed.data() + 12, &crc, sizeof crc);
    std::memcpy(sealed.data() + 16, &length, sizeof length);
    load(sealed);
  }
  return 0;
}
