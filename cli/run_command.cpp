// `apot run`: the integer engine on an exported model, for a tensor file or a dataset's test split.
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/test_batches.h"
#include "deploy/analysis/agreement.h"
#include "deploy/engine/engine.h"
#include "deploy/format/model_file.h"
#include "models/torch_io.h"

namespace apot::cli {

namespace {

struct EngineFlags {
  std::string kernel = "auto";
  int threads = 0;
  void add_to(CLI::App& c) {
    c.add_option("--kernel", kernel, "auto | shift-add (the reference, counts shifts and adds) | scalar | avx2 | avx512-vnni")
        ->capture_default_str();
    c.add_option("--threads", threads, "threads (default: all cores)");
  }
  deploy::EngineOptions options() const {
    deploy::EngineOptions o;
    o.kernel = deploy::parse_kernel(kernel);
    o.threads = thread_count(threads);
    return o;
  }
};

}  // namespace

void add_run_command(CLI::App& app) {
  auto* c = app.add_subcommand("run", "the integer engine on an exported model (.apot)");
  auto model_path = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto dataf = std::make_shared<DataFlags>();
  auto limit = std::make_shared<size_t>(0);
  auto batch = std::make_shared<int64_t>(64);
  auto engine_flags = std::make_shared<EngineFlags>();
  c->add_option("model", *model_path, "the .apot file apot export wrote")->required();
  c->add_option("--input", *input, "N x C x H x W float tensor saved by torch.save (normalised like the training input)");
  c->add_option("--output", *output, "where to write the N x classes logits (torch.load opens it); needs --input");
  dataf->add_to(*c);
  c->add_option("--limit", *limit, "use only the first N test images (default: all)")->check(at_least_one());
  c->add_option("--batch-size", *batch, "images per engine call on a dataset")->capture_default_str();
  engine_flags->add_to(*c);
  c->callback([=] {
    if (!output->empty() && input->empty()) throw std::invalid_argument("--output writes the logits of --input: give --input too");
    const deploy::IntegerModel model = deploy::load_model(*model_path);
    deploy::Engine engine(model, engine_flags->options());
    if (!input->empty()) {
      if (output->empty()) throw std::invalid_argument("--input needs --output");
      const torch::Tensor x = models::read_tensor(*input).to(torch::kFloat).contiguous();
      if (x.dim() != 4 || x.size(1) != model.in_channels || x.size(2) != model.height || x.size(3) != model.width) {
        throw std::invalid_argument(fmt::format("{}: expected N x {} x {} x {}, got shape {}", *input, model.in_channels,
                                                model.height, model.width, fmt::join(x.sizes().vec(), "x")));
      }
      const std::vector<float> logits = engine.run(x.data_ptr<float>(), x.size(0));
      models::write_tensor(torch::tensor(logits).reshape({x.size(0), model.num_classes}), *output);
      fmt::print("wrote {} logits of {} images to {} ({} kernel)\n", model.num_classes, x.size(0), *output, engine.kernel_name());
      return;
    }
    int64_t images = 0, correct = 0;
    double seconds = 0;
    for_each_test_batch(model, dataf->dataset, dataf->data_dir, *limit, *batch,
                        [&](const float* x, const int64_t* labels, int64_t count) {
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
