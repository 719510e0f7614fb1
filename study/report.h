// The study's Markdown report (out/report.md): the rows as the paper's tables have them (accuracy,
// model size, FixOPs; Tables 1-3), the study's targets checked one by one, the figures, and how the
// study was run. Plain C++, no LibTorch.
#pragma once

#include <string>
#include <vector>

#include "study/figures.h"
#include "study/plan.h"
#include "study/results.h"

namespace apot::study {

// One of the study's targets for the full study, checked on the fake-quant accuracies.
struct TargetCheck {
  enum class Outcome { Met, Missed, NotChecked };
  std::string target;  // e.g. "APoT within 0.3 points of full precision at 4 bits"
  Outcome outcome = Outcome::NotChecked;
  std::string detail;  // the numbers, or why it was not checked (a row missing from a reduced plan)
};

// The targets: full precision >= 94 %; APoT within 0.3 / 0.6 / 1.5 points of it at 4 / 3 / 2 bits;
// APoT >= uniform at 4 and at 3 bits; RCF + WN >= each of its ablations (3 bits).
std::vector<TargetCheck> check_targets(const std::vector<RowResult>& results);

struct ReportInput {
  const StudyPlan* plan = nullptr;
  std::vector<RowResult> results;  // finished rows, plan order
  std::vector<Figure> figures;
  std::vector<Invocation> invocations;
};

std::string report_markdown(const ReportInput& input);

}  // namespace apot::study
