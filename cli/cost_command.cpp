// apot cost: model size and FixOPs of an architecture at a precision, per layer and in total, by the
// paper's bit-op accounting (section 4.1, Table 1; docs/cost-model.md).
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/shared_flags.h"
#include "core/cost.h"
#include "core/network_spec.h"
#include "deploy/analysis/model_cost.h"
#include "deploy/format/model_file.h"

namespace apot::cli {

namespace {

struct CostCommandOptions {
  std::string arch;
  int bits = 0;
  int act_bits = 0;  // when not given: bits
  int first_last_bits = 8;
  std::string scheme = "apot";
  std::string rule = "table";
  std::string input;  // CxHxW; empty: the arch's own
  int classes = 0;    // when not given: the arch's own
  bool json = false;
  std::string model;  // an exported .apot file: count its own weights' shift-adds instead
};

// Quantised 2..8 bits, or full precision; model_cost() checks again, this names the option.
const CLI::Validator kBitWidth(
    [](std::string& text) -> std::string {
      try {
        const int bits = std::stoi(text);
        if ((bits >= 2 && bits <= 8) || bits == kFullPrecisionBits) return "";
      } catch (const std::exception&) {
      }
      return fmt::format("{} is not a bit-width: expected 2..8, or {} (full precision)", text, kFullPrecisionBits);
    },
    "2..8|32");

std::string shape_text(const LayerSpec& l) {
  if (l.kind == LayerSpec::Linear) return fmt::format("linear {}->{}", l.in_channels, l.out_channels);
  if (l.kind == LayerSpec::Adder) return fmt::format("adder {}x{}/{} {}->{}", l.kernel_h, l.kernel_w, l.stride, l.in_channels, l.out_channels);
  return fmt::format("conv {}x{}/{} {}->{}", l.kernel_h, l.kernel_w, l.stride, l.in_channels, l.out_channels);
}

nlohmann::json to_json(const NetworkSpec& net, const CostOptions& options, const ModelCost& cost) {
  nlohmann::json j;
  j["arch"] = net.arch;
  j["input"] = {net.in_channels, net.in_h, net.in_w};
  j["classes"] = net.num_classes;
  j["scheme"] = std::string(to_string(options.scheme));
  j["weight_bits"] = options.weight_bits;
  j["activation_bits"] = options.activation_bits;
  j["first_last_bits"] = options.first_last_bits;
  j["rule"] = std::string(to_string(options.rule));
  j["parameters"] = net.parameter_count();
  j["macs"] = cost.macs;
  j["fixops"] = cost.fixops;
  j["model_size_bits"] = cost.size_bits;
  j["model_size_bytes"] = cost.size_bytes();
  j["model_size_mb"] = cost.size_mb();
  j["layers"] = nlohmann::json::array();
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerSpec& s = net.layers[i];
    const LayerCost& c = cost.layers[i];
    j["layers"].push_back({{"name", s.name},
                           {"kind", s.kind == LayerSpec::Conv ? "conv" : s.kind == LayerSpec::Linear ? "linear" : "adder"},
                           {"in_channels", s.in_channels},
                           {"out_channels", s.out_channels},
                           {"kernel", {s.kernel_h, s.kernel_w}},
                           {"stride", s.stride},
                           {"padding", s.padding},
                           {"input", {s.in_h, s.in_w}},
                           {"output", {s.out_h, s.out_w}},
                           {"weights", s.weight_count()},
                           {"parameters", s.parameter_count()},
                           {"scheme", std::string(to_string(c.scheme))},
                           {"weight_bits", c.weight_bits},
                           {"activation_bits", c.activation_bits},
                           {"macs", c.macs},
                           {"fixops", c.fixops},
                           {"float_count", c.float_count},
                           {"size_bits", c.size_bits()}});
  }
  return j;
}

void print_table(const NetworkSpec& net, const CostOptions& options, const ModelCost& cost) {
  fmt::print("{} on {}x{}x{}, {} classes: {} {}/{} bits (W/A), first and last layers {} bits, {} rule\n\n",
             net.arch, net.in_channels, net.in_h, net.in_w, net.num_classes, to_string(options.scheme),
             options.weight_bits, options.activation_bits, options.first_last_bits, to_string(options.rule));
  fmt::print("{:<24} {:<22} {:>9} {:>10} {:>9} {:>13} {:>11} {:>10}\n", "layer", "shape", "output", "weights",
             "MACs (M)", "W/A", "FixOPs (M)", "size (KiB)");
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerSpec& s = net.layers[i];
    const LayerCost& c = cost.layers[i];
    fmt::print("{:<24} {:<22} {:>9} {:>10} {:>9.2f} {:>13} {:>11.3f} {:>10.2f}\n", s.name, shape_text(s),
               fmt::format("{}x{}", s.out_h, s.out_w), s.weight_count(), c.macs / 1e6,
               fmt::format("{} {}/{}", to_string(c.scheme), c.weight_bits, c.activation_bits), c.fixops / 1e6,
               c.size_bits() / 8.0 / 1024);
  }
  fmt::print("\ntotal: {} parameters, {:.4f} G MACs\n", net.parameter_count(), cost.macs / 1e9);
  fmt::print("model size: {:.3f} MB ({:.0f} bytes; MB = 2^20 bytes, as Table 1)\n", cost.size_mb(),
             cost.size_bytes());
  fmt::print("FixOPs: {:.1f} M (one FixOP = 64 binary operations, an 8-bit x 8-bit multiply)\n", cost.fixops / 1e6);
}

// Shift-adds of an exported model's own weights, per layer and in total, against the worst case.
void print_model_shift_adds(const std::string& path, bool json) {
  const deploy::IntegerModel model = deploy::load_model(path);
  const std::vector<deploy::LayerShiftAdds> layers = deploy::model_shift_adds(model);
  ShiftAddCount total;
  for (const auto& l : layers) total += l.count;
  if (json) {
    nlohmann::json j{{"model", path}, {"arch", model.arch}, {"quantization", model.description},
                     {"weights", total.weights}, {"zero_weights", total.zero_weights}, {"terms", total.terms},
                     {"shift_adds", total.shift_adds}, {"worst_case_shift_adds", total.worst_case_shift_adds}};
    j["layers"] = nlohmann::json::array();
    for (const auto& l : layers) {
      j["layers"].push_back({{"name", l.layer.name}, {"levels", l.levels}, {"weights", l.count.weights},
                             {"zero_weights", l.count.zero_weights}, {"terms", l.count.terms},
                             {"shift_adds", l.count.shift_adds}, {"worst_case_shift_adds", l.count.worst_case_shift_adds}});
    }
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{}: {} ({}), shift-adds per image from its own weights (Fig. 3: one shift and one add per nonzero "
             "term)\n\n", path, model.arch, model.description);
  fmt::print("{:<24} {:<34} {:>9} {:>8} {:>14} {:>14} {:>7}\n", "layer", "levels", "weights", "zeros", "shift-adds",
             "worst case", "share");
  auto row = [](const std::string& name, const std::string& levels, const ShiftAddCount& c) {
    fmt::print("{:<24} {:<34} {:>9} {:>8} {:>14} {:>14} {:>6.1f}%\n", name, levels, c.weights, c.zero_weights,
               c.shift_adds, c.worst_case_shift_adds,
               c.worst_case_shift_adds ? 100.0 * static_cast<double>(c.shift_adds) / static_cast<double>(c.worst_case_shift_adds) : 0.0);
  };
  for (const auto& l : layers) row(l.layer.name, l.levels, l.count);
  row("total", "", total);
}

nlohmann::json to_json(const NetworkSpec& net, const NetworkArithmetic& a) {
  nlohmann::json j{{"arch", net.arch}, {"multiplies", a.multiplies}, {"adds", a.adds}, {"energy_uj", a.energy_pj * 1e-6}};
  j["layers"] = nlohmann::json::array();
  for (const LayerArithmetic& l : a.layers) {
    j["layers"].push_back({{"name", l.name}, {"kind", l.adder ? "adder" : "multiply"}, {"bits", l.bits},
                           {"multiplies", l.multiplies}, {"adds", l.adds}, {"energy_uj", l.energy_pj * 1e-6}});
  }
  return j;
}

// An adder network's arithmetic and energy per image beside the CNN of the same layout (core/cost.h).
void print_adder_comparison(const NetworkSpec& adder, const NetworkSpec& cnn, int bits, int adder_edge_bits, int cnn_edge_bits,
                            bool json) {
  const NetworkArithmetic a = network_arithmetic(adder, bits, adder_edge_bits), c = network_arithmetic(cnn, bits, cnn_edge_bits);
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"bits", bits}, {"adder", to_json(adder, a)}, {"cnn", to_json(cnn, c)}}.dump(2));
    return;
  }
  const auto bits_text = [](int b) { return b == kFullPrecisionBits ? std::string("float32") : fmt::format("{}-bit", b); };
  fmt::print("{} on {}x{}x{}: adder layers at {}, first conv and classifier at {}; beside {} (first and last layers at {})\n",
             adder.arch, adder.in_channels, adder.in_h, adder.in_w, bits_text(bits), bits_text(adder_edge_bits), cnn.arch,
             bits_text(cnn_edge_bits));
  fmt::print("energy per operation (45 nm, Horowitz 2014): float32 add 0.9 pJ, multiply 3.7 pJ; int32 add 0.1 pJ; 8-bit add "
             "0.03 pJ, multiply 0.2 pJ\n\n");
  fmt::print("{:<24} {:<8} {:>9} {:>14} {:>14} {:>12}\n", "layer", "kind", "operands", "multiplies (M)", "adds (M)", "energy (uJ)");
  for (const LayerArithmetic& l : a.layers) {
    fmt::print("{:<24} {:<8} {:>9} {:>14.3f} {:>14.3f} {:>12.3f}\n", l.name, l.adder ? "adder" : "multiply", bits_text(l.bits),
               l.multiplies / 1e6, l.adds / 1e6, l.energy_pj * 1e-6);
  }
  fmt::print("\n{:<24} {:>14} {:>14} {:>12} \n", "per image", "multiplies (M)", "adds (M)", "energy (uJ)");
  for (const auto& [net, total] : {std::pair{&adder, &a}, std::pair{&cnn, &c}}) {
    fmt::print("{:<24} {:>14.3f} {:>14.3f} {:>12.3f}\n", net->arch, total->multiplies / 1e6, total->adds / 1e6, total->energy_pj * 1e-6);
  }
  fmt::print("energy {} / {}: {:.3f}\n", adder.arch, cnn.arch, a.energy_pj / c.energy_pj);
}

}  // namespace

void add_cost_command(CLI::App& app) {
  auto o = std::make_shared<CostCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "cost", "Model size and FixOPs of an architecture (paper section 4.1, Table 1; docs/cost-model.md); adds and energy of "
              "an adder network beside its CNN");
  add_arch_flag(*cmd, o->arch);
  cmd->add_option("--bits", o->bits, "weight bit-width b, sign included (2..8, or 32 for full precision)")
      ->check(kBitWidth);
  add_model_file_flag(*cmd, o->model);
  cmd->add_option("--act-bits", o->act_bits, "activation bit-width (default: --bits)")->check(kBitWidth);
  cmd->add_option("--scheme", o->scheme, "apot, uniform, pot or lloyd")
      ->check(CLI::IsMember({"apot", "uniform", "pot", "lloyd"}))
      ->capture_default_str();
  cmd->add_option("--rule", o->rule, "table (reproduces Table 1) or prose (m*n shift-adds, section 4.1)")
      ->check(CLI::IsMember({"table", "prose"}))
      ->capture_default_str();
  cmd->add_option("--first-last-bits", o->first_last_bits,
                  "bits of the first conv and the last fc: 8 (the paper) or 32 (Table 1's baselines)")
      ->check(kBitWidth)
      ->capture_default_str();
  auto* input_shape = add_input_shape_flag(*cmd, o->input);
  input_shape->description(input_shape->get_description() + " (default: 3x32x32 for CIFAR ResNets, 3x224x224 for ImageNet)");
  deprecated_alias(*cmd, "--input", "--input-shape");
  cmd->add_option("--classes", o->classes, "classes of the last layer (default: 10 CIFAR, 1000 ImageNet)");
  cmd->add_flag("--json", o->json, "print JSON with model_size_mb, fixops and per-layer detail");
  cmd->callback([o, cmd] {
    if (!o->model.empty()) {
      for (const char* flag :
           {"--arch", "--bits", "--act-bits", "--scheme", "--rule", "--first-last-bits", "--input-shape", "--classes"}) {
        if (cmd->count(flag)) {
          throw std::invalid_argument(fmt::format("{} does not apply with --model: the file says what the network is, and its "
                                                  "own weights give the count", flag));
        }
      }
      print_model_shift_adds(o->model, o->json);
      return;
    }
    if (o->arch.empty() || !cmd->count("--bits")) throw std::invalid_argument("cost needs --arch and --bits (or --model FILE)");
    const InputShape input = o->input.empty() ? default_input(o->arch) : parse_input_shape(o->input);
    const int classes = cmd->count("--classes") > 0 ? o->classes : default_classes(o->arch);
    const NetworkSpec net = network_spec(o->arch, input.channels, input.h, input.w, classes);
    if (o->arch.rfind("adder-", 0) == 0) {
      for (const char* flag : {"--act-bits", "--scheme", "--rule"}) {
        if (cmd->count(flag)) throw std::invalid_argument(fmt::format("{} does not apply to {}: it counts adds and energy", flag, o->arch));
      }
      // apot ptq keeps an adder network's first conv and classifier in float, as the official code does.
      const bool edges_given = cmd->count("--first-last-bits") > 0;
      print_adder_comparison(net, network_spec(o->arch.substr(6), input.channels, input.h, input.w, classes), o->bits,
                             edges_given ? o->first_last_bits : kFullPrecisionBits, o->first_last_bits, o->json);
      return;
    }
    CostOptions options;
    options.scheme = parse_scheme(o->scheme);
    options.weight_bits = o->bits;
    options.activation_bits = cmd->count("--act-bits") > 0 ? o->act_bits : o->bits;
    options.first_last_bits = o->first_last_bits;
    options.rule = parse_cost_rule(o->rule);
    const ModelCost cost = model_cost(net, options);
    if (o->json) {
      fmt::print("{}\n", to_json(net, options, cost).dump(2));
    } else {
      print_table(net, options, cost);
    }
  });
}

}  // namespace apot::cli
