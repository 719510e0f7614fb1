#include "data/byte_stream.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

namespace apot::data {

namespace {

constexpr size_t kInputBytes = size_t{1} << 16;  // bytes read from disk at a time
constexpr size_t kOutputChunk = size_t{1} << 18; // most bytes one inflate call may add to the output

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(fmt::format("{}: {}", path, problem));
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

struct ByteStream::Impl {
  std::string path;
  std::unique_ptr<std::FILE, FileCloser> file;  // null for bytes in memory
  std::string_view memory;       // bytes in memory not yet moved to `input`
  bool gzip = false;
  bool done = false;             // every byte of the data has been delivered
  int lookahead = -1;            // a byte at_end() took from the data; read() delivers it first
  std::vector<uint8_t> input;    // bytes read from the file, not yet consumed from `next`
  uint8_t* next = nullptr;
  size_t available = 0;
  z_stream zs{};
  bool inflating = false;        // zs is initialised

  ~Impl() {
    if (inflating) inflateEnd(&zs);
  }

  // Makes at least `count` unconsumed file bytes available; false where the file ends first.
  bool fill(size_t count) {
    if (available >= count) return true;
    std::memmove(input.data(), next, available);
    next = input.data();
    while (available < count) {
      const size_t n = pull(input.data() + available, input.size() - available);
      if (n == 0) return false;
      available += n;
    }
    return true;
  }

  // Up to `max` more bytes of the source; 0 at its end. Memory goes through `input` like a file does, so
  // both take the same path through the reader.
  size_t pull(uint8_t* to, size_t max) {
    if (!file) {
      const size_t n = std::min(max, memory.size());
      if (n > 0) std::memcpy(to, memory.data(), n);
      memory.remove_prefix(n);
      return n;
    }
    const size_t n = std::fread(to, 1, max, file.get());
    if (n == 0 && std::ferror(file.get())) fail(path, fmt::format("read error: {}", std::strerror(errno)));
    return n;
  }

  // Sets the gzip flag from the first two bytes, after the source is attached.
  void start() {
    input.resize(kInputBytes);
    next = input.data();
    if (fill(2) && next[0] == 0x1f && next[1] == 0x8b) {
      gzip = true;
      // 16 + MAX_WBITS: expect a gzip header and trailer, and check the trailer's CRC-32 and length.
      if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(path, "cannot initialise zlib");
      inflating = true;
    }
  }

  size_t read_raw(size_t count, std::vector<uint8_t>& out) {
    size_t got = 0;
    while (got < count && !done) {
      if (!fill(1)) {
        done = true;
        break;
      }
      const size_t n = std::min(count - got, available);
      out.insert(out.end(), next, next + n);
      next += n;
      available -= n;
      got += n;
    }
    return got;
  }

  size_t read_gzip(size_t count, std::vector<uint8_t>& out) {
    size_t got = 0;
    while (got < count && !done) {
      if (!fill(1)) fail(path, "truncated gzip stream: the file ends before the stream does");
      const size_t chunk = std::min(count - got, kOutputChunk);
      const size_t old_size = out.size();
      out.resize(old_size + chunk);
      zs.next_in = next;
      zs.avail_in = static_cast<uInt>(available);
      zs.next_out = out.data() + old_size;
      zs.avail_out = static_cast<uInt>(chunk);
      const int status = inflate(&zs, Z_NO_FLUSH);
      next = zs.next_in;
      available = zs.avail_in;
      const size_t produced = chunk - zs.avail_out;
      out.resize(old_size + produced);
      got += produced;
      if (status == Z_STREAM_END) {
        done = !next_member();
      } else if (status != Z_OK) {
        // Z_BUF_ERROR cannot occur here: inflate had input and output space, so it either progressed
        // or found the data invalid.
        fail(path, fmt::format("corrupted gzip stream: {}", zs.msg ? zs.msg : zError(status)));
      }
    }
    return got;
  }

  // After the end of a gzip member: true where another member follows (gunzip concatenates them),
  // false at the end of the file; anything else is not gzip data.
  bool next_member() {
    if (!fill(2)) {
      if (available == 0) return false;
      fail(path, "trailing garbage after the gzip stream");
    }
    if (next[0] != 0x1f || next[1] != 0x8b) fail(path, "trailing garbage after the gzip stream");
    inflateReset(&zs);
    return true;
  }
};

ByteStream::ByteStream(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) fail(path, "cannot open: is a directory, expected a file");
  errno = 0;
  s.file.reset(std::fopen(path.c_str(), "rb"));
  if (!s.file) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  s.start();
}

ByteStream::ByteStream(std::string_view bytes, const std::string& name) : impl_(std::make_unique<Impl>()) {
  impl_->path = name;
  impl_->memory = bytes;
  impl_->start();
}

ByteStream::~ByteStream() = default;

const std::string& ByteStream::path() const { return impl_->path; }

bool ByteStream::gzip() const { return impl_->gzip; }

size_t ByteStream::read(size_t count, std::vector<uint8_t>& out) {
  Impl& s = *impl_;
  size_t got = 0;
  if (count > 0 && s.lookahead >= 0) {
    out.push_back(static_cast<uint8_t>(s.lookahead));
    s.lookahead = -1;
    got = 1;
  }
  got += s.gzip ? s.read_gzip(count - got, out) : s.read_raw(count - got, out);
  return got;
}

bool ByteStream::at_end() {
  if (impl_->lookahead >= 0) return false;
  std::vector<uint8_t> byte;
  if (read(1, byte) == 0) return true;
  impl_->lookahead = byte[0];
  return false;
}

std::vector<uint8_t> read_file(const std::string& path) {
  ByteStream in(path);
  std::vector<uint8_t> content;
  in.read(std::numeric_limits<size_t>::max(), content);
  return content;
}

}  // namespace apot::data
