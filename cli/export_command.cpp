// `apot export`: a trained checkpoint as a packed integer model (.apot) for the integer engine.
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "data/datasets.h"
#include "deploy/engine/input_quant.h"
#include "deploy/export/calibrate.h"
#include "deploy/export/export.h"
#include "deploy/format/model_file.h"
#include "models/torch_io.h"

namespace apot::cli {

namespace {

int64_t weight_count(const deploy::IntegerModel& model) {
  int64_t n = 0;
  for (const deploy::Op& op : model.ops) {
    if (const auto* conv = std::get_if<deploy::ConvOp>(&op)) n += static_cast<int64_t>(conv->codes.size());
    if (const auto* fc = std::get_if<deploy::AvgPoolLinearOp>(&op)) n += static_cast<int64_t>(fc->codes.size());
  }
  return n;
}

int parse_frac_bits(const std::string& text) {
  size_t used = 0;
  int bits = -1;
  try {
    bits = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || bits < 0 || bits > 30) {
    throw std::invalid_argument(fmt::format("--frac-bits {}: expected auto or a whole number from 0 to 30", text));
  }
  return bits;
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* c = app.add_subcommand("export", "a checkpoint as a packed integer model for `apot run`");
  auto model = std::make_shared<ModelFlags>();
  auto dataf = std::make_shared<DataFlags>();
  auto checkpoint = std::make_shared<CheckpointFlags>();
  auto out = std::make_shared<std::string>();
  auto input_range = std::make_shared<double>(0);
  auto frac_bits = std::make_shared<std::string>("auto");
  auto calibration_images = std::make_shared<size_t>(deploy::kCalibrationImages);
  auto calibration_input = std::make_shared<std::string>();
  model->add_to(*c);
  dataf->add_to(*c);
  checkpoint->add_to(*c, "--checkpoint", "the weights to export");
  c->add_option("--out", *out, "the .apot file to write")->required();
  auto* input_range_option = c->add_option("--input-range", *input_range,
                                           "largest |input| the input quantiser represents, > 0 (default: normalised pixels of "
                                           "the dataset)");
  c->add_option("--frac-bits", *frac_bits,
                "fraction bits of the int32 activations between layers, 0 to 30, or auto: the most (up to 24) that "
                "keep 4x the largest value seen on the calibration images")
      ->capture_default_str();
  c->add_option("--calibration-images", *calibration_images,
                "training images --frac-bits auto runs the network on")
      ->capture_default_str();
  auto* calibration_input_option = c->add_option(
      "--calibration-input", *calibration_input,
      "a tensor file (torch.save) of your own inputs, N x C x H x W normalised as the network's input: --frac-bits auto "
      "calibrates on them instead of the dataset's training images");
  calibration_input_option->excludes(c->get_option("--calibration-images"));
  c->callback([=] {
    if (input_range_option->count() && !(std::isfinite(*input_range) && *input_range > 0)) {
      throw std::invalid_argument(fmt::format("--input-range {}: expected a finite number > 0", *input_range));
    }
    set_threads(model->threads);
    const CheckpointNetwork loaded = read_checkpoint_network(*model, *checkpoint);
    dataf->default_to(loaded.checkpoint.network);
    const data::DatasetShape shape = data::dataset_shape(dataf->dataset);
    auto net = loaded.build(shape.channels, shape.classes);
    deploy::ExportOptions options;
    torch::Tensor own_inputs;
    if (!calibration_input->empty()) {
      if (*frac_bits != "auto") throw std::invalid_argument("--calibration-input calibrates --frac-bits auto: drop --frac-bits");
      own_inputs = models::read_tensor(*calibration_input).to(torch::kFloat);
      if (!torch::isfinite(own_inputs).all().item<bool>()) {
        throw std::invalid_argument(fmt::format("--calibration-input {}: the inputs hold NaN or infinite values", *calibration_input));
      }
      const deploy::Calibration calibration =
          deploy::calibrate_export(*net, dataf->dataset, own_inputs, "images of " + *calibration_input);
      options = calibration.options;
      fmt::print("{}\n", calibration.describe());
    } else if (*frac_bits == "auto") {
      deploy::Calibration calibration;
      try {
        const data::ImageSet train = data::load_dataset(dataf->dataset, dataf->data_dir, /*train=*/true);
        calibration = deploy::calibrate_export(*net, dataf->dataset, data::subset(train, 0, *calibration_images));
      } catch (const std::exception& e) {
        throw std::invalid_argument(fmt::format("--frac-bits auto calibrates on {}'s training images: {} (give "
                                                "--frac-bits N to export without them)", dataf->dataset, e.what()));
      }
      options = calibration.options;
      fmt::print("{}\n", calibration.describe());
    } else {
      options = deploy::export_options_for(dataf->dataset);
      options.frac_bits = parse_frac_bits(*frac_bits);
    }
    options.input_range = *input_range;
    std::vector<std::string> notes;
    const deploy::IntegerModel integer_model = deploy::export_model(*net, options, &notes);
    for (const std::string& note : notes) fmt::print("{}\n", note);
    if (own_inputs.defined()) {
      const double largest = own_inputs.abs().max().item<double>();
      if (largest > deploy::kInputCodeLimit * integer_model.input.scale) {
        throw std::invalid_argument(fmt::format("--calibration-input {}: the inputs reach {:.4g}, beyond the input quantiser's "
                                                "range {:.4g} (step {:.6g}): give --input-range {:.4g} or more",
                                                *calibration_input, largest, deploy::kInputCodeLimit * integer_model.input.scale,
                                                integer_model.input.scale, largest));
      }
    }
    const size_t bytes = deploy::serialize(integer_model).size();
    deploy::save_model(integer_model, *out);
    const int64_t weights = weight_count(integer_model);
    fmt::print("wrote {}: {} ({}), {} ops, {} weights, {} bytes = {:.3f} bits per weight\n", *out, integer_model.arch,
               integer_model.description, integer_model.ops.size(), weights, bytes,
               8.0 * static_cast<double>(bytes) / static_cast<double>(weights));
    const double pixel_error = deploy::pixel_input_error(options.mean, options.std, integer_model.input.scale);
    if (std::isfinite(pixel_error)) {
      fmt::print("input quantiser: step {:.6g}, every normalised pixel value of {} within {:.2g} of its code\n",
                 integer_model.input.scale, dataf->dataset, pixel_error);
    } else {
      fmt::print(stderr, "apot: warning: input quantiser step {:.6g} (--input-range {}): normalised pixels of {} lie "
                 "beyond its range, and the engine refuses such images\n", integer_model.input.scale, *input_range,
                 dataf->dataset);
    }
  });
}

}  // namespace apot::cli
