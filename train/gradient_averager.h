// Data-parallel gradient averaging: after each rank's backward pass, every parameter's gradient becomes
// the mean over the ranks, so every rank's optimiser takes the same step (torch's DistributedDataParallel).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "train/process_group.h"

namespace apot::train {

class GradientAverager {
 public:
  // DDP's default bucket size: few enough collectives for small layers, several for large networks.
  static constexpr size_t kDefaultBucketBytes = size_t{25} << 20;

  // Buckets follow the parameters in reverse order, the order backward produces their gradients.
  GradientAverager(ProcessGroup& group, std::vector<torch::Tensor> params, size_t bucket_bytes = kDefaultBucketBytes);

  // Packs each bucket's gradients into one flat tensor (zeros for a parameter without a gradient, so
  // every rank sends the same layout; such a parameter keeps no gradient, and the optimiser skips it as
  // it would in one process: a parameter must be used on every rank or on none), starts every bucket's all-reduce, then awaits them in order and
  // writes the means back: the transfers of the later buckets overlap the unpacking of the earlier.
  void average();

  size_t num_buckets() const { return buckets_.size(); }

 private:
  ProcessGroup& group_;
  std::vector<torch::Tensor> params_;
  std::vector<std::vector<size_t>> buckets_;  // indices into params_
};

}  // namespace apot::train
