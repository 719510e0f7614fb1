// `apot bench train-step`: training steps of several architectures and precisions timed side by side in
// one process, printed as ratios to the first (a machine's noise affects them alike).
// `apot bench engine`: images/s of the integer engine against LibTorch's fp32 eval of the same
// architecture, interleaved in one process so that the machine's noise affects both alike.
#include <algorithm>
#include <chrono>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "deploy/engine/engine.h"
#include "deploy/export/export.h"

namespace apot::cli {

namespace {

std::vector<std::string> parse_list(const std::string& text, const char* flag) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) items.push_back(item);
  if (items.empty()) throw std::invalid_argument(fmt::format("{} is empty", flag));
  return items;
}

std::vector<int> parse_int_list(const std::string& text, const char* flag) {
  std::vector<int> values;
  for (const std::string& item : parse_list(text, flag)) {
    try {
      size_t used = 0;
      values.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw std::invalid_argument(fmt::format("{}: '{}' is not a comma-separated list of integers", flag, text));
    }
  }
  return values;
}

// Below 8x8 the last stages' maps shrink to a pixel or two, where a training step's batch statistics can
// blow up, and the timings say little of real inputs.
InputShape bench_input_shape(const std::string& text) {
  const InputShape shape = parse_input_shape(text);
  if (shape.h < 8 || shape.w < 8) {
    throw std::invalid_argument(fmt::format("--input-shape {}: the benchmarks take images of 8x8 or more", text));
  }
  return shape;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double seconds_of(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void add_bench_engine(CLI::App& bench) {
  auto* c = bench.add_subcommand("engine", "images/s: the integer engine against LibTorch fp32 eval, side by side");
  auto model = std::make_shared<ModelFlags>();
  auto batches = std::make_shared<std::string>("1,64");
  auto reps = std::make_shared<int>(10);
  auto input = std::make_shared<std::string>("1x28x28");
  auto kernel = std::make_shared<std::string>("auto");
  model->bits = 4;
  model->add_to(*c);
  c->add_option("--batch-sizes", *batches, "comma-separated batch sizes")->capture_default_str();
  add_reps_flag(*c, *reps);
  add_input_shape_flag(*c, *input);
  deprecated_alias(*c, "--input", "--input-shape");
  add_kernel_flag(*c, *kernel);
  c->callback([=] {
    set_threads(model->threads);
    const std::vector<int> sizes = parse_int_list(*batches, "--batch-sizes");
    const InputShape shape = bench_input_shape(*input);
    torch::NoGradGuard no_grad;
    torch::manual_seed(0);
    // The quantised network with batch-norm statistics from a few random batches, exported; and the
    // same architecture at full precision. Speed does not depend on the weights' values.
    models::NetworkOptions options;
    options.in_channels = shape.channels;
    options.quant = model->quant_config();
    auto quantised = models::make_network(model->arch, options);
    quantised->train();
    for (int i = 0; i < 2; ++i) quantised->forward(torch::randn({8, shape.channels, shape.h, shape.w}));
    deploy::ExportOptions export_options;
    export_options.in_channels = shape.channels;
    export_options.height = shape.h;
    export_options.width = shape.w;
    export_options.input_range = 4;
    const deploy::IntegerModel integer_model = deploy::export_model(*quantised, export_options);
    deploy::EngineOptions engine_options;
    engine_options.kernel = deploy::parse_kernel(*kernel);
    engine_options.threads = thread_count(model->threads);
    deploy::Engine engine(integer_model, engine_options);
    options.quant = model->quant_config(32, 32);
    auto fp32 = models::make_network(model->arch, options);
    fp32->eval();
    fmt::print("{} {}, input {}, {} threads; engine kernel {}; medians of {} interleaved repetitions\n", model->arch,
               integer_model.description, *input, at::get_num_threads(), engine.kernel_name(), *reps);
    for (int batch : sizes) {
      const torch::Tensor x = torch::randn({batch, shape.channels, shape.h, shape.w}).clamp(-4, 4).contiguous();
      std::vector<double> engine_s, torch_s;
      for (int r = 0; r <= *reps; ++r) {
        const double e = seconds_of([&] { engine.run(x.data_ptr<float>(), batch); });
        const double t = seconds_of([&] { fp32->forward(x); });
        if (r > 0) engine_s.push_back(e), torch_s.push_back(t);  // repetition 0 warms up
      }
      const double e = median(engine_s), t = median(torch_s);
      fmt::print("batch {:>3}: engine {:8.1f} images/s, libtorch fp32 {:8.1f} images/s, engine/libtorch-fp32: {:.2f}\n",
                 batch, batch / e, batch / t, t / e);
    }
  });
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "benchmarks that print ratios measured side by side");
  bench->require_subcommand(1);
  add_bench_engine(*bench);
  auto* c = bench->add_subcommand("train-step", "seconds per training step (forward, backward, SGD) for each --arch "
                                                "(here a comma-separated list) and --bits");
  auto model = std::make_shared<ModelFlags>();
  auto bits = std::make_shared<std::string>("32,4,2");
  auto batch = std::make_shared<int64_t>(128);
  auto reps = std::make_shared<int>(5);
  auto input = std::make_shared<std::string>("3x32x32");
  model->add_to(*c, /*with_bits=*/false);
  c->add_option("--bits", *bits, "comma-separated bit-widths, 32 = full precision (the first --arch at the first "
                                 "bit-width is the ratios' base)")->capture_default_str();
  c->add_option("--batch-size", *batch)->capture_default_str();
  add_reps_flag(*c, *reps);
  deprecated_alias(*c, "--steps", "--reps");
  add_input_shape_flag(*c, *input);
  deprecated_alias(*c, "--input", "--input-shape");
  c->callback([=] {
    set_threads(model->threads);
    const std::vector<int> widths = parse_int_list(*bits, "--bits");
    const std::vector<std::string> archs = parse_list(model->arch, "--arch");
    const InputShape shape = bench_input_shape(*input);
    if (*batch < 1) throw std::invalid_argument("--batch-size must be >= 1");
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({*batch, shape.channels, shape.h, shape.w});
    const torch::Tensor y = torch::randint(10, {*batch}, torch::kLong);
    fmt::print("{} train step, batch {}, input {}, {} threads, {} timed steps each\n", fmt::join(archs, ", "), *batch, *input,
               at::get_num_threads(), *reps);
    // All configurations are built first and their steps interleaved, round after round, so that a
    // machine's drift and noise reach every one alike; each reports its median step.
    struct Config {
      std::string name;
      std::shared_ptr<models::Network> net;
      std::unique_ptr<torch::optim::SGD> sgd;
      std::vector<double> seconds;
    };
    std::vector<Config> configs;
    for (const std::string& arch : archs) {
      for (int b : widths) {
        models::NetworkOptions options;
        options.in_channels = shape.channels;
        options.quant = model->quant_config(b, b);
        Config config;
        config.name = (archs.size() > 1 ? arch + " " : "") + (b == 32 ? "fp32" : fmt::format("{}{}", model->scheme, b));
        config.net = models::make_network(arch, options);
        config.net->train();
        config.sgd = std::make_unique<torch::optim::SGD>(config.net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
        fmt::print("{:>8}: {}\n", config.name, options.quant.describe());
        configs.push_back(std::move(config));
      }
    }
    auto step = [&](Config& config) {
      return seconds_of([&] {
        config.sgd->zero_grad();
        torch::cross_entropy_loss(config.net->forward(x), y).backward();
        config.sgd->step();
      });
    };
    for (Config& config : configs) step(config);  // warm-up: allocations, first touch
    for (int s = 0; s < *reps; ++s) {
      for (Config& config : configs) config.seconds.push_back(step(config));
    }
    std::vector<std::pair<std::string, double>> results;
    for (Config& config : configs) {
      const double m = median(config.seconds);
      results.emplace_back(config.name, m);
      fmt::print("{:>8}: {:.3f} s/step (median of {})\n", config.name, m, config.seconds.size());
    }
    const auto& [base, base_seconds] = results.front();
    for (size_t i = 1; i < results.size(); ++i) {
      fmt::print("{}/{}: {:.2f}\n", results[i].first, base, results[i].second / base_seconds);
    }
  });
}

}  // namespace apot::cli
