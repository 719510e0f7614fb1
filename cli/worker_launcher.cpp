#include "cli/worker_launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "train/process_group.h"

namespace apot::cli {

namespace {

constexpr auto kGracePeriod = std::chrono::seconds(10);  // between SIGTERM and SIGKILL

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
    } else if (args[i].rfind("--nproc=", 0) != 0) {
      out.push_back(args[i]);
    }
  }
  return out;
}

int launch_local_workers(int nproc, const std::vector<std::string>& args) {
  if (nproc < 1) throw std::invalid_argument(fmt::format("--nproc {}: expected >= 1 worker", nproc));
  const std::vector<std::string> worker_args = without_nproc(args);
  const std::string port = std::to_string(train::free_loopback_port());
  std::vector<pid_t> pids;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(fmt::format("--nproc: fork failed: {}", std::strerror(errno)));
    if (pid == 0) {
      const std::string r = std::to_string(rank), n = std::to_string(nproc);
      ::setenv("RANK", r.c_str(), 1);
      ::setenv("LOCAL_RANK", r.c_str(), 1);
      ::setenv("WORLD_SIZE", n.c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", n.c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (const std::string& a : worker_args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "apot: worker %d: cannot start /proc/self/exe: %s\n", rank, std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
    fmt::print(stderr, "apot: worker {} of {}: pid {}\n", rank, nproc, pid);
  }
  std::fflush(stderr);

  auto rank_of = [&](pid_t pid) {
    for (size_t r = 0; r < pids.size(); ++r) {
      if (pids[r] == pid) return static_cast<int>(r);
    }
    return -1;
  };
  std::vector<bool> running(pids.size(), true);
  size_t left = pids.size();
  int exit_code = 0;
  std::chrono::steady_clock::time_point kill_at{};
  bool stopping = false;
  while (left > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {  // stopping, nobody ended yet: escalate once the grace period is over
      if (std::chrono::steady_clock::now() >= kill_at) {
        for (size_t r = 0; r < pids.size(); ++r) {
          if (running[r]) ::kill(pids[r], SIGKILL);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const int rank = rank_of(pid);
    if (rank < 0) continue;
    running[static_cast<size_t>(rank)] = false;
    --left;
    if (failed(status) && !stopping) {
      fmt::print(stderr, "apot: worker {} of {} (pid {}) {}; stopping the other workers\n", rank, nproc, pid, describe_status(status));
      exit_code = 1;
      stopping = true;
      kill_at = std::chrono::steady_clock::now() + kGracePeriod;
      for (size_t r = 0; r < pids.size(); ++r) {
        if (!running[r]) continue;
        ::kill(pids[r], SIGTERM);
        ::kill(pids[r], SIGCONT);  // a stopped (hung) worker only sees SIGTERM once it runs again
      }
    }
  }
  std::fflush(stderr);
  return exit_code;
}

}  // namespace apot::cli
