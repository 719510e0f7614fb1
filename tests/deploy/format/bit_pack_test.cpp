#include "deploy/format/bit_pack.h"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace apot::deploy {
namespace {

// Packing written the slow way, one bit at a time, as the format document states it: bit j of code i is
// bit (i * b + j) of the stream, and stream bit n is bit n % 8 of byte n / 8.
std::vector<uint8_t> pack_reference(const std::vector<uint16_t>& codes, int bits) {
  std::vector<uint8_t> out((codes.size() * static_cast<size_t>(bits) + 7) / 8, 0);
  for (size_t i = 0; i < codes.size(); ++i) {
    for (int j = 0; j < bits; ++j) {
      const size_t n = i * static_cast<size_t>(bits) + static_cast<size_t>(j);
      if ((codes[i] >> j) & 1u) out[n / 8] = static_cast<uint8_t>(out[n / 8] | (1u << (n % 8)));
    }
  }
  return out;
}

std::vector<uint16_t> random_codes(size_t count, int bits, uint32_t seed) {
  std::vector<uint16_t> codes(count);
  for (uint16_t& c : codes) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<uint16_t>((seed >> 8) & ((1u << bits) - 1));
  }
  return codes;
}

TEST(BitPack, PackedSizeIsCeilOfBits) {
  EXPECT_EQ(packed_size(0, 4), 0u);
  EXPECT_EQ(packed_size(1, 3), 1u);
  EXPECT_EQ(packed_size(3, 3), 2u);  // 9 bits
  EXPECT_EQ(packed_size(8, 3), 3u);
  EXPECT_EQ(packed_size(9, 8), 9u);
  for (int bits = 1; bits <= 16; ++bits) {
    for (size_t n = 0; n < 100; ++n) EXPECT_EQ(packed_size(n, bits), (n * bits + 7) / 8);
  }
  // No overflow where n * b would wrap.
  EXPECT_EQ(packed_size(SIZE_MAX, 8), SIZE_MAX);
  EXPECT_EQ(packed_size(SIZE_MAX / 2, 16), SIZE_MAX - 1);
}

TEST(BitPack, LayoutIsLsbFirst) {
  EXPECT_EQ(pack_bits({1, 2, 3}, 4), (std::vector<uint8_t>{0x21, 0x03}));
  // 3 bits: 111, 000, 101 -> byte 0 = 01'000'111, byte 1 = 0000000'1.
  EXPECT_EQ(pack_bits({7, 0, 5}, 3), (std::vector<uint8_t>{0x47, 0x01}));
  EXPECT_EQ(pack_bits({0xAB}, 8), (std::vector<uint8_t>{0xAB}));
  // 9 bits: code 0 sets stream bits 0 and 8, code 1 (bit 7) stream bit 16: one bit in each of 3 bytes.
  EXPECT_EQ(pack_bits({0x101, 0x080}, 9), (std::vector<uint8_t>{0x01, 0x01, 0x01}));
  EXPECT_EQ(pack_bits({0xBEEF}, 16), (std::vector<uint8_t>{0xEF, 0xBE}));
}

// Every width (codes of up to 16 bits span three bytes), counts around byte and group-of-8 edges (equal, less, greater, multiples), all-ones codes
// (every bit set, so a lost or shifted bit shows) and random ones; packed against the bitwise reference.
TEST(BitPack, MatchesTheBitwiseReferenceAndRoundTrips) {
  for (int bits = 1; bits <= 16; ++bits) {
    for (size_t count = 0; count <= 41; ++count) {
      SCOPED_TRACE(testing::Message() << bits << " bits, " << count << " codes");
      const std::vector<uint16_t> ones(count, static_cast<uint16_t>((1u << bits) - 1));
      for (const std::vector<uint16_t>& codes : {ones, random_codes(count, bits, static_cast<uint32_t>(count))}) {
        const std::vector<uint8_t> packed = pack_bits(codes, bits);
        ASSERT_EQ(packed, pack_reference(codes, bits));
        std::vector<uint16_t> unpacked(count, 0xEEEE);
        unpack_bits(packed.data(), count, bits, unpacked.data());
        EXPECT_EQ(unpacked, codes);
      }
    }
  }
}

TEST(BitPack, UnusedHighBitsOfTheLastByteAreZero) {
  const std::vector<uint8_t> packed = pack_bits(std::vector<uint16_t>(3, 7), 3);  // 9 bits
  EXPECT_EQ(packed.back(), 0x01);
}

TEST(BitPack, RefusesBadWidthsAndWideCodes) {
  EXPECT_THROW(pack_bits({1}, 0), std::invalid_argument);
  EXPECT_THROW(pack_bits({1}, 17), std::invalid_argument);
  EXPECT_THROW(packed_size(1, 17), std::invalid_argument);
  EXPECT_THROW(pack_bits({16}, 4), std::invalid_argument);
  EXPECT_THROW(pack_bits({512}, 9), std::invalid_argument);
  const uint8_t packed[3] = {};
  uint16_t out = 0;
  EXPECT_THROW(unpack_bits(packed, 1, 17, &out), std::invalid_argument);
}

}  // namespace
}  // namespace apot::deploy
