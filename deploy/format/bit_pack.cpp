#include "deploy/format/bit_pack.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace apot::deploy {

namespace {

void check_bits(int bits) {
  if (bits < 1 || bits > 8) {
    throw std::invalid_argument(fmt::format("bit packing: {} bits per code, expected 1..8", bits));
  }
}

}  // namespace

size_t packed_size(size_t count, int bits) {
  check_bits(bits);
  // Whole groups of 8 codes fill exactly `bits` bytes; only the rest needs rounding up.
  const size_t b = static_cast<size_t>(bits);
  return count / 8 * b + (count % 8 * b + 7) / 8;
}

// A code never spans more than two bytes (b <= 8): its low part goes into the byte where it starts, the
// rest, if any, into the next.
void pack_bits(const uint8_t* codes, size_t count, int bits, uint8_t* out) {
  const size_t size = packed_size(count, bits);
  std::fill(out, out + size, uint8_t{0});
  size_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += static_cast<size_t>(bits)) {
    const unsigned code = codes[i];
    if ((code >> bits) != 0) {
      throw std::invalid_argument(fmt::format("bit packing: code {} at {} does not fit in {} bits", code, i, bits));
    }
    const size_t byte = bit / 8;
    const unsigned offset = bit % 8;
    out[byte] = static_cast<uint8_t>(out[byte] | (code << offset));
    if (offset + static_cast<unsigned>(bits) > 8) out[byte + 1] = static_cast<uint8_t>(code >> (8 - offset));
  }
}

std::vector<uint8_t> pack_bits(const std::vector<uint8_t>& codes, int bits) {
  std::vector<uint8_t> out(packed_size(codes.size(), bits));
  pack_bits(codes.data(), codes.size(), bits, out.data());
  return out;
}

void unpack_bits(const uint8_t* packed, size_t count, int bits, uint8_t* codes) {
  const size_t size = packed_size(count, bits);
  const unsigned mask = (1u << bits) - 1;
  size_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += static_cast<size_t>(bits)) {
    const size_t byte = bit / 8;
    const unsigned window = packed[byte] | (byte + 1 < size ? unsigned{packed[byte + 1]} << 8 : 0u);
    codes[i] = static_cast<uint8_t>((window >> (bit % 8)) & mask);
  }
}

}  // namespace apot::deploy
