// `apot run`: the integer engine on an exported model, for a tensor file or a dataset's test split.
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "cli/test_batches.h"
#include "deploy/analysis/agreement.h"
#include "deploy/engine/engine.h"
#include "deploy/format/model_file.h"
#include "models/torch_io.h"

namespace apot::cli {

void add_run_command(CLI::App& app) {
  auto* c = app.add_subcommand("run", "the integer engine on an exported model (.apot)");
  auto source = std::make_shared<EngineInputFlags>();
  auto output = std::make_shared<std::string>();
  auto kernel = std::make_shared<std::string>("auto");
  auto threads = std::make_shared<int>(0);
  source->add_to(*c);
  deprecated_alias(*c, "model", "--model");
  add_logits_out_flag(*c, *output);
  deprecated_alias(*c, "--output", "--out");
  add_kernel_flag(*c, *kernel);
  add_threads_flag(*c, *threads);
  c->callback([=] {
    if (!output->empty() && source->input.empty()) throw std::invalid_argument("--out writes the logits of --input: give --input too");
    const deploy::IntegerModel model = deploy::load_model(source->model);
    deploy::EngineOptions engine_options;
    engine_options.kernel = deploy::parse_kernel(*kernel);
    engine_options.threads = thread_count(*threads);
    deploy::Engine engine(model, engine_options);
    if (!source->input.empty()) {
      if (output->empty()) throw std::invalid_argument("--input needs --out");
      const torch::Tensor x = models::read_tensor(source->input).to(torch::kFloat).contiguous();
      if (x.dim() != 4 || x.size(1) != model.in_channels || x.size(2) != model.height || x.size(3) != model.width) {
        throw std::invalid_argument(fmt::format("{}: expected N x {} x {} x {}, got shape {}", source->input, model.in_channels,
                                                model.height, model.width, fmt::join(x.sizes().vec(), "x")));
      }
      const std::vector<float> logits = engine.run(x.data_ptr<float>(), x.size(0));
      models::write_tensor(torch::tensor(logits).reshape({x.size(0), model.num_classes}), *output);
      fmt::print("wrote {} logits of {} images to {} ({} kernel)\n", model.num_classes, x.size(0), *output, engine.kernel_name());
      return;
    }
    int64_t images = 0, correct = 0;
    double seconds = 0;
    source->for_each_test_batch(model, [&](const float* x, const int64_t* labels, int64_t count) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<float> logits = engine.run(x, count);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (int64_t i = 0; i < count; ++i) {
        correct += deploy::top1(logits.data() + i * model.num_classes, model.num_classes) == labels[i];
      }
      images += count;
    });
    fmt::print("{} images  top-1 accuracy {:.2f}%  ({} kernel, {:.0f} images/s in the engine)\n", images,
               100.0 * static_cast<double>(correct) / static_cast<double>(images), engine.kernel_name(),
               static_cast<double>(images) / seconds);
  });
}

}  // namespace apot::cli
