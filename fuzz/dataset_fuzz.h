// What the dataset fuzz targets (idx_fuzz, cifar_fuzz) share: how a finding stops the run, what a read
// gave, and gzip'd copies of an input.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "data/dataset.h"

namespace apot::fuzz {

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

// The dataset, or the message of the error that rejected the input.
struct Outcome {
  std::optional<data::ImageSet> set;
  std::string error;
};

// `content` as two concatenated gzip members split at `split`, so that the reader's member handling is
// reached too; the reader must see exactly `content`.
inline std::string gzip_members(std::string_view content, size_t split) {
  std::string out;
  for (std::string_view part : {content.substr(0, split), content.substr(split)}) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      std::fprintf(stderr, "deflateInit2 failed\n");
      std::abort();
    }
    std::string member(deflateBound(&zs, static_cast<uLong>(part.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    zs.avail_in = static_cast<uInt>(part.size());
    zs.next_out = reinterpret_cast<Bytef*>(member.data());
    zs.avail_out = static_cast<uInt>(member.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
      std::fprintf(stderr, "deflate failed\n");
      std::abort();
    }
    member.resize(zs.total_out);
    deflateEnd(&zs);
    out += member;
  }
  return out;
}

// Whether `bytes` holds exactly `expected` (without memcmp, which an empty vector's null data() upsets).
inline bool same_bytes(const std::vector<uint8_t>& bytes, std::string_view expected) {
  return bytes.size() == expected.size() &&
         std::equal(bytes.begin(), bytes.end(), expected.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

inline bool is_gzip(std::string_view bytes) { return bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b'; }

}  // namespace apot::fuzz
