// The `apot` command. Errors become one line on stderr and exit status 1 (DESIGN.md, conventions).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"

namespace apot::cli {
namespace {
std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> args;
  return args;
}
// The subcommand a mistyped name most likely meant: the nearest by edit distance, if it is near; empty
// when `typed` is a subcommand.
std::string nearest_command(CLI::App& app, const std::string& typed, bool* known) {
  std::string best;
  size_t best_distance = 3;  // more edits than this is not a typo
  *known = false;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    if (name == typed) *known = true;
    std::vector<size_t> row(name.size() + 1);
    for (size_t j = 0; j <= name.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= typed.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= name.size(); ++j) {
        const size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (typed[i - 1] != name[j - 1] ? 1 : 0)});
        diagonal = above;
      }
    }
    if (row[name.size()] < best_distance) {
      best_distance = row[name.size()];
      best = name;
    }
  }
  return best;
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
  app.set_version_flag("--version", "apot " APOT_VERSION);
  apot::cli::add_levels_command(app);
  apot::cli::add_cost_command(app);
  apot::cli::add_train_command(app);
  apot::cli::add_eval_command(app);
  apot::cli::add_predict_command(app);
  apot::cli::add_bench_command(app);
  apot::cli::add_ptq_command(app);
  apot::cli::add_export_command(app);
  apot::cli::add_run_command(app);
  apot::cli::add_verify_command(app);
  apot::cli::add_study_command(app);
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    const std::string nearest = apot::cli::nearest_command(app, argv[1], &known);
    if (!known) {
      fmt::print(stderr, "apot: error: unknown command '{}'{} (see apot --help)\n", argv[1],
                 nearest.empty() ? "" : fmt::format(": did you mean '{}'?", nearest));
      return 2;
    }
  }
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
