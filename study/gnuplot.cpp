#include "study/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "core/atomic_file.h"

namespace apot::study {

namespace {

std::string gnuplot_program() {
  const char* env = std::getenv("APOT_GNUPLOT");
  return env && *env ? env : "gnuplot";
}

// Runs the program with `args` in `dir` (empty: here), stdin from /dev/null, stdout and stderr into
// `log`. Returns the exit status, 127 when it could not be started. posix_spawn rather than fork: the
// caller is a large, multi-threaded LibTorch process.
int run_program(const std::string& dir, const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return 127;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(fmt::format("waiting for {} failed", args.front()));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string temporary_log() {
  return (std::filesystem::temp_directory_path() / fmt::format("apot-gnuplot-{}.log", ::getpid())).string();
}

std::string read_and_remove(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::exception&) {
  }
  std::filesystem::remove(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::string gnuplot_png_terminal() {
  const std::string program = gnuplot_program();
  const std::string log = temporary_log();
  for (const char* terminal : {"pngcairo", "png"}) {
    const int status = run_program("", {program, "-e", fmt::format("set terminal {}", terminal)}, log);
    const std::string messages = read_and_remove(log);
    if (status == 127) {
      throw std::runtime_error(fmt::format("gnuplot was not found ({} on PATH): the study draws its figures with it; "
                                           "install Debian's gnuplot-nox (apt-get install gnuplot-nox)",
                                           program));
    }
    if (status == 0 && messages.find("unknown") == std::string::npos) return terminal;
  }
  throw std::runtime_error(fmt::format("{} has neither the pngcairo nor the png terminal: install Debian's gnuplot-nox", program));
}

void run_gnuplot(const std::string& dir, const std::string& script, const std::string& output) {
  const std::string log = temporary_log();
  const int status = run_program(dir, {gnuplot_program(), "-e", "output = " + gnuplot_quote(output), script}, log);
  const std::string messages = read_and_remove(log);
  if (status == 127) throw std::runtime_error(fmt::format("gnuplot was not found: install Debian's gnuplot-nox"));
  if (status != 0) {
    throw std::runtime_error(fmt::format("gnuplot failed on {}/{} (exit status {}): {}", dir, script, status, messages));
  }
}

std::string gnuplot_quote(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace apot::study
