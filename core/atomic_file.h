// Never lose a user's data: files are written to a temporary name beside the target and renamed over
// it only once complete and flushed.
#pragma once

#include <string>
#include <string_view>

namespace apot {

// Throws std::runtime_error naming the path and the system's reason.
void write_file_atomically(const std::string& path, std::string_view bytes);
// The whole file; throws std::runtime_error naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace apot
