#include "study/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace apot::study {

namespace {

const RowResult* find(const std::vector<RowResult>& results, const std::string& name) {
  auto it = std::find_if(results.begin(), results.end(), [&](const RowResult& r) { return r.name == name; });
  return it == results.end() ? nullptr : &*it;
}

TargetCheck not_checked(std::string target, const std::vector<std::string>& rows, const std::vector<RowResult>& results) {
  std::string missing;
  for (const std::string& r : rows) {
    if (!find(results, r)) missing += (missing.empty() ? "" : ", ") + r;
  }
  return TargetCheck{std::move(target), TargetCheck::Outcome::NotChecked,
                     fmt::format("not checked: row{} {} not in this study", missing.find(',') == std::string::npos ? "" : "s", missing)};
}

// "a >= b + margin" on two rows' fake-quant accuracy; margin < 0 allows a drop of -margin points.
TargetCheck compare(std::string target, const std::vector<RowResult>& results, const std::string& a, const std::string& b,
                    double margin) {
  const RowResult* ra = find(results, a);
  const RowResult* rb = find(results, b);
  if (!ra || !rb) return not_checked(std::move(target), {a, b}, results);
  // A row whose training failed (Table 3's APoT without WN diverges) loses the comparison.
  if (!ra->trained()) return TargetCheck{std::move(target), TargetCheck::Outcome::Missed, a + ": training failed"};
  if (!rb->trained()) {
    return TargetCheck{std::move(target), TargetCheck::Outcome::Met,
                       fmt::format("{} {:.2f} %, {}: training failed", a, ra->fake_quant_accuracy, b)};
  }
  const double difference = ra->fake_quant_accuracy - rb->fake_quant_accuracy;
  const bool met = difference >= margin - 1e-9;
  return TargetCheck{std::move(target), met ? TargetCheck::Outcome::Met : TargetCheck::Outcome::Missed,
                     fmt::format("{} {:.2f} %, {} {:.2f} %: {:+.2f} points", a, ra->fake_quant_accuracy, b,
                                 rb->fake_quant_accuracy, difference)};
}

std::string outcome_text(TargetCheck::Outcome o) {
  switch (o) {
    case TargetCheck::Outcome::Met: return "**met**";
    case TargetCheck::Outcome::Missed: return "**missed**";
    case TargetCheck::Outcome::NotChecked: return "not checked";
  }
  return "?";
}

// Markdown table cells: a '|' would end the cell.
std::string cell(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

std::string duration(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  const long minutes = std::lround(seconds / 60);
  return minutes < 120 ? fmt::format("{} min", minutes) : fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
}

std::string budget_text(const StudyPlan& plan) {
  const StudyOptions& o = plan.options;
  const EpochBudget b = budget_epochs();
  int quantised = 0;
  for (const StudyRow& r : plan.rows) quantised += r.quant.quantizes_weights();
  auto plural = [](int n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
  const std::string counts = fmt::format("{} at full precision, {} for each of the {}", plural(o.epochs_fp, "epoch"),
                                         plural(o.epochs_quant, "epoch"), plural(quantised, "quantised row"));
  std::string text;
  if (o.quick) {
    text = fmt::format("Quick mode: {} training and {} test images, {}. It checks that the pipeline runs end to end; its "
                       "accuracies mean nothing, and the targets are for the full study.",
                       o.train_limit, o.test_limit, counts);
  } else if (o.recipe == kCifarPaperRecipe) {
    text = fmt::format("Recipe {} (Appendix C.2): {}; batch 128, SGD momentum 0.9, lr 0.04 scaled by 0.1 at 2/5 and 3/5 of the "
                       "epochs (80 and 120 of 200), weight decay 1e-4; alpha initialised at 3.0 (weights) and 8.0 "
                       "(activations), alpha lr 0.01 (weights) and 0.03 (activations), alpha weight decay 1e-5 at 5 bits "
                       "and 1e-4 below.",
                       kCifarPaperRecipe, counts);
  } else {
    // The hyper-parameters as the plan's rows carry them: the first row from scratch, the first quantised one.
    Hyper fp, quant;
    for (auto r = plan.rows.rbegin(); r != plan.rows.rend(); ++r) (r->quant.quantizes_weights() ? quant : fp) = r->hyper;
    const bool defaults = o.epochs_fp == b.fp && o.epochs_quant == b.quant && o.train_limit == 0;
    const std::string chosen =
        defaults ? "Chosen" : fmt::format("Set by the command; the recipe's own {} and {} epochs are chosen", b.fp, b.quant);
    text = fmt::format(
        "Recipe {}: {}. {} so that the whole study fits in {:.1f} hours on the 2-core machine: a full epoch "
        "over the 60000 Fashion-MNIST images takes about {:.0f} s at full precision, {:.0f} s quantised at 2 to 4 bits and "
        "{:.0f} s at 5 bits (32 activation levels, a slower projection path; ResNet-20, batch 128, 2 threads). The "
        "quantised rows start from a trained network (progressive initialisation) and need few epochs; full precision "
        "from scratch needs the most. Cosine schedule, lr {} from scratch and {} for the quantised rows, weight "
        "decay {} from scratch and {} for the quantised rows, augmentation {} (cropP: pad P, random crop; flip: "
        "horizontal), alpha lr {}, alpha weight decay 1e-5 at 5 bits and 1e-4 below (Appendix C.2).{}",
        kBudgetRecipe, counts, chosen, b.budget_seconds / 3600, b.fp_epoch_seconds, b.quant_epoch_seconds, b.wide_act_epoch_seconds,
        fp.lr, quant.lr, fp.weight_decay, quant.weight_decay, fp.augment, quant.alpha_lr,
        quant.fit_thresholds
            ? " Beyond the paper: a quantised row does not keep the thresholds of the row it starts from (the paper's "
              "constants 3 and 8, barely moved in a few epochs, zero most 2-bit weights and activations) but starts "
              "them at their QEM values, Eq. 14 minimised (`apot train --fit-thresholds`)."
            : "");
  }
  return text + fmt::format(" Estimated wall time of this plan on 2 cores: {}.", duration(estimated_seconds(plan)));
}

}  // namespace

std::vector<TargetCheck> check_targets(const std::vector<RowResult>& results) {
  std::vector<TargetCheck> checks;
  if (const RowResult* fp = find(results, "fp32")) {
    const bool met = fp->trained() && fp->fake_quant_accuracy >= 94.0;
    checks.push_back({"full precision >= 94 %", met ? TargetCheck::Outcome::Met : TargetCheck::Outcome::Missed,
                      fmt::format("fp32 {} %", fp->accuracy_text())});
  } else {
    checks.push_back(not_checked("full precision >= 94 %", {"fp32"}, results));
  }
  for (const auto& [bits, points] : {std::pair{4, 0.3}, {3, 0.6}, {2, 1.5}}) {
    checks.push_back(compare(fmt::format("APoT within {} points of full precision at {} bits", points, bits), results,
                             fmt::format("apot{}", bits), "fp32", -points));
  }
  for (int bits : {4, 3}) {
    checks.push_back(compare(fmt::format("APoT >= uniform at {} bits", bits), results, fmt::format("apot{}", bits),
                             fmt::format("uniform{}", bits), 0));
  }
  checks.push_back(compare("RCF + WN >= WN without RCF (3 bits, Table 3)", results, "apot3", "apot3-no-rcf", 0));
  checks.push_back(compare("RCF + WN >= RCF without WN (3 bits, Table 3)", results, "apot3", "apot3-no-wn", 0));
  return checks;
}

std::string report_markdown(const ReportInput& in) {
  const StudyPlan& plan = *in.plan;
  const StudyOptions& o = plan.options;
  std::string md = fmt::format("# APoT study: {} on {}{}\n\n", o.arch, o.dataset, o.quick ? " (quick mode)" : "");
  md += "Li, Dong, Wang, *Additive Powers-of-Two Quantization*, ICLR 2020, reproduced on this dataset: progressive "
        "initialisation 32 -> 5 -> 4 -> 3 -> 2 bits for APoT, uniform and PoT levels, Lloyd-Max levels, APoT with and "
        "without RCF and WN (Table 3), and the PACT + SAWB baseline (Table 1). Accuracy is top-1 on the test set, of the "
        "fake-quant network (LibTorch) and of the integer engine on the exported model; model size and FixOPs follow the "
        "paper's section 4.1 (docs/cost-model.md; first and last layers at 8 bits, MB = 2^20 bytes).\n\n";

  md += "## Results\n\n| row | configuration | paper | starts from | epochs | fake-quant top-1 (%) | integer top-1 (%) | "
        "size (MB) | FixOPs (M) | wall time |\n|---|---|---|---|---|---|---|---|---|---|\n";
  double total_row_seconds = 0;
  std::string failures;
  for (const StudyRow& row : plan.rows) {
    const RowResult* r = find(in.results, row.name);
    if (!r) {
      md += fmt::format("| {} | {} | {} | {} | {} | not run yet | | | | |\n", row.name, cell(row.label), row.table,
                        row.init_from.empty() ? "random" : row.init_from, row.hyper.epochs);
      continue;
    }
    total_row_seconds += r->wall_seconds();
    if (!r->trained()) failures += fmt::format("- {}: {}\n", row.name, r->failure);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.3f} | {:.1f} | {} |\n", row.name, cell(row.label), row.table,
                      row.init_from.empty() ? "random" : row.init_from, r->epochs, r->accuracy_text(),
                      cell(r->integer_text()), r->size_mb, r->fixops / 1e6, duration(r->wall_seconds()));
  }
  if (!failures.empty()) {
    md += "\nRows whose training failed (a result, recorded so that resuming does not repeat it; delete rows/<row> to "
          "train it again):\n\n" + failures;
  }
  md += "\nThe integer column is the integer engine's own accuracy on the exported model; a row without an integer form "
        "says why. Results as data: [results.csv](results.csv), [results.json](results.json); each row's training log "
        "is rows/<row>/metrics.csv.\n\n";

  md += "## Targets (for the full study)\n\n| target | outcome | numbers |\n|---|---|---|\n";
  for (const TargetCheck& t : check_targets(in.results)) {
    md += fmt::format("| {} | {} | {} |\n", cell(t.target), outcome_text(t.outcome), cell(t.detail));
  }
  if (o.quick) md += "\nQuick mode trains one short epoch on a subset: the outcomes above say nothing about the method.\n";

  md += "\n## Figures\n\n";
  for (const Figure& f : in.figures) {
    md += fmt::format("### {}\n\n", f.title);
    if (f.png.empty()) {
      md += fmt::format("Not drawn: {}.\n\n", f.note);
      continue;
    }
    md += fmt::format("![{}]({})\n\n", f.title, f.png);
    if (!f.note.empty()) md += fmt::format("From {}. ", f.note);
    md += fmt::format("Data and gnuplot script: figures/{}.dat, figures/{}.gp.\n\n", f.name, f.name);
  }

  md += "## How it was run\n\n";
  md += budget_text(plan) + "\n\n";
  double invocation_seconds = 0;
  for (const Invocation& i : in.invocations) invocation_seconds += i.seconds.value_or(0);
  md += fmt::format("Wall time of the rows (training, export, integer engine; across interruptions): **{}**; of the "
                    "invocations below, figures and report included: **{}**{}.\n\n",
                    duration(total_row_seconds), duration(invocation_seconds),
                    std::any_of(in.invocations.begin(), in.invocations.end(), [](const Invocation& i) { return !i.seconds; })
                        ? " (without those cut off)"
                        : "");
  md += "| invocation | started (UTC) | wall time | rows trained or evaluated |\n|---|---|---|---|\n";
  for (const Invocation& i : in.invocations) {
    std::string trained;
    for (const std::string& r : i.trained) trained += (trained.empty() ? "" : ", ") + r;
    md += fmt::format("| `{}` | {} | {} | {} |\n", cell(i.command), i.started,
                      i.seconds ? duration(*i.seconds) : std::string("cut off (or this one, still running)"),
                      trained.empty() ? "none (all finished before)" : trained);
  }
  md += fmt::format("\nA study that stops continues where it stopped when the same command runs again: finished rows "
                    "(rows/<row>/result.json) are skipped, a row cut mid-way resumes from its last epoch's checkpoint. "
                    "Settings: threads {}, seed {}, data {}.\n",
                    o.threads ? std::to_string(o.threads) : std::string("all cores"), o.seed,
                    o.data_dir.empty() ? std::string("the dataset's default directory") : o.data_dir);
  return md;
}

}  // namespace apot::study
