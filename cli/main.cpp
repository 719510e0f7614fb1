// The `apot` command. Errors become one line on stderr and exit status 1 (DESIGN.md, conventions).
#include <malloc.h>

#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"

namespace apot::cli {
namespace {
std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace
void set_command_line(int argc, char** argv) { stored_command_line().assign(argv, argv + argc); }
const std::vector<std::string>& command_line() { return stored_command_line(); }
}  // namespace apot::cli

int main(int argc, char** argv) {
  apot::cli::set_command_line(argc, argv);
  // A training step frees and reallocates the same activation-sized blocks every step. glibc would map
  // and unmap each (they are over its default mmap threshold) and trim the heap, so every step paid page
  // faults again: keep such blocks (up to 32 MiB, glibc's cap) in the heap and the heap untrimmed.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"apot: Additive Powers-of-Two quantisation (Li, Dong, Wang, ICLR 2020)"};
  app.require_subcommand(1);
  apot::cli::add_levels_command(app);
  apot::cli::add_cost_command(app);
  apot::cli::add_train_command(app);
  apot::cli::add_eval_command(app);
  apot::cli::add_predict_command(app);
  apot::cli::add_bench_command(app);
  apot::cli::add_export_command(app);
  apot::cli::add_run_command(app);
  apot::cli::add_verify_command(app);
  apot::cli::add_study_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "apot: error: {} (see apot --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "apot: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
