#include "deploy/format/byte_io.h"

#include <limits>

#include <fmt/format.h>

namespace apot::deploy {

void ByteWriter::put_count(size_t count, const char* field) {
  if (count > std::numeric_limits<uint32_t>::max()) {
    throw std::invalid_argument(fmt::format("{} has {} entries, more than the format's 2^32 - 1", field, count));
  }
  put(static_cast<uint32_t>(count));
}

void ByteWriter::put_string(std::string_view text, const char* field) {
  put_count(text.size(), field);
  put_bytes(text);
}

std::string_view ByteReader::get_bytes(size_t size, const char* field) {
  if (size > remaining()) truncated(field, size);
  const std::string_view view = bytes_.substr(position_, size);
  position_ += size;
  return view;
}

size_t ByteReader::get_count(const char* field, size_t element_size) {
  const size_t count = get<uint32_t>(field);
  if (count > remaining() / element_size) truncated(field, count * element_size);  // no overflow: count < 2^32
  return count;
}

std::string ByteReader::get_string(const char* field) {
  return std::string(get_bytes(get_count(field, 1), field));
}

void ByteReader::fail(const std::string& message) const {
  throw_error(context_.empty() ? message : context_ + ": " + message);
}

void ByteReader::truncated(const char* field, size_t needed) const {
  throw_error(fmt::format("truncated at byte {} while reading {}{} ({} bytes needed, {} left)", file_offset(),
                          context_.empty() ? "" : context_ + " ", field, needed, remaining()));
}

void ByteReader::throw_error(const std::string& message) const {
  throw std::invalid_argument(source_ + ": " + message);
}

}  // namespace apot::deploy
