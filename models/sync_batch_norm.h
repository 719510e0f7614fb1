// Batch norm whose training-time statistics can span every process of a data-parallel run (torch's
// SyncBatchNorm), so that N processes with batch B compute what one process with batch N * B computes:
// the same normalisation, the same gradients, the same running statistics on every rank.
//
// The models layer knows nothing of process groups: it is handed a ReplicaSum, a differentiable sum
// over the processes (train/ implements it on c10d).
#pragma once

#include <memory>

#include <torch/torch.h>

namespace apot::models {

// Sums a tensor over all processes; every process calls it with a tensor of the same shape, in the same
// order. Differentiable: the gradient of a sum over processes is the sum over processes of the gradients.
class ReplicaSum {
 public:
  virtual ~ReplicaSum() = default;
  virtual torch::Tensor operator()(const torch::Tensor& x) = 0;
};

// torch::nn::BatchNorm2d's parameters, buffers, options and state_dict names. Without a ReplicaSum, or in
// eval mode, it computes exactly what torch's does. With one, in training mode, mean and variance are over
// the batch of every process: mean = sum(x) / N, var = sum((x - mean)^2) / N (two reductions, not
// E[x^2] - mean^2, which cancels badly); the running variance gets the unbiased N / (N - 1) form as in
// torch. (Not derived from torch's class: Debian's LibTorch does not export what a subclass would link.)
class SyncBatchNorm2dImpl : public torch::nn::Cloneable<SyncBatchNorm2dImpl> {
 public:
  explicit SyncBatchNorm2dImpl(int64_t num_features) : SyncBatchNorm2dImpl(torch::nn::BatchNormOptions(num_features)) {}
  explicit SyncBatchNorm2dImpl(const torch::nn::BatchNormOptions& options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  void synchronise(std::shared_ptr<ReplicaSum> sum) { sum_ = std::move(sum); }

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  torch::Tensor synchronised_forward(const torch::Tensor& input);

  std::shared_ptr<ReplicaSum> sum_;
};
TORCH_MODULE(SyncBatchNorm2d);

// Hands every SyncBatchNorm2d in `module` the ReplicaSum (nullptr: back to per-process statistics).
void synchronise_batch_norms(torch::nn::Module& module, const std::shared_ptr<ReplicaSum>& sum);

}  // namespace apot::models
