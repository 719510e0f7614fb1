// apot ptq: post-training quantisation of a full-precision adder network (train/adder_ptq.h), written as a
// checkpoint that `apot eval` and `apot predict` run.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "data/datasets.h"
#include "models/state_dict.h"
#include "models/torch_io.h"
#include "qat/adder2d.h"
#include "train/adder_ptq.h"
#include "train/trainer.h"

namespace apot::cli {

namespace {

// One line per layer: its groups' scales against its input range, and how many kernels the clamp moved.
std::string describe_layer(const std::string& name, const AdderLayerQuant& q) {
  size_t clamped = 0;
  for (float b : q.bias) clamped += b < 0 ? 1 : 0;
  std::vector<std::string> scales;
  for (int g = 0; g < q.groups(); ++g) {
    const auto members = std::count(q.group.begin(), q.group.end(), g);
    scales.push_back(fmt::format("{:.4g} x{}", q.group_scale[static_cast<size_t>(g)], members));
  }
  return fmt::format("  {:<28} input range {:8.4g}  group scales {}  kernels clamped {}/{}", name, q.input_range,
                     fmt::join(scales, ", "), clamped, q.group.size());
}

}  // namespace

void add_ptq_command(CLI::App& app) {
  auto* c = app.add_subcommand("ptq", "post-training quantisation of an adder network (redistribution, Nie et al. 2022)");
  auto arch = std::make_shared<std::string>();
  auto dataf = std::make_shared<DataFlags>();
  auto checkpoint = std::make_shared<CheckpointFlags>();
  auto o = std::make_shared<train::AdderPtqOptions>();
  auto method = std::make_shared<std::string>("redistribution");
  auto bits = std::make_shared<int>(0);
  auto out = std::make_shared<std::string>();
  auto augment = std::make_shared<std::string>("default");
  auto no_bn = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto test_limit = std::make_shared<size_t>(0);
  add_arch_flag(*c, *arch);
  dataf->add_to(*c);
  checkpoint->add_to(*c, "--checkpoint", "the full-precision adder network");
  c->add_option("--out", *out, "the quantised checkpoint to write")->required();
  c->add_option("--bits", *bits, "bits of the weights and activations alike, 2..8")->required()->check(CLI::Range(2, 8));
  c->add_option("--method", *method, "redistribution (Nie et al. 2022) | shared-scale (one scale per layer, the baseline)")
      ->capture_default_str();
  c->add_option("--groups", o->groups, "redistribution: k-means groups of each layer's kernels (the official ResNet-20's 4)")
      ->capture_default_str()
      ->check(at_least_one());
  c->add_option("--calibration-images", o->calibration_images,
                "training images the input ranges and batch norm statistics are estimated on (the official 202 x 128)")
      ->capture_default_str()
      ->check(at_least_one());
  c->add_option("--act-percentile", o->act_percentile,
                "p of the outlier clamp: each batch's |x| at index int((round(n p) - 1) p), running max over batches; 1: the max")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0).description("in (0, 1]"));
  c->add_option("--augment", *augment, "augmentation of the calibration images (default: the dataset's training augmentation)")
      ->capture_default_str();
  c->add_flag("--no-bn-reestimate", *no_bn, "keep batch norm's trained statistics (the official code re-estimates them)");
  c->add_option("--seed", o->seed, "image order, augmentation and k-means seeding")->capture_default_str();
  add_threads_flag(*c, *threads);
  add_test_limit_flag(*c, *test_limit);
  c->callback([=] {
    set_threads(*threads);
    o->method = parse_adder_ptq_method(*method);
    if (!(o->act_percentile > 0)) throw std::invalid_argument(fmt::format("--act-percentile {}: expected in (0, 1]", o->act_percentile));
    ModelFlags model;
    if (!arch->empty()) model.arch = *arch;
    const CheckpointNetwork loaded = read_checkpoint_network(model, *checkpoint);
    const auto& record = loaded.checkpoint.network;
    if (!record && arch->empty()) {
      throw std::invalid_argument(fmt::format("'{}' does not record its architecture: give --arch (adder-resnet20|32|56)", checkpoint->path));
    }
    if (record && !arch->empty() && *arch != record->arch && !checkpoint->force_config) {
      throw std::invalid_argument(fmt::format("'{}' records {}; --arch says {}", checkpoint->path, record->arch, *arch));
    }
    if (loaded.arch.rfind("adder-", 0) != 0) {
      throw std::invalid_argument(fmt::format("'{}' holds {}, which has no adder layers: apot ptq quantises adder networks "
                                              "(adder-resnet20|32|56); other networks quantise in training (apot train --bits)",
                                              checkpoint->path, loaded.arch));
    }
    if (loaded.quant.quantizes_weights() || loaded.quant.quantizes_acts()) {
      throw std::invalid_argument(fmt::format("'{}' holds a quantised network ({}): apot ptq starts from full precision",
                                              checkpoint->path, loaded.quant.describe()));
    }
    dataf->default_to(record);
    const data::DatasetShape shape = data::dataset_shape(dataf->dataset);
    // Checked as `apot eval` checks it: the recorded data shape, else the first convolution's input.
    loaded.build(shape.channels, shape.classes);
    models::NetworkOptions options;
    options.in_channels = shape.channels;
    options.num_classes = shape.classes;
    options.quant = train::adder_ptq_config(*bits);
    auto net = models::make_network(loaded.arch, options);
    models::load_state_dict(*net, loaded.checkpoint.weights, checkpoint->path, models::MissingEntries::AllowQuantizerState);
    o->reestimate_batch_norm = !*no_bn;
    o->augment = data::parse_augmentation(*augment, dataf->dataset);
    const data::Normalization norm = data::default_normalization(dataf->dataset);
    fmt::print("quantising {} to {} bits by {}, {} threads\n", loaded.arch, *bits, *method, at::get_num_threads());
    const train::AdderPtqResult r = train::quantize_adder_network(
        *net, data::load_dataset(dataf->dataset, dataf->data_dir, /*train=*/true), norm, *o,
        [](const std::string& line) { fmt::print("{}\n", line); });
    for (const auto& [name, q] : r.layers) fmt::print("{}\n", describe_layer(name, q));
    models::Checkpoint written;
    written.weights = models::state_dict_of(*net);
    written.network = models::NetworkRecord{loaded.arch, dataf->dataset, options};
    models::write_checkpoint(written, *out);
    data::ImageSet test = data::load_dataset(dataf->dataset, dataf->data_dir, /*train=*/false);
    if (*test_limit) test = data::subset(test, 0, *test_limit);
    const train::EvalResult e = train::evaluate(*net, test, norm);
    fmt::print("wrote {}: {} images  loss {:.4f}  top-1 accuracy {:.2f}%\n", *out, e.images, e.loss, e.accuracy);
  });
}

}  // namespace apot::cli
