#include "train/metrics.h"

#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "core/atomic_file.h"

namespace apot::train {

namespace {
const char* kMetricsHeader = "epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds";
}  // namespace

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::string csv = std::string(kMetricsHeader) + "\n";
  for (const EpochMetrics& m : rows) {
    csv += fmt::format("{},{:.6g},{:.6f},{:.4f},{:.6f},{:.4f},{:.2f}\n", m.epoch, m.lr, m.train_loss, m.train_accuracy,
                       m.test_loss, m.test_accuracy, m.seconds);
  }
  return csv;
}

std::vector<EpochMetrics> read_metrics(const std::string& path, int max_epochs) {
  return parse_metrics(read_file(path), path, max_epochs);
}

std::vector<EpochMetrics> parse_metrics(const std::string& csv, const std::string& path, int max_epochs) {
  std::vector<EpochMetrics> rows;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while ((max_epochs < 0 || static_cast<int>(rows.size()) < max_epochs) && std::getline(in, line)) {
    if (line.empty()) continue;
    EpochMetrics m;
    char comma;
    std::istringstream fields(line);
    fields >> m.epoch >> comma >> m.lr >> comma >> m.train_loss >> comma >> m.train_accuracy >> comma >> m.test_loss >>
        comma >> m.test_accuracy >> comma >> m.seconds;
    if (!fields) throw std::runtime_error(fmt::format("{}: malformed line '{}'", path, line));
    rows.push_back(m);
  }
  return rows;
}

}  // namespace apot::train
