// `apot bench train-step`: training steps of several precisions timed side by side in one process,
// printed as ratios to full precision (a machine's noise affects them alike).
#include <algorithm>
#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"

namespace apot::cli {

namespace {

std::vector<int> parse_int_list(const std::string& text, const char* flag) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw std::invalid_argument(fmt::format("{}: '{}' is not a comma-separated list of integers", flag, text));
    }
  }
  if (values.empty()) throw std::invalid_argument(fmt::format("{} is empty", flag));
  return values;
}

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, 'x')) dims.push_back(std::stoll(item));
  if (dims.size() != 3 || dims[0] < 1 || dims[1] < 8 || dims[2] < 8) {
    throw std::invalid_argument(fmt::format("--input '{}': expected CxHxW, e.g. 3x32x32", text));
  }
  return dims;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "benchmarks that print ratios measured side by side");
  bench->require_subcommand(1);
  auto* c = bench->add_subcommand("train-step", "seconds per training step (forward, backward, SGD) for each --bits");
  auto model = std::make_shared<ModelFlags>();
  auto bits = std::make_shared<std::string>("32,4,2");
  auto batch = std::make_shared<int64_t>(128);
  auto steps = std::make_shared<int>(5);
  auto input = std::make_shared<std::string>("3x32x32");
  model->add_to(*c, /*with_bits=*/false);
  c->add_option("--bits", *bits, "comma-separated bit-widths, 32 = full precision (the ratios' base)")->capture_default_str();
  c->add_option("--batch-size", *batch)->capture_default_str();
  c->add_option("--steps", *steps, "timed steps per configuration (after one warm-up step)")->capture_default_str();
  c->add_option("--input", *input, "input shape CxHxW")->capture_default_str();
  c->callback([=] {
    set_threads(model->threads);
    const std::vector<int> widths = parse_int_list(*bits, "--bits");
    const std::vector<int64_t> shape = parse_shape(*input);
    if (*steps < 1 || *batch < 1) throw std::invalid_argument("--steps and --batch-size must be >= 1");
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({*batch, shape[0], shape[1], shape[2]});
    const torch::Tensor y = torch::randint(10, {*batch}, torch::kLong);
    fmt::print("{} train step, batch {}, input {}, {} threads, {} timed steps each\n", model->arch, *batch, *input,
               at::get_num_threads(), *steps);
    // All configurations are built first and their steps interleaved, round after round, so that a
    // machine's drift and noise reach every one alike; each reports its median step.
    struct Config {
      std::string name;
      std::shared_ptr<models::Network> net;
      std::unique_ptr<torch::optim::SGD> sgd;
      std::vector<double> seconds;
    };
    std::vector<Config> configs;
    for (int b : widths) {
      models::NetworkOptions options;
      options.in_channels = shape[0];
      options.quant = model->quant_config(b, b);
      Config config;
      config.name = b == 32 ? "fp32" : fmt::format("{}{}", model->scheme, b);
      config.net = models::make_network(model->arch, options);
      config.net->train();
      config.sgd = std::make_unique<torch::optim::SGD>(config.net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
      fmt::print("{:>8}: {}\n", config.name, options.quant.describe());
      configs.push_back(std::move(config));
    }
    auto step = [&](Config& config) {
      const auto start = std::chrono::steady_clock::now();
      config.sgd->zero_grad();
      torch::cross_entropy_loss(config.net->forward(x), y).backward();
      config.sgd->step();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    for (Config& config : configs) step(config);  // warm-up: allocations, first touch
    for (int s = 0; s < *steps; ++s) {
      for (Config& config : configs) config.seconds.push_back(step(config));
    }
    std::vector<std::pair<std::string, double>> results;
    for (Config& config : configs) {
      std::sort(config.seconds.begin(), config.seconds.end());
      const double median = config.seconds[config.seconds.size() / 2];
      results.emplace_back(config.name, median);
      fmt::print("{:>8}: {:.3f} s/step (median of {})\n", config.name, median, config.seconds.size());
    }
    for (const auto& [name, seconds] : results) {
      if (name == "fp32") continue;
      for (const auto& [base, base_seconds] : results) {
        if (base == "fp32") fmt::print("{}/fp32: {:.2f}\n", name, seconds / base_seconds);
      }
    }
  });
}

}  // namespace apot::cli
