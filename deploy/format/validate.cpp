#include "deploy/format/validate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/levels.h"
#include "core/network_spec.h"

namespace apot::deploy {

namespace {

// Sane upper bounds: far beyond any network of the paper, small enough that sizes computed from them
// in int64 cannot overflow and that the engine's buffers fit in memory.
constexpr int64_t kMaxDimension = 65536;                  // channels, height, width, kernel, stride, padding
constexpr int64_t kMaxBufferElements = int64_t{1} << 28;  // one buffer, C * H * W
constexpr int64_t kMaxTotalElements = int64_t{1} << 30;   // all buffers together
constexpr int64_t kMaxBuffers = 1 << 16;
constexpr int64_t kMaxActivationLevels = 256;  // an 8-bit set
constexpr int kMaxFracBits = 30;
constexpr int kMaxShift = 62;  // round_shift adds 2^(shift - 1) to |acc * multiplier| < 2^62
constexpr int32_t kInputMaxAbs = 32767;
constexpr int64_t kInt16Max = 32767;
constexpr int64_t kInt32Limit = int64_t{1} << 31;
constexpr int64_t kSaturated = int64_t{1} << 62;

// The product of non-negative factors, saturated at 2^62, so size and range bounds can be checked
// without overflowing first.
int64_t product(std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (const int64_t f : factors) {
    if (f != 0 && p > kSaturated / f) return kSaturated;
    p *= f;
  }
  return p;
}

std::string_view kind_name(BufferKind kind) { return kind == BufferKind::Codes ? "codes" : "a stream"; }

std::string shape_string(const BufferShape& s) { return fmt::format("{}x{}x{}", s.channels, s.height, s.width); }

// What validate needs of a level set, built once per distinct LevelSetSpec.
struct SetInfo {
  std::string description;
  std::vector<bool> valid;       // by code
  std::vector<int32_t> integer;  // by code
};

class Validator {
 public:
  explicit Validator(const IntegerModel& model) : model_(model) {}

  std::vector<BufferShape> run() {
    check_metadata();
    shapes_.resize(static_cast<size_t>(model_.buffer_count));
    written_.assign(static_cast<size_t>(model_.buffer_count), false);
    shapes_[0] = {BufferKind::Codes, model_.in_channels, model_.height, model_.width, kInputMaxAbs};
    written_[0] = true;
    for (size_t i = 0; i < model_.ops.size(); ++i) {
      index_ = i;
      std::visit([this](const auto& op) { check(op); }, model_.ops[i]);
    }
    if (model_.ops.empty() || !std::holds_alternative<AvgPoolLinearOp>(model_.ops.back())) {
      fail_model(fmt::format("the program has {} ops and does not end in an avg_pool_linear op", model_.ops.size()));
    }
    int64_t total = 0;
    for (size_t b = 0; b < shapes_.size(); ++b) {
      if (!written_[b]) {
        fail_model(fmt::format("buffer {} is never written, expected every one of the buffer_count = {} buffers "
                               "written by one op", b, model_.buffer_count));
      }
      total += product({shapes_[b].channels, shapes_[b].height, shapes_[b].width});
    }
    if (total > kMaxTotalElements) {
      fail_model(fmt::format("the buffers hold {} elements together, expected at most {}", total, kMaxTotalElements));
    }
    check_metadata_against_body();
    return shapes_;
  }

 private:
  // The metadata must describe the body it stands over: the bits it names are those of some layer between
  // the edges (the first conv reads the input at the edge layers' bits; programs may mix widths), and an
  // architecture apot knows has as many convolutions as the program.
  void check_metadata_against_body() const {
    const auto check_bits = [this](const char* field, int bits, const std::set<int>& body, const char* what) {
      if (!body.empty() && !body.count(bits)) {
        fail_model(fmt::format("{} = {}, but {} have {} bits", field, bits, what, fmt::join(body, " or ")));
      }
    };
    check_bits("weight_bits", model_.weight_bits, body_weight_bits_, "the weights of the convolutions after the first");
    check_bits("act_bits", model_.act_bits, body_act_bits_, "the activation quantisers' levels");
    std::optional<NetworkSpec> spec;
    try {
      spec = network_spec(model_.arch, static_cast<int>(model_.in_channels), static_cast<int>(model_.height),
                          static_cast<int>(model_.width), static_cast<int>(model_.num_classes));
    } catch (const std::invalid_argument&) {
      return;  // an architecture of the user's own: nothing to compare with
    }
    const auto convs = std::count_if(spec->layers.begin(), spec->layers.end(), [](const LayerSpec& l) { return l.kind == LayerSpec::Conv; });
    if (convs != conv_count_) {
      fail_model(fmt::format("arch = '{}', which has {} convolutions, but the program has {}", model_.arch, convs, conv_count_));
    }
  }

  [[noreturn]] void fail_model(const std::string& message) const {
    throw std::invalid_argument("model: " + message);
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw std::invalid_argument(fmt::format("op {} ({}): {}", index_, where_, message));
  }

  // A value outside lo..hi is an error naming the field.
  void require_model_range(const char* field, int64_t value, int64_t lo, int64_t hi) const {
    if (value < lo || value > hi) fail_model(fmt::format("{} = {}, expected {}..{}", field, value, lo, hi));
  }
  void require_range(const std::string& field, int64_t value, int64_t lo, int64_t hi) const {
    if (value < lo || value > hi) fail(fmt::format("{} = {}, expected {}..{}", field, value, lo, hi));
  }
  void require_size(const char* field, size_t size, int64_t expected, const std::string& why) const {
    if (static_cast<int64_t>(size) != expected) {
      fail(fmt::format("{} has {} entries, expected {} ({})", field, size, expected, why));
    }
  }
  void require_finite(const char* field, const std::vector<double>& values) const {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) fail(fmt::format("{}[{}] = {}, expected a finite number", field, i, values[i]));
    }
  }

  void check_metadata() const {
    require_model_range("in_channels", model_.in_channels, 1, kMaxDimension);
    require_model_range("height", model_.height, 1, kMaxDimension);
    require_model_range("width", model_.width, 1, kMaxDimension);
    const int64_t elements = product({model_.in_channels, model_.height, model_.width});
    if (elements > kMaxBufferElements) {
      fail_model(fmt::format("the input has {} x {} x {} = {} elements, expected at most {}", model_.in_channels,
                             model_.height, model_.width, elements, kMaxBufferElements));
    }
    require_model_range("num_classes", model_.num_classes, 1, kMaxDimension);
    require_model_range("weight_bits", model_.weight_bits, 0, 32);
    require_model_range("act_bits", model_.act_bits, 0, 32);
    require_model_range("frac_bits", model_.frac_bits, 0, kMaxFracBits);
    require_model_range("buffer_count", model_.buffer_count, 1, kMaxBuffers);
    require_model_range("the number of ops", static_cast<int64_t>(model_.ops.size()), 0, kMaxBuffers);

    const InputQuant& in = model_.input;
    if (!std::isfinite(in.scale) || !(in.scale > 0)) {
      fail_model(fmt::format("input.scale = {}, expected a finite number > 0", in.scale));
    }
    check_per_channel("input.mean", in.mean, false);
    check_per_channel("input.std", in.std, true);
    if (in.mean.size() != in.std.size()) {
      fail_model(fmt::format("input.mean has {} entries and input.std {}, expected both or neither",
                             in.mean.size(), in.std.size()));
    }
  }

  void check_per_channel(const char* field, const std::vector<double>& values, bool positive) const {
    if (!values.empty() && values.size() != static_cast<size_t>(model_.in_channels)) {
      fail_model(fmt::format("{} has {} entries, expected 0 or in_channels = {}", field, values.size(),
                             model_.in_channels));
    }
    for (size_t c = 0; c < values.size(); ++c) {
      if (!std::isfinite(values[c]) || (positive && !(values[c] > 0))) {
        fail_model(fmt::format("{}[{}] = {}, expected a finite number{}", field, c, values[c], positive ? " > 0" : ""));
      }
    }
  }

  // The integer form of the level set, which must fit the int16 codes buffers hold.
  const SetInfo& level_set(const LevelSetSpec& spec) {
    require_range("levels.bits", spec.bits, 2, spec.scheme == Scheme::Uniform ? LevelSet::kMaxUniformBits : 8);
    require_range("levels.k", spec.k, 0, 8);
    if (spec.scheme == Scheme::Lloyd) fail("levels: Lloyd levels have no integer form, expected apot, pot or uniform");
    if (spec.scheme != Scheme::APoT && spec.scheme != Scheme::PoT && spec.scheme != Scheme::Uniform) {
      fail(fmt::format("levels.scheme = {}, expected apot, pot or uniform", static_cast<int>(spec.scheme)));
    }
    const auto key = std::make_tuple(spec.scheme, spec.bits, spec.k, spec.is_signed);
    if (const auto it = sets_.find(key); it != sets_.end()) return it->second;

    std::optional<LevelSet> set;
    try {
      set = spec.make();
    } catch (const std::logic_error& e) {  // std::invalid_argument or std::out_of_range
      fail(fmt::format("levels: {}", e.what()));
    }
    SetInfo info;
    info.description = set->describe();
    info.valid.assign(size_t{1} << spec.bits, false);
    info.integer.assign(size_t{1} << spec.bits, 0);
    if (!set->has_integer_form()) fail(fmt::format("levels: '{}' has no integer form", info.description));
    for (const Level& level : set->levels()) {
      if (std::abs(level.integer) > kInt16Max) {
        fail(fmt::format("levels: '{}' has the integer {}, expected |integer| <= {} (int16)", info.description,
                         level.integer, kInt16Max));
      }
      info.valid[level.code] = true;
      info.integer[level.code] = static_cast<int32_t>(level.integer);
    }
    return sets_.emplace(key, std::move(info)).first->second;
  }

  // Every code must be a level; returns the largest |integer| among them (0 for none).
  int64_t check_codes(const std::vector<WeightCode>& codes, const SetInfo& set) const {
    int64_t max_abs = 0;
    for (size_t i = 0; i < codes.size(); ++i) {
      if (codes[i] >= set.valid.size() || !set.valid[codes[i]]) fail(fmt::format("codes[{}] = {} is not a code of '{}'", i, codes[i], set.description));
      max_abs = std::max<int64_t>(max_abs, std::abs(set.integer[codes[i]]));
    }
    return max_abs;
  }

  const BufferShape& read(const char* field, int buffer, BufferKind kind) const {
    require_range(field, buffer, 0, model_.buffer_count - 1);
    const size_t b = static_cast<size_t>(buffer);
    if (!written_[b]) fail(fmt::format("{} = {} reads buffer {} before any op writes it", field, buffer, buffer));
    if (shapes_[b].kind != kind) {
      fail(fmt::format("{} = {} is {}, expected {}", field, buffer, kind_name(shapes_[b].kind), kind_name(kind)));
    }
    return shapes_[b];
  }

  void write(int buffer, const BufferShape& shape) {
    require_range("output", buffer, 0, model_.buffer_count - 1);
    const size_t b = static_cast<size_t>(buffer);
    if (written_[b]) {
      fail(fmt::format("output = {} is already written ({}), expected each buffer written once", buffer,
                       b == 0 ? "it holds the input" : "by an earlier op"));
    }
    const int64_t elements = product({shape.channels, shape.height, shape.width});
    if (elements > kMaxBufferElements) {
      fail(fmt::format("output = {} is {} = {} elements, expected at most {}", buffer, shape_string(shape), elements,
                       kMaxBufferElements));
    }
    written_[b] = true;
    shapes_[b] = shape;
  }

  // Output size of a convolution or pooling window along one axis: 1..kMaxDimension.
  int window_output(const char* axis, int64_t input, int64_t kernel, int64_t stride, int64_t padding) const {
    const int64_t span = input + 2 * padding - kernel;
    if (span < 0) {
      fail(fmt::format("kernel = {} is larger than the padded input {} = {} + 2 x {}, expected an output {} >= 1",
                       kernel, axis, input, padding, axis));
    }
    const int64_t output = span / stride + 1;
    if (output > kMaxDimension) {
      fail(fmt::format("the output {} = ({} + 2 x {} - {}) / {} + 1 = {}, expected at most {}", axis, input, padding,
                       kernel, stride, output, kMaxDimension));
    }
    return static_cast<int>(output);
  }

  // padding_below_kernel: every pooling window covers at least one input element ("padding never wins").
  void check_window(int kernel, int stride, int padding, bool padding_below_kernel) const {
    require_range("kernel", kernel, 1, kMaxDimension);
    require_range("stride", stride, 1, kMaxDimension);
    require_range("padding", padding, 0, padding_below_kernel ? kernel - 1 : kMaxDimension);
  }

  BufferShape window_shape(const BufferShape& in, int channels, int kernel, int stride, int padding) const {
    return {BufferKind::Stream, channels, window_output("height", in.height, kernel, stride, padding),
            window_output("width", in.width, kernel, stride, padding), std::numeric_limits<int32_t>::max()};
  }

  void check(const ActQuantOp& op) {
    where_ = "act_quant";
    const BufferShape in = read("input", op.input, BufferKind::Stream);
    level_set(op.levels);
    body_act_bits_.insert(op.levels.bits);
    const size_t n = op.values.size();
    require_range("the number of values", static_cast<int64_t>(n), 2, kMaxActivationLevels);
    require_size("thresholds", op.thresholds.size(), static_cast<int64_t>(n) - 1, "one fewer than the values");
    for (size_t j = 1; j < op.thresholds.size(); ++j) {
      if (!(op.thresholds[j - 1] < op.thresholds[j])) {
        fail(fmt::format("thresholds[{}] = {} after {}, expected strictly ascending thresholds", j, op.thresholds[j],
                         op.thresholds[j - 1]));
      }
    }
    if (op.values[0] != 0) fail(fmt::format("values[0] = {}, expected 0 (the level 0 below the first threshold)", op.values[0]));
    for (size_t j = 1; j < n; ++j) {
      if (op.values[j] < op.values[j - 1]) {
        fail(fmt::format("values[{}] = {} after {}, expected ascending values", j, op.values[j], op.values[j - 1]));
      }
    }
    if (!std::isfinite(op.alpha)) fail(fmt::format("alpha = {}, expected a finite number", op.alpha));
    write(op.output, {BufferKind::Codes, in.channels, in.height, in.width, op.values.back()});
  }

  void check(const ConvOp& op) {
    where_ = fmt::format("conv '{}'", op.name);
    require_range("in_channels", op.in_channels, 1, kMaxDimension);
    require_range("out_channels", op.out_channels, 1, kMaxDimension);
    check_window(op.kernel, op.stride, op.padding, false);
    const BufferShape in = read("input", op.input, BufferKind::Codes);
    if (op.in_channels != in.channels) {
      fail(fmt::format("in_channels = {}, expected {} (the channels of input buffer {})", op.in_channels, in.channels,
                       op.input));
    }
    const BufferShape out = window_shape(in, op.out_channels, op.kernel, op.stride, op.padding);
    const SetInfo& set = level_set(op.levels);
    ++conv_count_;
    if (op.input != 0) body_weight_bits_.insert(op.levels.bits);
    require_size("codes", op.codes.size(), product({op.out_channels, op.in_channels, op.kernel, op.kernel}),
                 fmt::format("{} x {} x {} x {}", op.out_channels, op.in_channels, op.kernel, op.kernel));
    const int64_t max_w = check_codes(op.codes, set);
    const std::string per_channel = fmt::format("out_channels = {}", op.out_channels);
    require_size("requant.multiplier", op.requant.multiplier.size(), op.out_channels, per_channel);
    require_size("requant.shift", op.requant.shift.size(), op.out_channels, per_channel);
    require_size("requant.bias", op.requant.bias.size(), op.out_channels, per_channel);
    for (size_t c = 0; c < op.requant.shift.size(); ++c) {
      if (op.requant.shift[c] > kMaxShift) fail(fmt::format("requant.shift[{}] = {}, expected 0..{}", c, op.requant.shift[c], kMaxShift));
    }
    if (op.weight_alpha.size() > 1 && op.weight_alpha.size() != static_cast<size_t>(op.out_channels)) {
      fail(fmt::format("weight_alpha has {} entries, expected 0, 1 or out_channels = {}", op.weight_alpha.size(),
                       op.out_channels));
    }
    require_finite("weight_alpha", op.weight_alpha);

    // Every output is a sum of K = in_channels * kernel^2 products |x| * |w|.
    const int64_t terms = product({op.in_channels, op.kernel, op.kernel});
    const int64_t bound = product({terms, in.max_abs, max_w});
    if (bound >= kInt32Limit) {
      fail(fmt::format("the int32 accumulator can overflow: {} terms x max|x| {} x max|w| {} = {}, expected < 2^31",
                       terms, in.max_abs, max_w, bound));
    }

    if (op.residual != -1) {
      require_range("residual", op.residual, -1, model_.buffer_count - 1);
      const BufferShape& r = read("residual", op.residual, BufferKind::Stream);
      if (r.channels != out.channels || r.height != out.height || r.width != out.width) {
        fail(fmt::format("residual = {} is {}, expected the output's shape {}", op.residual, shape_string(r),
                         shape_string(out)));
      }
    }
    write(op.output, out);
  }

  void check(const MaxPoolOp& op) {
    where_ = "max_pool";
    check_window(op.kernel, op.stride, op.padding, true);
    const BufferShape in = read("input", op.input, BufferKind::Stream);
    write(op.output, window_shape(in, in.channels, op.kernel, op.stride, op.padding));
  }

  void check(const AvgPoolLinearOp& op) {
    where_ = fmt::format("avg_pool_linear '{}'", op.name);
    if (index_ + 1 != model_.ops.size()) {
      fail(fmt::format("is op {} of {}, expected the last op", index_, model_.ops.size()));
    }
    const BufferShape in = read("input", op.input, BufferKind::Stream);
    if (op.in_features != in.channels) {
      fail(fmt::format("in_features = {}, expected {} (the channels of input buffer {})", op.in_features, in.channels,
                       op.input));
    }
    if (op.out_features != model_.num_classes) {
      fail(fmt::format("out_features = {}, expected num_classes = {}", op.out_features, model_.num_classes));
    }
    const SetInfo& set = level_set(op.levels);
    require_size("codes", op.codes.size(), product({op.out_features, op.in_features}),
                 fmt::format("{} x {}", op.out_features, op.in_features));
    const int64_t max_w = check_codes(op.codes, set);
    const std::string per_output = fmt::format("out_features = {}", op.out_features);
    require_size("scale", op.scale.size(), op.out_features, per_output);
    require_size("bias", op.bias.size(), op.out_features, per_output);
    require_finite("scale", op.scale);
    require_finite("bias", op.bias);
    // acc sums C * H * W int32 stream values times |w| in int64: C * H * W * 2^31 * max|w| < 2^63.
    const int64_t bound = product({in.channels, in.height, in.width, max_w});
    if (bound >= (int64_t{1} << 32)) {
      fail(fmt::format("the int64 accumulator can overflow: {} inputs x max|w| {} = {}, expected < 2^32",
                       product({in.channels, in.height, in.width}), max_w, bound));
    }
  }

  const IntegerModel& model_;
  std::vector<BufferShape> shapes_;
  std::vector<bool> written_;
  size_t index_ = 0;
  std::string where_;
  std::map<std::tuple<Scheme, int, int, bool>, SetInfo> sets_;
  std::set<int> body_weight_bits_, body_act_bits_;
  std::ptrdiff_t conv_count_ = 0;
};

}  // namespace

std::vector<BufferShape> validate(const IntegerModel& model) { return Validator(model).run(); }

}  // namespace apot::deploy
