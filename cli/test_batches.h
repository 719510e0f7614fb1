// A dataset's test split in batches, normalised as an exported model expects: the data `apot run` and
// `apot verify` feed the integer engine and the fake-quant network.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/model_options.h"
#include "deploy/format/integer_model.h"

namespace apot::cli {

// Calls fn(images NCHW, labels, count) for consecutive batches of the first `limit` test images (all for
// 0). Throws std::invalid_argument when the dataset's image shape or classes differ from the model's, or
// the model carries no normalisation.
void for_each_test_batch(const deploy::IntegerModel& model, const std::string& dataset, const std::string& data_dir,
                         size_t limit, int64_t batch_size,
                         const std::function<void(const float*, const int64_t*, int64_t)>& fn);

// What run and verify feed an exported model (--model): a tensor file (--input), or a dataset's test images
// (--dataset, --data-dir, --test-limit) in batches of --batch-size.
struct EngineInputFlags {
  std::string model;
  std::string input;
  DataFlags data;
  size_t test_limit = 0;  // 0: all
  int64_t batch_size = 100;  // the one default of run and verify
  void add_to(CLI::App& command);
  void for_each_test_batch(const deploy::IntegerModel& model,
                           const std::function<void(const float*, const int64_t*, int64_t)>& fn) const;
};

}  // namespace apot::cli
