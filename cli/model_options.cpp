#include "cli/model_options.h"

#include <algorithm>
#include <thread>

#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/shared_flags.h"
#include "data/datasets.h"
#include "models/state_dict.h"

namespace apot::cli {

void ModelFlags::add_to(CLI::App& c, bool with_bits) {
  options_["--arch"] = add_arch_flag(c, arch);
  if (with_bits) {
    options_["--bits"] = c.add_option("--bits", bits, "weight bits: 2..8, or 32 for full precision")->capture_default_str();
    options_["--act-bits"] = c.add_option("--act-bits", act_bits, "activation bits (default: --bits)");
  }
  options_["--scheme"] = c.add_option("--scheme", scheme, "weight levels: apot|pot|uniform|lloyd")->capture_default_str();
  options_["--act-scheme"] = c.add_option("--act-scheme", act_scheme, "activation levels: apot|pot|uniform (default: --scheme; lloyd: apot)");
  options_["--quantizer"] = c.add_option("--quantizer", quantizer, "rcf (the paper) | pact | sawb | pact-sawb | dorefa | lsq")
                                ->capture_default_str();
  options_["--k"] = c.add_option("--k", k, "APoT base bit-width")->capture_default_str();
  options_["--no-rcf"] = c.add_flag("--no-rcf", no_rcf, "weights: alpha = max|W|, nothing clipped (Table 3 ablation)");
  options_["--no-wn"] = c.add_flag("--no-wn", no_wn, "no weight normalisation (Table 3 ablation)");
  options_["--per-channel"] = c.add_flag("--per-channel", per_channel, "one learned weight alpha per output channel");
  options_["--reference-compat"] = c.add_flag("--reference-compat", reference_compat,
                                              "the public reference implementation's conventions exactly");
  add_threads_flag(c, threads);
}

bool ModelFlags::given(const std::string& flag) const {
  const auto it = options_.find(flag);
  return it != options_.end() && it->second->count() > 0;
}

qat::QuantConfig ModelFlags::given_over(const qat::QuantConfig& base) const {
  qat::QuantConfig c = base;
  if (given("--bits")) c.weight_bits = bits;
  if (given("--act-bits") || given("--bits")) c.act_bits = act_bits ? act_bits : bits;
  if (given("--scheme")) c.scheme = parse_scheme(scheme);
  if (given("--act-scheme")) c.act_scheme_override = parse_scheme(act_scheme);
  if (given("--k")) c.k = k;
  if (given("--quantizer")) qat::apply_quantizer_name(quantizer, &c);
  if (no_rcf) c.weight_quantizer = qat::WeightQuantizer::MaxAbs;
  if (no_wn) c.weight_norm = false;
  if (per_channel) c.per_channel = true;
  if (reference_compat) c.reference_compat = true;
  return c;
}

qat::QuantConfig ModelFlags::quant_config() const {
  const qat::QuantConfig c = quant_config(bits, act_bits ? act_bits : bits);
  if (given("--k") && c.apot_magnitude_bits() == 0) {
    throw std::invalid_argument(fmt::format("--k {} applies to APoT levels, and {} has none", k, c.describe()));
  }
  return c;
}

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
  c.add_flag("--force-config", force_config,
             "build the network from the flags even where the checkpoint records another configuration (to reinterpret "
             "its weights, as an ablation may)");
}

CheckpointNetwork read_checkpoint_network(const ModelFlags& flags, const CheckpointFlags& checkpoint) {
  const std::vector<std::string> archs = models::known_architectures();
  if (std::find(archs.begin(), archs.end(), flags.arch) == archs.end()) {  // before reading a file for nothing
    throw std::invalid_argument(fmt::format("unknown architecture '{}': expected one of {}", flags.arch, fmt::join(archs, ", ")));
  }
  CheckpointNetwork r;
  r.path = checkpoint.path;
  std::vector<std::string> notes;
  r.checkpoint = models::read_checkpoint(checkpoint.path, checkpoint.key, &notes);
  models::print_notes(notes);
  const auto& record = r.checkpoint.network;
  if (!record || checkpoint.force_config) {
    r.arch = flags.arch;
    r.quant = flags.quant_config();
    return r;
  }
  std::vector<std::string> conflicts;
  if (flags.given("--arch") && flags.arch != record->arch) conflicts.push_back(fmt::format("arch {} (flags: {})", record->arch, flags.arch));
  for (const auto& [field, recorded, given] : record->options.quant.differences(flags.given_over(record->options.quant))) {
    conflicts.push_back(fmt::format("{} {} (flags: {})", field, recorded, given));
  }
  if (!conflicts.empty()) {
    throw std::invalid_argument(fmt::format("'{}' records {} {}; the flags say otherwise: {}. Drop those flags (the checkpoint "
                                            "supplies them), or give --force-config to reinterpret its weights",
                                            checkpoint.path, record->arch, record->options.quant.describe(), fmt::join(conflicts, ", ")));
  }
  r.arch = record->arch;
  r.quant = record->options.quant;
  return r;
}

std::shared_ptr<models::Network> CheckpointNetwork::build(int64_t in_channels, int64_t num_classes) const {
  const auto& record = checkpoint.network;
  if (record && (record->options.in_channels != in_channels || record->options.num_classes != num_classes)) {
    throw std::invalid_argument(fmt::format("'{}' holds a network for {}-channel images and {} classes ({}); the data has {} "
                                            "channels and {} classes", path, record->options.in_channels,
                                            record->options.num_classes, record->dataset, in_channels, num_classes));
  }
  // Without a record, the first convolution's weight says how many channels the network takes.
  for (const auto& [name, tensor] : checkpoint.weights) {
    if (tensor.dim() != 4) continue;
    if (tensor.size(1) != in_channels) {
      throw std::invalid_argument(fmt::format("the input has {} channels, but '{}' starts with a convolution over {} ({} has "
                                              "shape [{}])", in_channels, path, tensor.size(1), name, fmt::join(tensor.sizes().vec(), ", ")));
    }
    break;
  }
  models::NetworkOptions options;
  options.in_channels = in_channels;
  options.num_classes = num_classes;
  options.quant = quant;
  auto net = models::make_network(arch, options);
  models::load_state_dict(*net, checkpoint.weights, path);
  return net;
}

void DataFlags::add_to(CLI::App& c) {
  dataset_option_ = c.add_option("--dataset", dataset, "fashion-mnist | mnist | cifar10 (default for a checkpoint apot wrote: its own)")
                        ->capture_default_str();
  c.add_option("--data-dir", data_dir, "where the dataset's files are (default: fashion-mnist's Debian package)");
}

void DataFlags::default_to(const std::optional<models::NetworkRecord>& record) {
  if (record && dataset_option_ && dataset_option_->count() == 0) dataset = record->dataset;
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

int thread_count(int threads) {
  if (threads < 0) throw std::invalid_argument(fmt::format("--threads {}: expected a whole number >= 1", threads));
  if (threads == 0) return default_threads();
  if (threads > default_threads()) {
    static bool said = false;  // one note, however many calls
    if (!said) fmt::print(stderr, "note: --threads {}: this machine has {} cores; using {}\n", threads, default_threads(), default_threads());
    said = true;
    return default_threads();
  }
  return threads;
}

void set_threads(int threads) { at::set_num_threads(thread_count(threads)); }

const CLI::Validator& at_least_one() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        size_t used = 0;
        long long value = 0;
        try {
          value = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || value < 1) return "'" + text + "': expected a whole number >= 1 (leave the option out for its default)";
        return "";
      },
      "N >= 1");
  return validator;
}

}  // namespace apot::cli
