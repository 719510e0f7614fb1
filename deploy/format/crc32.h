// CRC-32 of the .apot payload: the IEEE 802.3 polynomial, reflected, as zlib's crc32() and PNG compute
// it, so `python3 -c "import zlib; ..."` or any zip tool can check a file by hand.
#pragma once

#include <cstdint>
#include <string_view>

namespace apot::deploy {

// The CRC of `bytes`, continuing from `crc` (the CRC of what came before; 0 to start), like
// zlib's crc32(crc, data, size).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace apot::deploy
