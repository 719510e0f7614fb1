// Top-1 accuracy of the integer engine (deploy/engine/engine.h) on a test set: the study's "integer-engine
// accuracy" column, next to the fake-quant network's. Plain C++, no LibTorch.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "deploy/engine/engine.h"
#include "deploy/format/integer_model.h"

namespace apot::study {

struct IntegerAccuracy {
  double accuracy = 0;  // percent
  int64_t images = 0;
  std::string kernel;   // the engine kernel that ran
};

// Runs `model` on every image of `test`, normalised by `norm` (the training input's), in batches.
// Throws std::invalid_argument when the set's images or classes differ from the model's.
IntegerAccuracy integer_accuracy(const deploy::IntegerModel& model, const data::ImageSet& test, const data::Normalization& norm,
                                 const deploy::EngineOptions& options, int64_t batch_size = 100);

}  // namespace apot::study
