// A console reporter that also remembers each benchmark's time, so a benchmark main can print ratios
// of runs measured side by side in the same process (targets live in ratios, never in unit tests).
#pragma once

#include <map>
#include <string>

#include <benchmark/benchmark.h>

namespace apot::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration || run.aggregate_name == "median") {
        times_[run.run_name.function_name] = run.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Time of `name` relative to `baseline`, or a negative number when either did not run.
  double ratio(const std::string& name, const std::string& baseline) const {
    const auto a = times_.find(name), b = times_.find(baseline);
    if (a == times_.end() || b == times_.end()) return -1;
    return a->second / b->second;
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace apot::bench
