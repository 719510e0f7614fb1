#include "core/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace apot {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(fmt::format("cannot {} '{}': {}", what, path, std::strerror(errno)));
}

// Tests stop the process right after its Nth file is in place (APOT_TEST_EXIT_AFTER_WRITES=N, exit
// status 86), to check that what any such moment leaves on disk can be resumed from.
void count_write_for_tests() {
  static const long limit = [] {
    const char* value = std::getenv("APOT_TEST_EXIT_AFTER_WRITES");
    return value ? std::atol(value) : 0L;
  }();
  static std::atomic<long> written{0};
  if (limit > 0 && ++written == limit) std::_Exit(86);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string temporary = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", temporary);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      errno = saved;
      fail("write", temporary);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    fail("write", temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    fail("rename a temporary file to", path);
  }
  count_write_for_tests();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("open", path);
  // A directory opens as a stream that reads nothing: say what it is instead of handing back no bytes.
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    errno = EISDIR;
    fail("read", path);
  }
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) fail("read", path);
  return data.str();
}

}  // namespace apot
