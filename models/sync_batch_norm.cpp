#include "models/sync_batch_norm.h"

#include <fmt/format.h>

namespace apot::models {

SyncBatchNorm2dImpl::SyncBatchNorm2dImpl(const torch::nn::BatchNormOptions& options) : options(options) { reset(); }

void SyncBatchNorm2dImpl::reset() {
  const int64_t n = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::ones({n}));
    bias = register_parameter("bias", torch::zeros({n}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({n}));
    running_var = register_buffer("running_var", torch::ones({n}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  }
}

void SyncBatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "SyncBatchNorm2d(" << options.num_features() << ", eps=" << options.eps() << ", momentum="
         << (options.momentum() ? std::to_string(*options.momentum()) : "None") << ", affine=" << options.affine()
         << ", track_running_stats=" << options.track_running_stats() << ", synchronised=" << (sum_ != nullptr) << ")";
}

// Exactly torch::nn::BatchNorm2d's forward (momentum None: a cumulative average).
torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4) throw std::invalid_argument(fmt::format("SyncBatchNorm2d: expected a 4-d input, got {}-d", input.dim()));
  if (sum_ && is_training()) return synchronised_forward(input);
  double factor = options.momentum().value_or(0.0);
  if (is_training() && options.track_running_stats()) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  return torch::batch_norm(input, weight, bias, running_mean, running_var, is_training() || !options.track_running_stats(), factor,
                           options.eps(), /*cudnn_enabled=*/true);
}

torch::Tensor SyncBatchNorm2dImpl::synchronised_forward(const torch::Tensor& input) {
  const int64_t channels = input.size(1);
  const std::vector<int64_t> reduce_dims{0, 2, 3};
  const std::vector<int64_t> per_channel{1, channels, 1, 1};

  // The count travels with the first sum (ranks may hold batches of different sizes); it carries no gradient.
  const double local_count = static_cast<double>(input.numel() / std::max<int64_t>(channels, 1));
  const torch::Tensor sums = (*sum_)(torch::cat({input.sum(reduce_dims), torch::full({1}, local_count, input.options())}));
  const double count = sums[channels].item<double>();
  if (count < 2) throw std::invalid_argument("SyncBatchNorm2d: training needs more than one value per channel over all processes");
  const torch::Tensor mean = sums.slice(0, 0, channels) / count;
  const torch::Tensor centred = input - mean.view(per_channel);
  const torch::Tensor var = (*sum_)(centred.square().sum(reduce_dims)) / count;
  const double eps = options.eps();
  torch::Tensor out = centred * torch::rsqrt(var + eps).view(per_channel);
  if (options.affine()) out = out * weight.view(per_channel) + bias.view(per_channel);

  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked += 1;
    const double momentum = options.momentum().has_value() ? *options.momentum()
                                                            : 1.0 / num_batches_tracked.item<double>();  // cumulative average
    running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
    running_var.mul_(1 - momentum).add_(var.detach() * (count / (count - 1)), momentum);
  }
  return out;
}

void synchronise_batch_norms(torch::nn::Module& module, const std::shared_ptr<ReplicaSum>& sum) {
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto bn = std::dynamic_pointer_cast<SyncBatchNorm2dImpl>(m)) bn->synchronise(sum);
  }
}

}  // namespace apot::models
