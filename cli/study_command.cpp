// `apot study`: the whole study in one command, resumable: the rows of study/plan.h trained,
// exported and measured, the figures drawn with gnuplot, and a Markdown report.
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "study/plan.h"
#include "study/runner.h"

namespace apot::cli {

namespace {

// The command line as typed, quoted for a shell, for the report ("the exact command").
std::string quoted_command_line() {
  std::string command;
  for (const std::string& arg : command_line()) {
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"$\\`;&|<>*?()") == std::string::npos;
    command += (command.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  return command.empty() ? "apot study" : command;
}

void print_plan(const study::StudyPlan& plan) {
  fmt::print("{:<14} {:<44} {:<10} {:>6} {:>8} {:>10}\n", "row", "configuration", "from", "epochs", "lr", "estimate");
  for (const study::StudyRow& row : plan.rows) {
    fmt::print("{:<14} {:<44} {:<10} {:>6} {:>8g} {:>8.0f} s\n", row.name, row.label, row.init_from.empty() ? "random" : row.init_from,
               row.hyper.epochs, row.hyper.lr, study::estimated_seconds(plan, row));
  }
  fmt::print("estimated wall time on 2 cores: {:.1f} h ({:.0f} s)\n", study::estimated_seconds(plan) / 3600,
             study::estimated_seconds(plan));
}

}  // namespace

void add_study_command(CLI::App& app) {
  auto* c = app.add_subcommand("study", "the whole study: training, integer engine, cost, figures, report (resumable)");
  auto o = std::make_shared<study::StudyOptions>();
  auto only = std::make_shared<std::vector<std::string>>();
  auto plan_only = std::make_shared<bool>(false);
  c->add_option("--recipe", o->recipe,
                fmt::format("{} (fits 2.5 h on 2 cores) | {} (Appendix C.2 on CIFAR-10; needs --data-dir)", study::kBudgetRecipe,
                            study::kCifarPaperRecipe))
      ->capture_default_str();
  c->add_option("--dataset", o->dataset, "fashion-mnist | mnist | cifar10")->capture_default_str();
  add_arch_flag(*c, o->arch);
  c->add_option("--data-dir", o->data_dir, "where the dataset's files are (default: fashion-mnist's Debian package)");
  c->add_option("--out", o->out_dir, "output directory; running again resumes the study there")->capture_default_str();
  c->add_option("--epochs-fp", o->epochs_fp, fmt::format("epochs of the full-precision row (default: {} for {}, 200 for {})",
                                                         study::budget_epochs().fp, study::kBudgetRecipe, study::kCifarPaperRecipe))
      ->check(at_least_one());
  c->add_option("--epochs-quant", o->epochs_quant, fmt::format("epochs of each quantised row (default: {} for {}, 200 for {})",
                                                               study::budget_epochs().quant, study::kBudgetRecipe,
                                                               study::kCifarPaperRecipe))
      ->check(at_least_one());
  c->add_flag("--quick", o->quick,
              fmt::format("{} training and {} test images, one epoch per row, one thread unless --threads: checks the "
                          "pipeline only",
                          study::kQuickTrainImages, study::kQuickTestImages));
  c->add_option("--only", *only, "only these rows and the rows they start from (comma-separated, e.g. apot4,lloyd5)")->delimiter(',');
  add_train_limit_flag(*c, o->train_limit);
  add_test_limit_flag(*c, o->test_limit);
  c->add_option("--seed", o->seed, "seed of the initial weights and the data order")->capture_default_str();
  add_threads_flag(*c, o->threads);
  c->add_flag("--plan", *plan_only, "print the rows and the time estimate, train nothing");
  c->callback([=] {
    study::StudyOptions options = *o;
    options.only = *only;
    const study::StudyPlan plan = study::build_plan(options);
    print_plan(plan);
    if (*plan_only) return;
    set_threads(plan.options.threads);
    const study::StudyOutcome outcome = study::run_study(plan, quoted_command_line(), [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);  // progress visible at once when redirected to a file
    });
    fmt::print("study in {}: {} rows trained, {} skipped (finished before), {:.0f} s; report {}\n", plan.options.out_dir,
               outcome.trained.size(), outcome.skipped.size(), outcome.seconds, outcome.report);
  });
}

}  // namespace apot::cli
