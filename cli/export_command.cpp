// `apot export`: a trained checkpoint as a packed integer model (.apot) for the integer engine.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "deploy/export.h"
#include "deploy/model_file.h"
#include "models/state_dict.h"
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

}  // namespace

void add_export_command(CLI::App& app) {
  auto* c = app.add_subcommand("export", "a checkpoint as a packed integer model for `apot run`");
  auto model = std::make_shared<ModelFlags>();
  auto dataf = std::make_shared<DataFlags>();
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto input_range = std::make_shared<double>(0);
  auto frac_bits = std::make_shared<int>(deploy::ExportOptions{}.frac_bits);
  model->add_to(*c);
  dataf->add_to(*c);
  c->add_option("--checkpoint", *checkpoint, "a state_dict saved by apot train or torch.save")->required();
  c->add_option("--out", *out, "the .apot file to write")->required();
  c->add_option("--input-range", *input_range,
                "largest |input| the input quantiser represents (default: normalised pixels of the dataset)");
  c->add_option("--frac-bits", *frac_bits, "fraction bits of the int32 activations between layers")->capture_default_str();
  c->callback([=] {
    set_threads(model->threads);
    auto net = build_network(*model, dataf->dataset);
    models::load_state_dict(*net, models::read_state_dict(*checkpoint), *checkpoint);
    deploy::ExportOptions options = deploy::export_options_for(dataf->dataset);
    options.input_range = *input_range;
    options.frac_bits = *frac_bits;
    std::vector<std::string> warnings;
    const deploy::IntegerModel integer_model = deploy::export_model(*net, options, &warnings);
    for (const std::string& w : warnings) fmt::print(stderr, "apot: warning: {}\n", w);
    const size_t bytes = deploy::serialize(integer_model).size();
    deploy::save_model(integer_model, *out);
    const int64_t weights = weight_count(integer_model);
    fmt::print("wrote {}: {} ({}), {} ops, {} weights, {} bytes = {:.3f} bits per weight\n", *out, integer_model.arch,
               integer_model.description, integer_model.ops.size(), weights, bytes,
               8.0 * static_cast<double>(bytes) / static_cast<double>(weights));
  });
}

}  // namespace apot::cli
