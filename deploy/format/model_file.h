// The .apot model file: an IntegerModel on disk, byte layout in docs/model-format.md.
// A fixed header (magic, format version, payload length, CRC-32 of the payload), then the payload: the
// metadata as a JSON object, then the ops in little-endian binary with weights packed at their level
// set's bit-width, so a b-bit model takes little more than b bits per weight.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "deploy/format/integer_model.h"

namespace apot::deploy {

// The format version this build writes and the only one it reads.
inline constexpr uint32_t kModelFormatVersion = 1;

// The file's bytes. Validates the model first (deploy/format/validate.h), so what is written always loads;
// throws std::invalid_argument for an invalid model or metadata that is not UTF-8 text.
std::string serialize(const IntegerModel& model);

// The model in `bytes`. Checks the header, the length and the checksum, bounds every read and every
// count against the bytes that remain, then validates the model. Throws std::invalid_argument whose
// message starts with `source` (a path, or a name for bytes from elsewhere) for anything else: it
// never crashes or allocates much more than the input's size, whatever the bytes.
IntegerModel deserialize(std::string_view bytes, const std::string& source);

// serialize() written to `path` through a temporary file and a rename, so a failure leaves any earlier
// file whole. Throws std::invalid_argument (invalid model) or std::runtime_error (I/O, naming the path).
void save_model(const IntegerModel& model, const std::string& path);

// deserialize() of the file's bytes. Throws std::runtime_error naming the path when it cannot be read,
// std::invalid_argument starting with the path when its content is not a valid model.
IntegerModel load_model(const std::string& path);

}  // namespace apot::deploy
