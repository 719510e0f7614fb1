// Weight codes of b bits packed densely for the .apot file (docs/model-format.md): code i occupies bits
// i*b .. i*b + b - 1 of the byte stream, least significant bit first, so n codes take ceil(n*b / 8) bytes
// and a 4-bit model stores two weights per byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace apot::deploy {

// Bytes that `count` codes of `bits` bits take: ceil(count * bits / 8), computed without overflow.
size_t packed_size(size_t count, int bits);

// Packs codes[0 .. count) into out[0 .. packed_size(count, bits)); the unused high bits of the last byte
// are zero. Throws std::invalid_argument for bits outside 1..16 or a code wider than `bits`.
void pack_bits(const uint16_t* codes, size_t count, int bits, uint8_t* out);
std::vector<uint8_t> pack_bits(const std::vector<uint16_t>& codes, int bits);

// The inverse: reads packed_size(count, bits) bytes from `packed`. Throws std::invalid_argument for bits
// outside 1..16.
void unpack_bits(const uint8_t* packed, size_t count, int bits, uint16_t* codes);

}  // namespace apot::deploy
