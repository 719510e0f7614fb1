// Runs a study plan (study/plan.h): for each row, trains it (or skips it, or resumes it), measures the
// fake-quant accuracy, exports it to the integer engine and measures that accuracy too, prices it with
// the paper's cost model (model size, FixOPs; section 4.1), then draws the figures and writes the
// report. Everything goes into plan.options.out_dir (layout in study/results.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "study/figures.h"
#include "study/plan.h"
#include "study/results.h"

namespace apot::study {

using Log = std::function<void(const std::string&)>;

struct StudyOutcome {
  std::vector<RowResult> results;     // every row of the plan, in plan order
  std::vector<std::string> trained;   // rows this invocation trained or evaluated
  std::vector<std::string> skipped;   // rows finished before it
  std::vector<Figure> figures;
  std::string report;                 // path of report.md
  double seconds = 0;                 // this invocation
};

// Before the first row, checks what would otherwise stop the study after hours of training: gnuplot
// with a PNG terminal and the dataset's files (both splits); throws std::runtime_error saying what is
// missing and how to provide it (for CIFAR-10, its binary files by name). `command` is recorded in
// invocations.json and the report. Rows already finished in the out dir are skipped (a "skipped" line
// in the log); a row whose files were made with other settings is an error naming the file. `log` gets
// one line per event and the trainer's lines, prefixed by the row.
StudyOutcome run_study(const StudyPlan& plan, const std::string& command, const Log& log);

}  // namespace apot::study
