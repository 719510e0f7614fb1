// `apot predict`: logits of a checkpoint on a tensor saved by torch.save, written as one.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "data/datasets.h"
#include "models/torch_io.h"

namespace apot::cli {

void add_predict_command(CLI::App& app) {
  auto* c = app.add_subcommand("predict", "logits of a checkpoint on an input tensor (torch.save files in and out)");
  auto model = std::make_shared<ModelFlags>();
  auto checkpoint = std::make_shared<CheckpointFlags>();
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto classes = std::make_shared<int64_t>(10);
  model->add_to(*c);
  checkpoint->add_to(*c, "--checkpoint", "the weights");
  add_input_file_flag(*c, *input)->required();
  add_logits_out_flag(*c, *output)->required();
  deprecated_alias(*c, "--output", "--out");
  auto* classes_option = c->add_option("--classes", *classes, "number of classes (default for a checkpoint apot wrote: its own)")
                             ->capture_default_str();
  c->callback([=] {
    set_threads(model->threads);
    const torch::Tensor x = models::read_tensor(*input);
    if (x.dim() != 4 || !x.is_floating_point()) {
      throw std::invalid_argument(fmt::format("{}: expected a 4-d float tensor N x C x H x W, got {} of {} dimensions",
                                              *input, std::string(c10::toString(x.scalar_type())), x.dim()));
    }
    if (!torch::isfinite(x).all().item<bool>()) throw std::invalid_argument(fmt::format("{}: the input holds NaN or Inf", *input));
    const CheckpointNetwork loaded = read_checkpoint_network(*model, *checkpoint);
    const auto& record = loaded.checkpoint.network;
    if (record) {  // the engine takes the images the network was trained on; so does predict
      const data::DatasetShape shape = data::dataset_shape(record->dataset);
      if (x.size(2) != shape.height || x.size(3) != shape.width) {
        throw std::invalid_argument(fmt::format("{}: images of {} x {}, but '{}' holds a network trained on {}'s {} x {}", *input,
                                                x.size(2), x.size(3), checkpoint->path, record->dataset, shape.height, shape.width));
      }
    }
    auto net = loaded.build(x.size(1), record && classes_option->count() == 0 ? record->options.num_classes : *classes);
    net->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = net->forward(x.to(torch::kFloat));
    models::write_tensor(logits, *output);
    fmt::print("wrote {} logits of {} images to {}\n", logits.size(1), logits.size(0), *output);
  });
}

}  // namespace apot::cli
