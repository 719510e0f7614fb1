// A batch of a dataset as LibTorch tensors, filled by the data layer (normalised, augmented).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "data/batches.h"
#include "data/dataset.h"

namespace apot::train {

struct Batch {
  torch::Tensor images, labels;
};

// Images indices[begin .. begin + count) as data::fill_batch writes them: N x C x H x W floats, int64 labels.
Batch make_batch(const data::ImageSet& set, const std::vector<size_t>& indices, size_t begin, size_t count,
                 const data::Normalization& norm, const data::AugmentOptions& augment, uint64_t augment_seed);

}  // namespace apot::train
