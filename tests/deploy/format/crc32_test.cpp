#include "deploy/format/crc32.h"

#include <string>

#include <gtest/gtest.h>
#include <zlib.h>

namespace apot::deploy {
namespace {

TEST(Crc32, KnownValues) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(Crc32, ContinuesLikeZlib) {
  std::string data;
  uint32_t state = 7;
  for (int i = 0; i < 10000; ++i) {
    state = state * 1664525u + 1013904223u;
    data.push_back(static_cast<char>(state >> 24));
  }
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4095}, data.size()}) {
    const std::string_view all(data);
    EXPECT_EQ(crc32(all.substr(cut), crc32(all.substr(0, cut))), crc32(all));
  }
  EXPECT_EQ(crc32(data), ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

}  // namespace
}  // namespace apot::deploy
