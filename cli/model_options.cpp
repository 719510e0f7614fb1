#include "cli/model_options.h"

#include <thread>

#include <torch/torch.h>

#include "data/datasets.h"

namespace apot::cli {

void ModelFlags::add_to(CLI::App& c, bool with_bits) {
  c.add_option("--arch", arch, "resnet20|32|44|56|110 (CIFAR layout), resnet18|34|50 (torchvision layout)")->capture_default_str();
  if (with_bits) {
    c.add_option("--bits", bits, "weight bits: 2..8, or 32 for full precision")->capture_default_str();
    c.add_option("--act-bits", act_bits, "activation bits (default: --bits)");
  }
  c.add_option("--scheme", scheme, "weight levels: apot|pot|uniform|lloyd")->capture_default_str();
  c.add_option("--act-scheme", act_scheme, "activation levels: apot|pot|uniform (default: --scheme; lloyd: apot)");
  c.add_option("--quantizer", quantizer, "rcf (the paper) | pact | sawb | pact-sawb | dorefa | lsq")->capture_default_str();
  c.add_option("--k", k, "APoT base bit-width")->capture_default_str();
  c.add_flag("--no-rcf", no_rcf, "weights: alpha = max|W|, nothing clipped (Table 3 ablation)");
  c.add_flag("--no-wn", no_wn, "no weight normalisation (Table 3 ablation)");
  c.add_flag("--per-channel", per_channel, "one learned weight alpha per output channel");
  c.add_flag("--reference-compat", reference_compat, "the public reference implementation's conventions exactly");
  c.add_option("--threads", threads, "threads (default: all cores)");
}

qat::QuantConfig ModelFlags::quant_config() const { return quant_config(bits, act_bits ? act_bits : bits); }

qat::QuantConfig ModelFlags::quant_config(int weight_bits, int activation_bits) const {
  qat::QuantConfig c;
  c.weight_bits = weight_bits;
  c.act_bits = activation_bits;
  c.scheme = parse_scheme(scheme);
  if (!act_scheme.empty()) c.act_scheme_override = parse_scheme(act_scheme);
  c.k = k;
  qat::apply_quantizer_name(quantizer, &c);
  if (no_rcf) {
    if (c.weight_quantizer != qat::WeightQuantizer::Rcf) throw std::invalid_argument("--no-rcf applies to the rcf quantizer only");
    c.weight_quantizer = qat::WeightQuantizer::MaxAbs;
  }
  c.weight_norm = !no_wn;
  c.per_channel = per_channel;
  c.reference_compat = reference_compat;
  c.validate();
  return c;
}

void CheckpointFlags::add_to(CLI::App& c, const std::string& flag, const std::string& help, bool required) {
  auto* option = c.add_option(flag, path,
                              help + ": any file torch.save writes (zip or legacy; a state_dict, a checkpoint dict, a whole model)");
  if (required) option->required();
  c.add_option("--checkpoint-key", key,
               "the entry of a checkpoint dict that holds the weights (default: the dict itself when it holds tensors, "
               "else 'state_dict', 'model_state_dict' or 'model')");
}

void DataFlags::add_to(CLI::App& c) {
  c.add_option("--dataset", dataset, "fashion-mnist | mnist | cifar10")->capture_default_str();
  c.add_option("--data-dir", data_dir, "where the dataset's files are (default: fashion-mnist's Debian package)");
}

std::shared_ptr<models::Network> build_network(const ModelFlags& flags, const std::string& dataset, uint64_t seed) {
  const data::DatasetShape shape = data::dataset_shape(dataset);
  models::NetworkOptions options;
  options.in_channels = shape.channels;
  options.num_classes = shape.classes;
  options.quant = flags.quant_config();
  torch::manual_seed(seed);  // the initial weights
  return models::make_network(flags.arch, options);
}

int default_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void set_threads(int threads) {
  if (threads < 0) throw std::invalid_argument("--threads must be >= 1");
  at::set_num_threads(threads ? threads : default_threads());
}

}  // namespace apot::cli
