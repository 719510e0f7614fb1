#include "deploy/format/bit_pack.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace apot::deploy {

namespace {

void check_bits(int bits) {
  if (bits < 1 || bits > 16) {
    throw std::invalid_argument(fmt::format("bit packing: {} bits per code, expected 1..16", bits));
  }
}

}  // namespace

size_t packed_size(size_t count, int bits) {
  check_bits(bits);
  // Whole groups of 8 codes fill exactly `bits` bytes; only the rest needs rounding up.
  const size_t b = static_cast<size_t>(bits);
  return count / 8 * b + (count % 8 * b + 7) / 8;
}

// A code spans at most three bytes (b <= 16, starting at any of a byte's 8 bits): it is or-ed into the
// bytes it covers, its low bits first.
void pack_bits(const uint16_t* codes, size_t count, int bits, uint8_t* out) {
  const size_t size = packed_size(count, bits);
  std::fill(out, out + size, uint8_t{0});
  size_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += static_cast<size_t>(bits)) {
    const uint32_t code = codes[i];
    if ((code >> bits) != 0) {
      throw std::invalid_argument(fmt::format("bit packing: code {} at {} does not fit in {} bits", code, i, bits));
    }
    const uint32_t window = code << (bit % 8);
    for (size_t byte = bit / 8, shift = 0; byte <= (bit + static_cast<size_t>(bits) - 1) / 8; ++byte, shift += 8) {
      out[byte] = static_cast<uint8_t>(out[byte] | (window >> shift));
    }
  }
}

std::vector<uint8_t> pack_bits(const std::vector<uint16_t>& codes, int bits) {
  std::vector<uint8_t> out(packed_size(codes.size(), bits));
  pack_bits(codes.data(), codes.size(), bits, out.data());
  return out;
}

void unpack_bits(const uint8_t* packed, size_t count, int bits, uint16_t* codes) {
  const size_t size = packed_size(count, bits);
  const uint32_t mask = (1u << bits) - 1;
  size_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += static_cast<size_t>(bits)) {
    const size_t byte = bit / 8;
    uint32_t window = 0;
    for (size_t j = 0; j < 3 && byte + j < size; ++j) window |= uint32_t{packed[byte + j]} << (8 * j);
    codes[i] = static_cast<uint16_t>((window >> (bit % 8)) & mask);
  }
}

}  // namespace apot::deploy
