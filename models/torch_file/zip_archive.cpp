#include "models/torch_file/zip_archive.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

namespace apot::models::torch_file {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEnd = 0x06054b50;
constexpr uint32_t kEnd64 = 0x06064b50, kEnd64Locator = 0x07064b50;
constexpr size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30, kEnd64LocatorSize = 20, kEnd64Size = 56;
// Deflate cannot expand data by more than about 1032 to 1: a larger declared size is a corrupt entry.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Little-endian reads at checked offsets; `what` names the structure for the error.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {}
  void need(uint64_t offset, uint64_t size, const char* what) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset) {
      throw std::runtime_error(fmt::format("'{}': the zip archive's {} (bytes {}..{}) lies beyond its {} bytes", name_,
                                           what, offset, offset + size, bytes_.size()));
    }
  }
  uint64_t le(uint64_t offset, int size) const {
    uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes_[offset + i]);
    return value;
  }
  std::string_view bytes() const { return bytes_; }

 private:
  std::string_view bytes_;
  const std::string& name_;
};

}  // namespace

bool ZipArchive::looks_like_zip(std::string_view bytes) {
  return bytes.size() >= 4 && Reader(bytes, "").le(0, 4) == kLocalHeader;
}

ZipArchive::ZipArchive(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {
  const Reader r(bytes_, name_);
  // The end record stands last, after a comment of at most 65535 bytes.
  if (bytes_.size() < kEndSize) throw std::runtime_error(fmt::format("'{}': a zip archive too short to hold its end record", name_));
  size_t end = std::string_view::npos;
  const size_t lowest = bytes_.size() >= kEndSize + 65535 ? bytes_.size() - kEndSize - 65535 : 0;
  for (size_t at = bytes_.size() - kEndSize + 1; at-- > lowest;) {
    if (r.le(at, 4) == kEnd && at + kEndSize + r.le(at + 20, 2) == bytes_.size()) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) {
    throw std::runtime_error(fmt::format("'{}': no zip end record (a truncated or damaged zip archive)", name_));
  }
  uint64_t count = r.le(end + 10, 2), directory_size = r.le(end + 12, 4), directory = r.le(end + 16, 4);
  if (end >= kEnd64LocatorSize && r.le(end - kEnd64LocatorSize, 4) == kEnd64Locator) {
    const uint64_t end64 = r.le(end - kEnd64LocatorSize + 8, 8);
    r.need(end64, kEnd64Size, "ZIP64 end record");
    if (r.le(end64, 4) != kEnd64) throw std::runtime_error(fmt::format("'{}': the ZIP64 end record has a wrong signature", name_));
    count = r.le(end64 + 32, 8);
    directory_size = r.le(end64 + 40, 8);
    directory = r.le(end64 + 48, 8);
  }
  r.need(directory, directory_size, "central directory");
  if (count > directory_size / kCentralSize) {
    throw std::runtime_error(fmt::format("'{}': the zip archive declares {} entries in a central directory of {} bytes",
                                         name_, count, directory_size));
  }
  uint64_t at = directory;
  for (uint64_t i = 0; i < count; ++i) {
    r.need(at, kCentralSize, "central directory entry");
    if (r.le(at, 4) != kCentralHeader) {
      throw std::runtime_error(fmt::format("'{}': central directory entry {} has a wrong signature", name_, i));
    }
    Entry e;
    e.method = static_cast<uint16_t>(r.le(at + 10, 2));
    e.crc = static_cast<uint32_t>(r.le(at + 16, 4));
    e.compressed_size = r.le(at + 20, 4);
    e.size = r.le(at + 24, 4);
    const uint64_t name_size = r.le(at + 28, 2), extra_size = r.le(at + 30, 2), comment_size = r.le(at + 32, 2);
    e.local_header_offset = r.le(at + 42, 4);
    r.need(at + kCentralSize, name_size + extra_size + comment_size, "central directory entry's name");
    std::string entry_name(bytes_.substr(at + kCentralSize, name_size));
    // ZIP64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    for (uint64_t x = at + kCentralSize + name_size, x_end = x + extra_size; x + 4 <= x_end;) {
      const uint64_t id = r.le(x, 2), size = r.le(x + 2, 2);
      if (x + 4 + size > x_end) break;
      if (id == 0x0001) {
        uint64_t field = x + 4;
        for (uint64_t* value : {&e.size, &e.compressed_size, &e.local_header_offset}) {
          if (*value != 0xFFFFFFFFu) continue;
          if (field + 8 > x + 4 + size) throw std::runtime_error(fmt::format("'{}': entry '{}' has a short ZIP64 field", name_, entry_name));
          *value = r.le(field, 8);
          field += 8;
        }
      }
      x += 4 + size;
    }
    at += kCentralSize + name_size + extra_size + comment_size;
    names_.push_back(std::move(entry_name));
    entries_.push_back(e);
  }
}

bool ZipArchive::contains(std::string_view entry) const {
  return std::find(names_.begin(), names_.end(), entry) != names_.end();
}

const ZipArchive::Entry& ZipArchive::find(std::string_view entry) const {
  const auto it = std::find(names_.begin(), names_.end(), entry);
  if (it == names_.end()) throw std::runtime_error(fmt::format("'{}': the zip archive has no entry '{}'", name_, entry));
  return entries_[static_cast<size_t>(it - names_.begin())];
}

std::string ZipArchive::read(std::string_view entry) const {
  const Entry& e = find(entry);
  const Reader r(bytes_, name_);
  r.need(e.local_header_offset, kLocalSize, "local header");
  if (r.le(e.local_header_offset, 4) != kLocalHeader) {
    throw std::runtime_error(fmt::format("'{}': entry '{}' has a wrong local header signature", name_, entry));
  }
  const uint64_t data = e.local_header_offset + kLocalSize + r.le(e.local_header_offset + 26, 2) + r.le(e.local_header_offset + 28, 2);
  r.need(data, e.compressed_size, "entry data");
  const std::string_view packed = bytes_.substr(data, e.compressed_size);
  std::string out;
  if (e.method == 0) {
    if (e.size != e.compressed_size) {
      throw std::runtime_error(fmt::format("'{}': stored entry '{}' declares {} bytes but holds {}", name_, entry, e.size, e.compressed_size));
    }
    out.assign(packed);
  } else if (e.method == 8) {
    if (e.size > e.compressed_size * kMaxDeflateRatio + 1024 || e.size > std::numeric_limits<uInt>::max()) {
      throw std::runtime_error(fmt::format("'{}': deflated entry '{}' declares {} bytes from {} (corrupt)", name_, entry, e.size, e.compressed_size));
    }
    out.resize(e.size);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    z.avail_in = static_cast<uInt>(std::min<uint64_t>(packed.size(), std::numeric_limits<uInt>::max()));
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&z, Z_FINISH);
    const uint64_t produced = z.total_out;
    inflateEnd(&z);
    if (status != Z_STREAM_END || produced != e.size) {
      throw std::runtime_error(fmt::format("'{}': deflated entry '{}' does not inflate to its declared {} bytes", name_, entry, e.size));
    }
  } else {
    throw std::runtime_error(fmt::format("'{}': entry '{}' uses zip compression method {} (only stored and deflate are read)",
                                         name_, entry, e.method));
  }
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()), out.size());
  if (crc != e.crc) throw std::runtime_error(fmt::format("'{}': entry '{}' fails its CRC-32 check (the file is damaged)", name_, entry));
  return out;
}

}  // namespace apot::models::torch_file
