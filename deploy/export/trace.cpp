#include "deploy/export/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "deploy/export/program_walk.h"

namespace apot::deploy {

namespace {

using Kind = ProgramPoint::Kind;

Kind kind_of(const Op& op) {
  if (std::holds_alternative<ActQuantOp>(op)) return Kind::Codes;
  if (std::holds_alternative<AvgPoolLinearOp>(op)) return Kind::Logits;
  return Kind::Stream;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Codes: return "codes";
    case Kind::Stream: return "stream";
    case Kind::Logits: return "logits";
  }
  return "?";
}

// The real value of one unit of the op's output integers: a code's integer 1, or a stream's 2^-frac_bits.
double unit_of(const Op& op, int frac_bits) {
  if (const auto* quant = std::get_if<ActQuantOp>(&op)) {
    const LevelSet set = quant->levels.make();
    return quant->alpha * set.gamma() * std::ldexp(1.0, -set.shift());
  }
  return std::ldexp(1.0, -frac_bits);
}

int output_of(const Op& op) {
  return std::visit([](const auto& o) {
    if constexpr (std::is_same_v<std::decay_t<decltype(o)>, AvgPoolLinearOp>) {
      return -1;
    } else {
      return o.output;
    }
  }, op);
}

// Adds one batch's comparison of an op: the engine's integers against the network's values in units of
// `unit` (codes: rounded to the integers of their levels, which they are to float precision).
void compare(OpTrace& t, const std::vector<double>& engine, const torch::Tensor& network, double unit, bool codes) {
  torch::Tensor n = network.detach().to(torch::kDouble).contiguous().reshape({-1}) / unit;
  if (codes) n = torch::round(n);
  if (n.numel() != static_cast<int64_t>(engine.size())) {
    throw std::invalid_argument(fmt::format("op {} ({}): the engine holds {} values, the network {}: the model was not "
                                            "exported from this network", t.op, t.name, engine.size(), n.numel()));
  }
  const double* v = n.data_ptr<double>();
  for (size_t i = 0; i < engine.size(); ++i) t.max_abs = std::max(t.max_abs, std::abs(v[i]) * unit);
  const double tolerance = kTraceTolerance * t.max_abs;
  for (size_t i = 0; i < engine.size(); ++i) {
    const double diff = std::abs(engine[i] - v[i]) * unit;
    t.max_diff = std::max(t.max_diff, diff);
    if (codes ? engine[i] != v[i] : diff > tolerance) ++t.differing;
  }
  t.elements += static_cast<int64_t>(engine.size());
}

}  // namespace

torch::Tensor on_input_grid(const torch::Tensor& x, double scale) {
  return torch::sign(x) * torch::floor(x.abs() / scale + 0.5) * scale;
}

std::vector<OpTrace> trace_program(models::Network& net, const IntegerModel& model, const torch::Tensor& images,
                                   EngineOptions options) {
  if (images.dim() != 4 || images.size(1) != model.in_channels || images.size(2) != model.height ||
      images.size(3) != model.width) {
    throw std::invalid_argument(fmt::format("trace: expected N x {} x {} x {} images", model.in_channels, model.height,
                                            model.width));
  }
  options.fuse = false;
  Engine engine(model, options);
  std::vector<OpTrace> trace(model.ops.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    trace[i].op = i;
    trace[i].kind = kind_name(kind_of(model.ops[i]));
  }
  constexpr int64_t kBatch = 32;  // bounds the unfused engine's buffers
  const torch::Tensor x = on_input_grid(images.to(torch::kFloat), model.input.scale).contiguous();
  for (int64_t begin = 0; begin < x.size(0); begin += kBatch) {
    const torch::Tensor batch = x.narrow(0, begin, std::min(kBatch, x.size(0) - begin)).contiguous();
    const std::vector<float> logits = engine.run(batch.data_ptr<float>(), batch.size(0));
    size_t op = 0;
    walk_program(net, batch, [&](const ProgramPoint& point) {
      if (op >= model.ops.size() || kind_of(model.ops[op]) != point.kind) {
        throw std::invalid_argument(fmt::format(
            "trace: the network's {} {} meets op {} of the program, {}: the model was not exported from this network",
            point.name, kind_name(point.kind), op,
            op < model.ops.size() ? fmt::format("which writes {}", kind_name(kind_of(model.ops[op]))) : "past its end"));
      }
      OpTrace& t = trace[op];
      t.name = point.name;
      const Op& program_op = model.ops[op++];
      std::vector<double> engine_values;
      if (point.kind == Kind::Logits) {
        engine_values.assign(logits.begin(), logits.end());
        compare(t, engine_values, point.value, 1.0, false);
        return;
      }
      for (const int32_t v : engine.buffer_values(output_of(program_op))) engine_values.push_back(v);
      compare(t, engine_values, point.value, unit_of(program_op, model.frac_bits), point.kind == Kind::Codes);
    });
    if (op != model.ops.size()) {
      throw std::invalid_argument(fmt::format("trace: the program has {} ops, the network {}: the model was not exported "
                                              "from this network", model.ops.size(), op));
    }
  }
  return trace;
}

const OpTrace* first_difference(const std::vector<OpTrace>& trace) {
  for (const OpTrace& t : trace) {
    if (t.differing > 0) return &t;
  }
  return nullptr;
}

}  // namespace apot::deploy
