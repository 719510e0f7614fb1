// libFuzzer target for the torch.save reader (models/torch_file). Any bytes must give a file or a
// std::runtime_error; a crash, a sanitizer report, another exception or an allocation over
// -malloc_limit_mb is a finding. See fuzz/README.md.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <zlib.h>

#include "models/torch_file/state_dict_select.h"

namespace {

using namespace apot::models::torch_file;

// Reads everything a command would: the state_dict's tensors, or the file's one tensor.
void read(std::string_view bytes) {
  try {
    const TorchFile file = TorchFile::parse(bytes, "fuzz input");
    if (file.root()->kind == Object::Kind::Tensor) {
      file.contiguous_bytes(file.tensor(*file.root()));
      return;
    }
    for (const auto& [name, tensor] : select_state_dict(file, "").tensors) file.contiguous_bytes(*tensor);
  } catch (const std::runtime_error&) {
  }
}

void put(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>(value >> (8 * i) & 0xff);
}

// A zip archive of stored entries with right CRCs, as torch.save lays it out, so that mutations of the
// pickle reach the unpickler and its storage loads instead of failing the archive's checksum.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, directory;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint64_t offset = out.size();
    put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 4), put(out, crc, 4);
    put(out, data.size(), 4), put(out, data.size(), 4), put(out, name.size(), 2), put(out, 0, 2);
    out += name + data;
    put(directory, 0x02014b50, 4), put(directory, 20, 2), put(directory, 20, 2), put(directory, 0, 2), put(directory, 0, 2);
    put(directory, 0, 4), put(directory, crc, 4), put(directory, data.size(), 4), put(directory, data.size(), 4);
    put(directory, name.size(), 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2);
    put(directory, 0, 4), put(directory, offset, 4);
    directory += name;
  }
  const uint64_t directory_offset = out.size();
  out += directory;
  put(out, 0x06054b50, 4), put(out, 0, 2), put(out, 0, 2), put(out, entries.size(), 2), put(out, entries.size(), 2);
  put(out, directory.size(), 4), put(out, directory_offset, 4), put(out, 0, 2);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  read(bytes);  // a whole file: legacy pickles, damaged archives
  // The bytes as the pickle of a zip archive whose storages '0' to '3' hold 64 bytes each.
  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", std::string(bytes)}};
  for (char key = '0'; key <= '3'; ++key) entries.emplace_back(std::string("archive/data/") + key, std::string(64, key));
  read(zip_of(entries));
  return 0;
}
