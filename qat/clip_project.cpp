#include "qat/clip_project.h"

#include <stdexcept>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace apot::qat {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Chunks of a fixed size, so partial sums and hence gradients are the same for any thread count.
constexpr int64_t kChunk = 1 << 15;

int64_t chunks_of(int64_t n) { return (n + kChunk - 1) / kChunk; }

// Calls fn(begin, end, slice) for every chunk of every slice of x along dim 0 (one slice unless alpha is
// per channel), in parallel; chunk_index(slice, chunk) numbers them for per-chunk results.
struct Slicing {
  int64_t slices = 1;
  int64_t slice_size = 0;
  int64_t chunks_per_slice = 0;

  Slicing(int64_t numel, int64_t alphas) : slices(alphas), slice_size(alphas ? numel / alphas : 0) {
    chunks_per_slice = chunks_of(slice_size);
  }
  int64_t total_chunks() const { return slices * chunks_per_slice; }

  template <typename Fn>
  void for_each_chunk(Fn&& fn) const {
    at::parallel_for(0, total_chunks(), 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) {
        const int64_t slice = c / chunks_per_slice;
        const int64_t begin = slice * slice_size + (c % chunks_per_slice) * kChunk;
        const int64_t end = std::min(begin + kChunk, (slice + 1) * slice_size);
        fn(c, slice, begin, end);
      }
    });
  }
};

std::vector<float> alpha_values(const torch::Tensor& alpha) {
  const torch::Tensor a = alpha.detach().to(torch::kFloat).contiguous().reshape({-1});
  return std::vector<float>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
}

class ClipProjectFunction : public torch::autograd::Function<ClipProjectFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& alpha,
                               const Projector* projector, ClipGradRule rule) {
    const torch::Tensor x = x_in.contiguous();
    const std::vector<float> alphas = alpha_values(alpha);
    const Slicing slicing(x.numel(), static_cast<int64_t>(alphas.size()));
    std::vector<Projector::Prepared> prepared;
    for (float a : alphas) prepared.push_back(projector->prepare(a));

    torch::Tensor out = torch::empty_like(x);
    const float* in_data = x.data_ptr<float>();
    float* out_data = out.data_ptr<float>();
    std::vector<int64_t> first_nan(static_cast<size_t>(slicing.total_chunks()), -1);
    slicing.for_each_chunk([&](int64_t c, int64_t slice, int64_t begin, int64_t end) {
      const size_t n = static_cast<size_t>(end - begin);
      const size_t nan_at = prepared[static_cast<size_t>(slice)].run(in_data + begin, out_data + begin, n);
      if (nan_at < n) first_nan[static_cast<size_t>(c)] = begin + static_cast<int64_t>(nan_at);
    });
    for (int64_t index : first_nan) {
      if (index >= 0) {
        throw std::domain_error(fmt::format("cannot quantise NaN (element {} of a tensor of {})", index, x.numel()));
      }
    }
    ctx->save_for_backward({x, out, alpha});
    ctx->saved_data["is_signed"] = rule.is_signed;
    ctx->saved_data["input"] = static_cast<int64_t>(rule.input);
    ctx->saved_data["alpha"] = static_cast<int64_t>(rule.alpha);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& out = saved[1];
    const torch::Tensor& alpha = saved[2];
    ClipGradRule rule;
    rule.is_signed = ctx->saved_data["is_signed"].toBool();
    rule.input = static_cast<InputGrad>(ctx->saved_data["input"].toInt());
    rule.alpha = static_cast<AlphaGrad>(ctx->saved_data["alpha"].toInt());

    const torch::Tensor g = grads[0].contiguous();
    const std::vector<float> alphas = alpha_values(alpha);
    const Slicing slicing(x.numel(), static_cast<int64_t>(alphas.size()));
    torch::Tensor grad_x = torch::empty_like(x);
    std::vector<double> partial(static_cast<size_t>(slicing.total_chunks()), 0.0);
    const float* x_data = x.data_ptr<float>();
    const float* out_data = out.data_ptr<float>();
    const float* g_data = g.data_ptr<float>();
    float* grad_x_data = grad_x.data_ptr<float>();
    slicing.for_each_chunk([&](int64_t c, int64_t slice, int64_t begin, int64_t end) {
      partial[static_cast<size_t>(c)] = clip_project_backward(
          x_data + begin, out_data + begin, g_data + begin, grad_x_data + begin,
          static_cast<size_t>(end - begin), alphas[static_cast<size_t>(slice)], rule);
    });
    // Sum each slice's chunks in order: deterministic.
    std::vector<double> sums(alphas.size(), 0.0);
    for (int64_t c = 0; c < slicing.total_chunks(); ++c) sums[static_cast<size_t>(c / slicing.chunks_per_slice)] += partial[static_cast<size_t>(c)];
    torch::Tensor grad_alpha = torch::tensor(std::vector<float>(sums.begin(), sums.end())).reshape(alpha.sizes()).to(alpha.dtype());
    return {grad_x, grad_alpha, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor clip_project(const torch::Tensor& x, const torch::Tensor& alpha, const Projector& projector,
                           const ClipGradRule& rule) {
  if (x.scalar_type() != torch::kFloat) {
    throw std::invalid_argument(fmt::format("quantiser input must be float32, got {}", std::string(c10::toString(x.scalar_type()))));
  }
  const int64_t alphas = alpha.numel();
  if (alphas != 1 && (x.dim() == 0 || x.size(0) != alphas)) {
    throw std::invalid_argument(fmt::format("{} clipping thresholds for a tensor of shape {}: expected 1 or one per slice along dim 0",
                                            alphas, fmt::join(x.sizes().vec(), "x")));
  }
  if (x.numel() == 0) return x.clone();
  return ClipProjectFunction::apply(x, alpha, &projector, rule);
}

}  // namespace apot::qat
