#include "qat/adder2d.h"

#include <fmt/format.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/adder.h"

namespace apot::qat {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

AdderShape shape_of(const torch::Tensor& x, const torch::Tensor& w, int64_t stride, int64_t padding) {
  AdderShape s;
  s.batch = x.size(0);
  s.in_channels = x.size(1);
  s.height = x.size(2);
  s.width = x.size(3);
  s.out_channels = w.size(0);
  s.kernel = w.size(2);
  s.stride = stride;
  s.padding = padding;
  return s;
}

constexpr int64_t kImagesPerChunk = 4;

class AdderFunction : public torch::autograd::Function<AdderFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& w_in,
                               int64_t stride, int64_t padding, double eta) {
    const torch::Tensor x = x_in.contiguous(), w = w_in.contiguous();
    const AdderShape s = shape_of(x, w, stride, padding);
    s.check();
    torch::Tensor y = torch::empty({s.batch, s.out_channels, s.out_height(), s.out_width()});
    at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
      adder_forward(s, x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), begin, end);
    });
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["eta"] = eta;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const AdderShape s = shape_of(x, w, ctx->saved_data["stride"].toInt(), ctx->saved_data["padding"].toInt());
    const torch::Tensor g = grads[0].contiguous();
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    torch::Tensor grad_x = want_x ? torch::empty_like(x) : torch::Tensor(), grad_w;
    // Chunks of a fixed number of images, whatever the thread count: the weight gradient adds their
    // partial sums in chunk order, so it has the same bits at every thread count.
    const int64_t chunks = (s.batch + kImagesPerChunk - 1) / kImagesPerChunk;
    std::vector<AdderWeightPartial> partials(static_cast<size_t>(want_w ? chunks : 0));
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        adder_backward(s, x.data_ptr<float>(), w.data_ptr<float>(), g.data_ptr<float>(),
                       want_x ? grad_x.data_ptr<float>() : nullptr, want_w ? &partials[static_cast<size_t>(c)] : nullptr,
                       c * kImagesPerChunk, std::min(s.batch, (c + 1) * kImagesPerChunk));
      }
    });
    if (want_w) {
      grad_w = torch::empty_like(w);
      adder_weight_grad(s, w.data_ptr<float>(), partials.data(), partials.size(), grad_w.data_ptr<float>());
      adder_scale_weight_grad(grad_w.data_ptr<float>(), static_cast<size_t>(grad_w.numel()),
                              ctx->saved_data["eta"].toDouble());
    }
    return {grad_x, grad_w, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

Adder2dImpl::Adder2dImpl(const Adder2dOptions& options) : options_(options) {
  AdderShape probe;
  probe.in_channels = options.in_channels;
  probe.out_channels = options.out_channels;
  probe.kernel = options.kernel;
  probe.stride = options.stride;
  probe.padding = options.padding;
  probe.height = probe.width = options.kernel;
  probe.check();
  if (!(options.eta > 0)) throw std::invalid_argument(fmt::format("adder: eta = {}, expected > 0", options.eta));
  adder = register_parameter("adder", torch::randn({options.out_channels, options.in_channels, options.kernel,
                                                    options.kernel}));
  if (options.bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_channels * options.kernel * options.kernel));
    b = register_parameter("b", (torch::rand({options.out_channels}) * 2 - 1) * bound);
  }
}

torch::Tensor Adder2dImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != options_.in_channels) {
    throw std::invalid_argument(fmt::format("adder: expected N x {} x H x W input, got {} dimensions{}",
                                            options_.in_channels, x.dim(),
                                            x.dim() == 4 ? fmt::format(" with {} channels", x.size(1)) : ""));
  }
  if (x.scalar_type() != torch::kFloat || !x.device().is_cpu()) {
    throw std::invalid_argument(fmt::format("adder: expected a float32 CPU tensor, got {} on {}",
                                            c10::toString(x.scalar_type()), x.device().str()));
  }
  torch::Tensor y = AdderFunction::apply(x, adder, options_.stride, options_.padding, options_.eta);
  return b.defined() ? y + b.view({1, -1, 1, 1}) : y;
}

}  // namespace apot::qat
