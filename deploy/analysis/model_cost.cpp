#include "deploy/analysis/model_cost.h"

#include <map>

#include "deploy/format/validate.h"

namespace apot::deploy {

namespace {

// Level indices (into set.levels()) of weight codes, as count_shift_adds takes them.
std::vector<int> level_indices(const LevelSet& set, const std::vector<WeightCode>& codes) {
  std::map<uint32_t, int> index_of_code;
  for (size_t i = 0; i < set.levels().size(); ++i) index_of_code[set.levels()[i].code] = static_cast<int>(i);
  std::vector<int> indices;
  indices.reserve(codes.size());
  for (const WeightCode code : codes) indices.push_back(index_of_code.at(code));  // validate() checked every code
  return indices;
}

LayerShiftAdds count(const LayerSpec& layer, const LevelSetSpec& spec, const std::vector<WeightCode>& codes) {
  const LevelSet set = spec.make();
  return {layer, set.describe(), count_shift_adds(layer, set, level_indices(set, codes))};
}

}  // namespace

std::vector<LayerShiftAdds> model_shift_adds(const IntegerModel& model) {
  const std::vector<BufferShape> shapes = validate(model);
  std::vector<LayerShiftAdds> layers;
  for (const Op& op : model.ops) {
    if (const auto* conv = std::get_if<ConvOp>(&op)) {
      LayerSpec l;
      l.name = conv->name;
      l.in_channels = conv->in_channels;
      l.out_channels = conv->out_channels;
      l.kernel_h = l.kernel_w = conv->kernel;
      l.stride = conv->stride;
      l.padding = conv->padding;
      l.in_h = shapes[static_cast<size_t>(conv->input)].height;
      l.in_w = shapes[static_cast<size_t>(conv->input)].width;
      l.out_h = shapes[static_cast<size_t>(conv->output)].height;
      l.out_w = shapes[static_cast<size_t>(conv->output)].width;
      layers.push_back(count(l, conv->levels, conv->codes));
    } else if (const auto* fc = std::get_if<AvgPoolLinearOp>(&op)) {
      LayerSpec l;
      l.name = fc->name;
      l.kind = LayerSpec::Linear;
      l.in_channels = fc->in_features;
      l.out_channels = fc->out_features;
      layers.push_back(count(l, fc->levels, fc->codes));
    }
  }
  return layers;
}

}  // namespace apot::deploy
