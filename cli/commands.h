// Subcommands of the `apot` command; each registers its options and callback on the app.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace apot::cli {

// The process's own command line, argv[0] first (main records it; `apot train --nproc` restarts it).
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

void add_levels_command(CLI::App& app);
void add_cost_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_verify_command(CLI::App& app);
void add_study_command(CLI::App& app);
void add_ptq_command(CLI::App& app);

}  // namespace apot::cli
