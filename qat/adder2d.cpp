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

// y = adder(x, w), the images split between LibTorch's threads; x and w contiguous.
torch::Tensor adder_forward_tensor(const torch::Tensor& x, const torch::Tensor& w, int64_t stride, int64_t padding) {
  const AdderShape s = shape_of(x, w, stride, padding);
  s.check();
  torch::Tensor y = torch::empty({s.batch, s.out_channels, s.out_height(), s.out_width()});
  at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
    adder_forward(s, x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), begin, end);
  });
  return y;
}

constexpr int64_t kImagesPerChunk = 4;

class AdderFunction : public torch::autograd::Function<AdderFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& w_in,
                               int64_t stride, int64_t padding, double eta) {
    const torch::Tensor x = x_in.contiguous(), w = w_in.contiguous();
    torch::Tensor y = adder_forward_tensor(x, w, stride, padding);
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
  if (options.bits != 32 && (options.bits < 2 || options.bits > kMaxAdderBits)) {
    throw std::invalid_argument(fmt::format("adder: {} bits, expected 2..{} or 32", options.bits, kMaxAdderBits));
  }
  adder = register_parameter("adder", torch::randn({options.out_channels, options.in_channels, options.kernel,
                                                    options.kernel}));
  if (options.bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_channels * options.kernel * options.kernel));
    b = register_parameter("b", (torch::rand({options.out_channels}) * 2 - 1) * bound);
  }
  if (quantized()) {
    act_range = register_buffer("act_range", torch::ones({1}));
    bias_list = register_buffer("bias_list", torch::zeros({options.out_channels}));
    kernel_group = register_buffer("kernel_group", torch::zeros({options.out_channels}, torch::kLong));
    group_scale = register_buffer("group_scale", torch::ones({options.out_channels}));
  }
}

AdderLayerQuant Adder2dImpl::quantization() const {
  if (!quantized()) throw std::invalid_argument("adder: a full-precision layer has no quantisation");
  AdderLayerQuant q;
  q.bits = options_.bits;
  q.input_range = act_range.item<float>();
  const auto groups = kernel_group.accessor<int64_t, 1>();
  const auto scales = group_scale.accessor<float, 1>();
  for (int64_t t = 0; t < options_.out_channels; ++t) {
    const int64_t g = groups[t];
    if (g < 0 || g >= options_.out_channels) {
      throw std::invalid_argument(fmt::format("adder: kernel_group[{}] = {}, expected 0..{}", t, g, options_.out_channels - 1));
    }
    if (g >= q.groups()) q.group_scale.resize(static_cast<size_t>(g + 1), 0.0f);
    float& s = q.group_scale[static_cast<size_t>(g)];
    if (s != 0 && s != scales[t]) {
      throw std::invalid_argument(fmt::format("adder: group {} has two scales ({} and {})", g, s, scales[t]));
    }
    if (!(scales[t] > 0)) throw std::invalid_argument(fmt::format("adder: group_scale[{}] = {}, expected > 0", t, scales[t]));
    s = scales[t];
    q.group.push_back(static_cast<int>(g));
  }
  q.bias.assign(bias_list.data_ptr<float>(), bias_list.data_ptr<float>() + options_.out_channels);
  return q;
}

void Adder2dImpl::set_quantization(const AdderLayerQuant& q) {
  if (q.bits != options_.bits || static_cast<int64_t>(q.group.size()) != options_.out_channels ||
      static_cast<int64_t>(q.bias.size()) != options_.out_channels) {
    throw std::invalid_argument(fmt::format("adder: a {}-bit quantisation of {} channels for a {}-bit layer of {}", q.bits,
                                            q.group.size(), options_.bits, options_.out_channels));
  }
  torch::NoGradGuard no_grad;
  act_range.fill_(q.input_range);
  for (int64_t t = 0; t < options_.out_channels; ++t) {
    const int g = q.group[static_cast<size_t>(t)];
    kernel_group[t] = g;
    group_scale[t] = q.group_scale.at(static_cast<size_t>(g));
    bias_list[t] = q.bias[static_cast<size_t>(t)];
  }
}

void Adder2dImpl::observe_inputs(double percentile) {
  if (!quantized()) throw std::invalid_argument("adder: only a quantised layer calibrates its input range");
  observing_ = percentile;
  observed_.reset();
}

std::optional<float> Adder2dImpl::stop_observing() {
  observing_.reset();
  return observed_;
}

torch::Tensor Adder2dImpl::quantized_forward(const torch::Tensor& x_in) {
  if (torch::GradMode::is_enabled() && (adder.requires_grad() || x_in.requires_grad())) {
    throw std::invalid_argument("adder: a post-training quantised layer does not train (run it under no_grad; "
                                "train at full precision, then quantise with apot ptq)");
  }
  const AdderLayerQuant q = quantization();
  const torch::Tensor x = x_in.contiguous(), w = adder.contiguous();
  const AdderShape s = shape_of(x, w, options_.stride, options_.padding);
  torch::Tensor y = torch::empty({s.batch, s.out_channels, s.out_height(), s.out_width()});
  torch::Tensor codes = torch::empty_like(x);
  const float* xp = x.data_ptr<float>();
  float* cp = codes.data_ptr<float>();
  for (int g = 0; g < q.groups(); ++g) {
    std::vector<int64_t> channels;
    for (int64_t t = 0; t < s.out_channels; ++t) {
      if (q.group[static_cast<size_t>(t)] == g) channels.push_back(t);
    }
    if (channels.empty()) continue;
    const float scale = q.group_scale[static_cast<size_t>(g)];
    at::parallel_for(0, x.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) cp[i] = static_cast<float>(adder_act_code(xp[i], scale, q.bits));
    });
    const int64_t taps = s.taps();
    torch::Tensor wq = torch::empty({static_cast<int64_t>(channels.size()), s.in_channels, s.kernel, s.kernel});
    for (size_t c = 0; c < channels.size(); ++c) {
      const float* src = w.data_ptr<float>() + channels[c] * taps;
      float* dst = wq.data_ptr<float>() + static_cast<int64_t>(c) * taps;
      for (int64_t k = 0; k < taps; ++k) dst[k] = static_cast<float>(adder_weight_code(src[k], scale, q.bits));
    }
    // -sum |a - 2 q| sums integers: exact in float while below 2^24 (taps x 2^(bits + 1)), then one
    // multiply by the step.
    const torch::Tensor index = torch::tensor(channels);
    const torch::Tensor sums = adder_forward_tensor(codes, wq, options_.stride, options_.padding);
    y.index_copy_(1, index, sums * (scale / static_cast<float>(q.levels())) + bias_list.index_select(0, index).view({1, -1, 1, 1}));
  }
  return y;
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
  if (observing_) {
    const torch::Tensor c = x.contiguous();
    const float range = abs_percentile(c.data_ptr<float>(), static_cast<size_t>(c.numel()), *observing_);
    observed_ = std::max(observed_.value_or(range), range);
  }
  torch::Tensor y = quantized() && !observing_ ? quantized_forward(x)
                                               : AdderFunction::apply(x, adder, options_.stride, options_.padding, options_.eta);
  return b.defined() ? y + b.view({1, -1, 1, 1}) : y;
}

}  // namespace apot::qat
