#include "deploy/export/export.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "data/dataset.h"
#include "data/datasets.h"
#include "deploy/engine/input_quant.h"
#include "deploy/format/validate.h"
#include "models/network_layout.h"

namespace apot::deploy {

namespace {

using models::ConvBn;

// What the program knows about a buffer while it is being built.
struct Tensor3 {
  int buffer = 0;
  int channels = 0, height = 0, width = 0;
};

LevelSetSpec spec_of(const LevelSet& set) {
  if (!set.has_integer_form()) {
    throw std::invalid_argument(fmt::format("the level set '{}' has no integer form", set.describe()));
  }
  return {set.scheme(), set.bits(), set.base_bits(), set.is_signed()};
}

// The real value of integer 1 of a level set at alpha = 1: levels are integer * gamma * 2^-shift.
double integer_unit(const LevelSet& set) { return set.gamma() * std::ldexp(1.0, -set.shift()); }

std::vector<double> to_doubles(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Quantised weights as codes: each effective weight (alpha times a level, as the fake-quant layer
// computes it) divided by its channel's alpha must be a level to float precision.
struct QuantisedWeights {
  LevelSetSpec spec;
  std::vector<WeightCode> codes;
  std::vector<double> alpha;  // 1 or one per output channel
  double unit = 1;            // real weight = alpha[c] * unit * integer
};

// The reference's 8-bit layers round W / max(W) * 127 without a clamp (max W, not max |W|), so weights
// below -max W land beyond -127 steps, outside the 8-bit set. They are kept as they are: the layer moves
// to the narrowest wider uniform set whose integers reach them, on the same grid (its alpha scaled by
// (2^(b-1) - 1) / 127, so integer i stays i), and the engine multiplies what the fake-quant layer does.
// Returns the set, scaling `alpha` in place; the set itself where every weight is inside it.
LevelSet widened_uniform(const std::string& name, const LevelSet& set, const std::vector<double>& w,
                         std::vector<double>& alpha, std::vector<std::string>* notes) {
  const size_t per_channel = w.size() / alpha.size();
  const double steps = static_cast<double>((int64_t{1} << set.magnitude_bits()) - 1);
  double furthest = 0;
  int64_t beyond = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double y = std::abs(w[i] / alpha[i / per_channel]);
    if (y > 1 + 0.5 / steps) ++beyond;
    furthest = std::max(furthest, y);
  }
  if (beyond == 0) return set;
  const int64_t largest = std::llround(furthest * steps);
  int bits = set.bits();
  while (bits < LevelSet::kMaxUniformBits && (int64_t{1} << (bits - 1)) - 1 < largest) ++bits;
  if ((int64_t{1} << (bits - 1)) - 1 < largest) {
    throw std::invalid_argument(fmt::format("{}: a weight reaches {:.4g} x max W, beyond the {}-bit uniform grid "
                                            "the engine holds", name, furthest, LevelSet::kMaxUniformBits));
  }
  const double scale = static_cast<double>((int64_t{1} << (bits - 1)) - 1) / steps;
  for (double& a : alpha) a *= scale;
  if (notes) {
    notes->push_back(fmt::format("{}: {} weights reach up to {:.4f} x max W (the reference rounds without a clamp): "
                                 "stored as {}-bit uniform codes on the same grid", name, beyond, furthest, bits));
  }
  return LevelSet::uniform(bits, true);
}

QuantisedWeights quantised_weights(const std::string& name, qat::WeightQuant& quant, const torch::Tensor& weight,
                                   std::vector<std::string>* notes) {
  const qat::QuantConfig& config = quant->config();
  if (config.weight_quantizer == qat::WeightQuantizer::Dorefa) {
    throw std::invalid_argument(fmt::format("{}: DoReFa weights have no zero level and no integer form; export "
                                            "supports rcf, sawb and lsq weights", name));
  }
  torch::NoGradGuard no_grad;
  QuantisedWeights q;
  q.alpha = to_doubles(quant->alpha_for(weight));
  for (const double alpha : q.alpha) {
    if (!(alpha > 0) || !std::isfinite(alpha)) {
      throw std::invalid_argument(fmt::format("{}: weight threshold alpha = {} (expected a positive number)", name, alpha));
    }
  }
  const std::vector<double> w = to_doubles(quant->forward(weight));
  const bool unclamped = config.reference_compat && config.weight_quantizer == qat::WeightQuantizer::MaxAbs &&
                         quant->levels().scheme() == Scheme::Uniform;
  const LevelSet set = unclamped ? widened_uniform(name, quant->levels(), w, q.alpha, notes) : quant->levels();
  try {
    q.spec = spec_of(set);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: {}", name, e.what()));
  }
  q.unit = integer_unit(set);
  const size_t per_channel = w.size() / q.alpha.size();
  const std::vector<double> values = set.values();
  q.codes.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const double y = w[i] / q.alpha[i / per_channel];
    auto it = std::lower_bound(values.begin(), values.end(), y);
    if (it == values.end() || (it != values.begin() && y - *(it - 1) < *it - y)) --it;
    if (std::abs(*it - y) > 1e-4) {
      throw std::invalid_argument(fmt::format("{}: weight {} is {} x alpha, {} from the nearest level {}: the "
                                              "checkpoint does not match the quantisation flags", name, i, y,
                                              std::abs(*it - y), *it));
    }
    q.codes[i] = static_cast<WeightCode>(set.levels()[static_cast<size_t>(it - values.begin())].code);
  }
  return q;
}

// M as multiplier * 2^-shift with |multiplier| in [2^30, 2^31): 31 significant bits.
std::pair<int32_t, uint8_t> fixed_point(double m, const std::string& name, int64_t channel) {
  if (m == 0) return {0, 0};
  if (!std::isfinite(m)) throw std::invalid_argument(fmt::format("{}: channel {} has a non-finite scale", name, channel));
  int shift = 30 - std::ilogb(m);
  double mantissa = std::round(std::ldexp(m, shift));
  if (std::abs(mantissa) >= 2147483648.0) mantissa = std::round(std::ldexp(m, --shift));
  if (shift > 62) mantissa = std::round(std::ldexp(m, shift = 62));
  if (shift < 0) {
    throw std::invalid_argument(fmt::format("{}: channel {} needs a requant scale of {} (over 2^31): export with "
                                            "fewer --frac-bits", name, channel, m));
  }
  return {static_cast<int32_t>(mantissa), static_cast<uint8_t>(shift)};
}

// A value already in stream units (value * 2^frac_bits, rounded by the caller) as an int32.
int32_t to_stream(double units, const std::string& what) {
  if (!(std::abs(units) < 2147483647.0)) {
    throw std::invalid_argument(fmt::format("{} = {} stream units does not fit in 32 bits: export with fewer "
                                            "--frac-bits", what, units));
  }
  return static_cast<int32_t>(units);
}

class Exporter {
 public:
  Exporter(IntegerModel& model, std::vector<std::string>* notes) : model_(model), notes_(notes) {}

  int new_buffer() { return model_.buffer_count++; }

  // Eq. 7 on the activations: stream -> codes of the conv's unsigned levels at its learned alpha.
  // Returns the codes buffer and the real value of code integer 1.
  std::pair<int, double> quantise_activations(const ConvBn& layer, const Tensor3& in) {
    const auto& act = layer.conv->act_quant();
    if (!act) throw std::invalid_argument(fmt::format("{}: its input is not quantised (a full-precision layer)", layer.name));
    const LevelSet& set = act->levels();
    ActQuantOp op;
    op.input = in.buffer;
    op.output = new_buffer();
    try {
      op.levels = spec_of(set);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("{} (input): {}", layer.name, e.what()));
    }
    op.alpha = layer.conv->act_alpha.defined() ? layer.conv->act_alpha.item<double>() : 1.0;
    if (!(op.alpha > 0) || !std::isfinite(op.alpha)) {
      throw std::invalid_argument(fmt::format("{}: activation threshold act_alpha = {} (expected a positive number)",
                                              layer.name, op.alpha));
    }
    const std::vector<Level>& levels = set.levels();
    for (size_t j = 0; j < levels.size(); ++j) {
      op.values.push_back(static_cast<int16_t>(levels[j].integer));
      if (j + 1 < levels.size()) {
        // Up to level j + 1 from the midpoint on (core/project's tie rule), in stream units.
        const double midpoint = (levels[j].value + levels[j + 1].value) / 2 * op.alpha;
        op.thresholds.push_back(to_stream(std::ceil(std::ldexp(midpoint, model_.frac_bits)), layer.name + " activation threshold"));
        if (op.thresholds.size() > 1 && op.thresholds.back() <= op.thresholds[op.thresholds.size() - 2]) {
          throw std::invalid_argument(fmt::format(
              "{}: with {} fraction bits, activation levels {} and {} round to the same threshold (alpha = {:.4g}): the "
              "engine could not tell them apart; export with more fraction bits (--frac-bits auto chooses)",
              layer.name, model_.frac_bits, j, j + 1, op.alpha));
        }
      }
    }
    const double unit = op.alpha * integer_unit(set);
    model_.ops.push_back(std::move(op));
    return {model_.buffer_count - 1, unit};
  }

  // conv + BN folded into requant (+ residual) (+ ReLU): codes -> stream.
  Tensor3 conv(const ConvBn& layer, int codes, double x_unit, const Tensor3& in, int residual, bool relu) {
    auto& conv = *layer.conv.ptr();  // the holder is const here, the module is not
    if (!conv.weight_quant) throw std::invalid_argument(fmt::format("{}: full-precision weights have no integer form", layer.name));
    const qat::ConvShape& shape = conv.shape();
    QuantisedWeights w = quantised_weights(layer.name, conv.weight_quant, conv.weight, notes_);

    ConvOp op;
    op.name = layer.name;
    op.input = codes;
    op.output = new_buffer();
    op.residual = residual;
    op.in_channels = static_cast<int>(shape.in_channels);
    op.out_channels = static_cast<int>(shape.out_channels);
    op.kernel = static_cast<int>(shape.kernel);
    op.stride = static_cast<int>(shape.stride);
    op.padding = static_cast<int>(shape.padding);
    op.levels = w.spec;
    op.codes = std::move(w.codes);
    op.weight_alpha = w.alpha;
    op.relu = relu;

    // Eval-mode batch norm: y * g / sqrt(var + eps) + (b - mean * g / sqrt(var + eps)).
    auto& bn = *layer.bn.ptr();
    const std::vector<double> mean = to_doubles(bn.running_mean), var = to_doubles(bn.running_var);
    const std::vector<double> gamma = to_doubles(bn.weight), beta = to_doubles(bn.bias);
    const std::vector<double> conv_bias = conv.bias.defined() ? to_doubles(conv.bias) : std::vector<double>(mean.size(), 0.0);
    const double eps = bn.options.eps();
    for (int c = 0; c < op.out_channels; ++c) {
      const double bn_scale = gamma[c] / std::sqrt(var[c] + eps);
      const double alpha = w.alpha[w.alpha.size() == 1 ? 0 : static_cast<size_t>(c)];
      const auto [multiplier, shift] = fixed_point(std::ldexp(x_unit * w.unit * alpha * bn_scale, model_.frac_bits), layer.name, c);
      op.requant.multiplier.push_back(multiplier);
      op.requant.shift.push_back(shift);
      op.requant.bias.push_back(to_stream(std::round(std::ldexp(beta[c] + (conv_bias[c] - mean[c]) * bn_scale, model_.frac_bits)),
                                          fmt::format("{} channel {} bias", layer.name, c)));
    }
    model_.ops.push_back(std::move(op));
    const int h = (in.height + 2 * static_cast<int>(shape.padding) - static_cast<int>(shape.kernel)) / static_cast<int>(shape.stride) + 1;
    const int wd = (in.width + 2 * static_cast<int>(shape.padding) - static_cast<int>(shape.kernel)) / static_cast<int>(shape.stride) + 1;
    return {model_.buffer_count - 1, static_cast<int>(shape.out_channels), h, wd};
  }

  // A quantised conv whose input is a stream: its activation quantiser, then the conv.
  Tensor3 quantised_conv(const ConvBn& layer, const Tensor3& in, int residual, bool relu) {
    const auto [codes, x_unit] = quantise_activations(layer, in);
    return conv(layer, codes, x_unit, in, residual, relu);
  }

  Tensor3 block(const models::ResidualBlockLayout& block, const Tensor3& in) {
    const Tensor3 shortcut = block.shortcut ? quantised_conv(*block.shortcut, in, -1, false) : in;
    Tensor3 out = in;
    for (size_t i = 0; i < block.path.size(); ++i) {
      const bool last = i + 1 == block.path.size();
      out = quantised_conv(block.path[i], out, last ? shortcut.buffer : -1, true);
    }
    return out;
  }

  Tensor3 max_pool(const Tensor3& in) {
    MaxPoolOp op;
    op.input = in.buffer;
    op.output = new_buffer();
    model_.ops.push_back(op);
    return {op.output, in.channels, (in.height + 2 * op.padding - op.kernel) / op.stride + 1,
            (in.width + 2 * op.padding - op.kernel) / op.stride + 1};
  }

  void avg_pool_linear(const std::string& name, qat::QuantLinearImpl& fc, const Tensor3& in) {
    if (!fc.weight_quant) throw std::invalid_argument(fmt::format("{}: full-precision weights have no integer form", name));
    QuantisedWeights w = quantised_weights(name, fc.weight_quant, fc.weight, notes_);
    AvgPoolLinearOp op;
    op.name = name;
    op.input = in.buffer;
    op.out_features = static_cast<int>(fc.weight.size(0));
    op.in_features = static_cast<int>(fc.weight.size(1));
    op.levels = w.spec;
    op.codes = std::move(w.codes);
    const std::vector<double> bias = to_doubles(fc.bias);
    const double pool = 1.0 / (static_cast<double>(in.height) * in.width);
    for (int o = 0; o < op.out_features; ++o) {
      const double alpha = w.alpha[w.alpha.size() == 1 ? 0 : static_cast<size_t>(o)];
      op.scale.push_back(std::ldexp(pool * w.unit * alpha, -model_.frac_bits));
      op.bias.push_back(bias[static_cast<size_t>(o)]);
    }
    model_.num_classes = op.out_features;
    model_.ops.push_back(std::move(op));
  }

 private:
  IntegerModel& model_;
  std::vector<std::string>* notes_;
};

}  // namespace

ExportOptions export_options_for(const std::string& dataset) {
  const data::DatasetShape shape = data::dataset_shape(dataset);
  const data::Normalization norm = data::default_normalization(dataset);
  ExportOptions e;
  e.in_channels = shape.channels;
  e.height = shape.height;
  e.width = shape.width;
  e.mean.assign(norm.mean.begin(), norm.mean.end());
  e.std.assign(norm.std.begin(), norm.std.end());
  return e;
}

double normalised_input_range(const std::vector<double>& mean, const std::vector<double>& std) {
  double range = 0;
  for (size_t c = 0; c < mean.size() && c < std.size(); ++c) {
    range = std::max({range, std::abs(-mean[c] / std[c]), std::abs((1 - mean[c]) / std[c])});
  }
  return range;
}

namespace {

// Every normalised pixel value, channel by channel, as the batches hold them.
std::vector<double> normalised_pixels(const std::vector<double>& mean, const std::vector<double>& std) {
  if (mean.empty() || mean.size() != std.size()) {
    throw std::invalid_argument(fmt::format("the input normalisation has {} means and {} stds, expected the same "
                                            "number, at least one", mean.size(), std.size()));
  }
  std::vector<double> values;
  for (size_t c = 0; c < mean.size(); ++c) {
    if (!std::isfinite(mean[c]) || !(std[c] > 0) || !std::isfinite(std[c])) {
      throw std::invalid_argument(fmt::format("input normalisation of channel {}: mean {}, std {}; expected finite "
                                              "numbers, std > 0", c, mean[c], std[c]));
    }
    for (int p = 0; p < 256; ++p) {
      values.push_back(data::normalise_pixel(p, static_cast<float>(mean[c]), static_cast<float>(std[c])));
    }
  }
  return values;
}

// The largest |x - code x step| over the values; infinite where the input quantiser refuses one.
double grid_error(const std::vector<double>& values, double step) {
  double worst = 0;
  for (const double x : values) {
    if (!(std::abs(x) <= kInputCodeLimit * step)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(x - std::round(x / step) * step));  // as deploy/engine/input_quant.h rounds
  }
  return worst;
}

}  // namespace

double pixel_input_error(const std::vector<double>& mean, const std::vector<double>& std, double step) {
  return grid_error(normalised_pixels(mean, std), step);
}

InputGrid pixel_input_grid(const std::vector<double>& mean, const std::vector<double>& std) {
  const std::vector<double> values = normalised_pixels(mean, std);
  double largest = 0;
  for (const double x : values) largest = std::max(largest, std::abs(x));
  // The finest grid; a quarter step of margin keeps the largest value inside the quantiser's limit.
  InputGrid best;
  best.step = largest / (kInputCodeLimit - 0.25);
  best.max_error = grid_error(values, best.step);
  for (const double s : std) {
    for (int k = 1; k <= kInputCodeLimit; ++k) {
      const double step = 1.0 / (255.0 * static_cast<double>(static_cast<float>(s)) * k);
      const double error = grid_error(values, step);
      if (std::isinf(error)) break;  // a finer lattice only widens the codes
      if (error < best.max_error) best = {step, error};
    }
  }
  return best;
}

IntegerModel export_model(models::Network& net, const ExportOptions& options, std::vector<std::string>* notes) {
  if (options.frac_bits < 0 || options.frac_bits > 30) {
    throw std::invalid_argument(fmt::format("--frac-bits {}: expected 0 to 30", options.frac_bits));
  }
  if (options.input_range <= 0 && options.mean.empty()) {
    throw std::invalid_argument("the input range is unknown: give the normalisation (mean and std) or an input range");
  }
  if (options.input_range > 0 && !std::isfinite(options.input_range)) {
    throw std::invalid_argument(fmt::format("input range {}: expected a finite number > 0", options.input_range));
  }
  const double input_step =
      options.input_range > 0 ? options.input_range / kInputCodeLimit : pixel_input_grid(options.mean, options.std).step;
  net.eval();
  torch::NoGradGuard no_grad;
  const qat::QuantConfig& config = net.options().quant;

  IntegerModel model;
  model.arch = net.arch();
  model.description = config.describe();
  model.weight_bits = config.weight_bits;
  model.act_bits = config.act_bits;
  model.reference_compat = config.reference_compat;
  model.in_channels = options.in_channels;
  model.height = options.height;
  model.width = options.width;
  model.frac_bits = options.frac_bits;
  model.input.scale = input_step;
  model.input.mean = options.mean;
  model.input.std = options.std;

  const models::NetworkLayout layout = models::network_layout(net);
  Exporter exporter(model, notes);
  // The first conv multiplies the quantised input itself (the reference quantises only its weights).
  Tensor3 x{0, options.in_channels, options.height, options.width};
  x = exporter.conv(layout.stem, 0, model.input.scale, x, -1, true);
  if (layout.stem_maxpool) x = exporter.max_pool(x);
  for (const auto& block : layout.blocks) x = exporter.block(block, x);
  exporter.avg_pool_linear(layout.fc_name, *layout.fc.ptr(), x);
  validate(model);
  return model;
}

}  // namespace apot::deploy
