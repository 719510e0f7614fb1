// The per-epoch metrics log a training run keeps (metrics.csv): written by the trainer after every
// epoch, read back when it resumes and by the study's figures. Plain C++, no LibTorch.
#pragma once

#include <string>
#include <vector>

namespace apot::train {

struct EpochMetrics {
  int epoch = 0;
  double lr = 0, train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0, seconds = 0;
};

// The CSV text: a header line "epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds",
// then one line per epoch.
std::string metrics_csv(const std::vector<EpochMetrics>& rows);

// The first `max_epochs` rows of a metrics.csv (all of them for a negative count). Throws
// std::runtime_error naming the file and the line for a missing file or a malformed line.
std::vector<EpochMetrics> read_metrics(const std::string& path, int max_epochs = -1);
// The same from the CSV text; errors name `source`.
std::vector<EpochMetrics> parse_metrics(const std::string& csv, const std::string& source, int max_epochs = -1);

}  // namespace apot::train
