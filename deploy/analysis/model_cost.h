// The shift-adds an exported model's own weights need (beyond the paper's worst case): every
// nonzero additive term of a weight's level is one shift and one add per output position (Fig. 3), so
// zero weights and zero terms cost nothing.
#pragma once

#include <vector>

#include "core/cost.h"
#include "core/network_spec.h"
#include "deploy/format/integer_model.h"

namespace apot::deploy {

struct LayerShiftAdds {
  LayerSpec layer;      // shape and output positions, as core/cost prices layers
  std::string levels;   // the weight level set, described
  ShiftAddCount count;  // per image
};

// One entry per ConvOp and for the final linear layer, in program order. Validates the model first.
std::vector<LayerShiftAdds> model_shift_adds(const IntegerModel& model);

}  // namespace apot::deploy
