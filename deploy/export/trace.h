// The integer engine against the fake-quant network op by op, on the same inputs: where the two part,
// and by how much. Every op of an exported program has a counterpart in the network's forward pass
// (deploy/export/program_walk.h); `apot verify --trace` prints this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "deploy/engine/engine.h"
#include "deploy/format/integer_model.h"
#include "models/network.h"

namespace apot::deploy {

struct OpTrace {
  size_t op = 0;       // index into IntegerModel::ops
  std::string name;    // the layer (ProgramPoint::name)
  std::string kind;    // "codes", "stream" or "logits"
  int64_t elements = 0;
  // codes: elements whose integer differs from the network's; stream and logits: elements further apart
  // than kTraceTolerance x the largest |value| of the op (float32 and fixed-point rounding stay below it).
  int64_t differing = 0;
  double max_diff = 0;  // the largest |engine - network| in real units
  double max_abs = 0;   // the largest |network value| of the op, for scale
};
inline constexpr double kTraceTolerance = 1e-4;

// x (N x C x H x W, normalised) moved onto the engine's input grid (InputQuant: round half away from
// zero), so the network sees exactly the input the engine computes with.
torch::Tensor on_input_grid(const torch::Tensor& x, double scale);

// Runs both on `images` put on the input grid, in batches, the engine unfused (every buffer kept) with
// `options`' kernel and threads. One entry per op of `model`, in program order. Throws
// std::invalid_argument when the model's program does not follow the network's (another architecture
// or export), naming the op.
std::vector<OpTrace> trace_program(models::Network& net, const IntegerModel& model, const torch::Tensor& images,
                                   EngineOptions options = {});

// The first op that differs, or nullptr.
const OpTrace* first_difference(const std::vector<OpTrace>& trace);

}  // namespace apot::deploy
