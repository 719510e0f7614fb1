#include "train/gradient_averager.h"

namespace apot::train {

GradientAverager::GradientAverager(ProcessGroup& group, std::vector<torch::Tensor> params, size_t bucket_bytes)
    : group_(group), params_(std::move(params)) {
  size_t bytes = 0;
  for (size_t i = params_.size(); i-- > 0;) {
    const size_t size = static_cast<size_t>(params_[i].numel()) * params_[i].element_size();
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(i);
    bytes += size;
  }
}

void GradientAverager::average() {
  if (group_.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<std::vector<torch::Tensor>> flat(buckets_.size());
  std::vector<std::unique_ptr<ProcessGroup::Pending>> pending;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    std::vector<torch::Tensor> parts;
    for (size_t i : buckets_[b]) {
      const torch::Tensor& g = params_[i].grad();
      parts.push_back(g.defined() ? g.reshape({-1}) : torch::zeros({params_[i].numel()}, params_[i].options()));
    }
    flat[b] = {torch::cat(parts)};
    pending.push_back(group_.all_reduce_sum_async(flat[b]));
  }
  const double scale = 1.0 / group_.world_size();
  for (size_t b = 0; b < buckets_.size(); ++b) {
    pending[b]->wait();
    int64_t offset = 0;
    for (size_t i : buckets_[b]) {
      torch::Tensor& p = params_[i];
      const int64_t n = p.numel();
      const torch::Tensor mean = flat[b][0].slice(0, offset, offset + n).view_as(p).mul_(scale);
      if (p.grad().defined()) p.mutable_grad().copy_(mean);
      offset += n;
    }
  }
}

}  // namespace apot::train
