// The zip archives torch.save writes (PyTorch >= 1.6): a central directory of entries, each stored or
// deflated, ZIP64 where sizes need it. Every offset and size is checked against the archive's bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace apot::models::torch_file {

class ZipArchive {
 public:
  static bool looks_like_zip(std::string_view bytes);

  // `bytes` must outlive the archive. `name` is used in error messages (the file's path).
  ZipArchive(std::string_view bytes, std::string name);

  const std::vector<std::string>& names() const { return names_; }
  bool contains(std::string_view entry) const;
  // The entry's bytes, inflated if deflated, checked against its CRC-32.
  std::string read(std::string_view entry) const;

 private:
  struct Entry {
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed_size = 0, size = 0, local_header_offset = 0;
  };
  const Entry& find(std::string_view entry) const;

  std::string_view bytes_;
  std::string name_;
  std::vector<std::string> names_;
  std::vector<Entry> entries_;
};

}  // namespace apot::models::torch_file
