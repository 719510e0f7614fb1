// `apot verify`: the fake-quant network (LibTorch) and the integer engine on the same data; top-1
// agreement and the largest logit difference.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/test_batches.h"
#include "deploy/analysis/agreement.h"
#include "deploy/engine/engine.h"
#include "deploy/export/trace.h"
#include "deploy/format/model_file.h"
#include "models/torch_io.h"

namespace apot::cli {

namespace {

void print_agreement(const std::string& a, const std::string& b, const deploy::Agreement& r) {
  fmt::print("{} vs {}: {} images, same top-1 on {} ({:.2f}%), largest logit difference {:.3g} (logits up to {:.3g})\n",
             a, b, r.images, r.same_top1, r.agreement_percent(), r.max_logit_diff, r.max_abs_logit);
  if (r.labelled) {
    fmt::print("  top-1 accuracy: {} {:.2f}%, {} {:.2f}%\n", a, 100.0 * static_cast<double>(r.a_correct) / static_cast<double>(r.labelled),
               b, 100.0 * static_cast<double>(r.b_correct) / static_cast<double>(r.labelled));
  }
  if (!r.disagreeing.empty()) fmt::print("  images whose top-1 differs: {}{}\n", fmt::join(r.disagreeing, ", "),
                                         r.images - r.same_top1 > static_cast<int64_t>(r.disagreeing.size()) ? ", ..." : "");
}

void print_trace(const std::vector<deploy::OpTrace>& trace, int64_t images) {
  fmt::print("op by op on {} images (the network on the engine's input grid; streams differ beyond {:g} x their largest "
             "value):\n", images, deploy::kTraceTolerance);
  fmt::print("{:>4}  {:<24} {:<7} {:>12} {:>10} {:>12} {:>12}\n", "op", "layer", "output", "elements", "differing",
             "max |diff|", "max |value|");
  for (const deploy::OpTrace& t : trace) {
    fmt::print("{:>4}  {:<24} {:<7} {:>12} {:>10} {:>12.4g} {:>12.4g}\n", t.op, t.name, t.kind, t.elements, t.differing,
               t.max_diff, t.max_abs);
  }
  if (const deploy::OpTrace* first = deploy::first_difference(trace)) {
    fmt::print("first difference: op {} ({} {}): {} of {} differ, by up to {:.4g} (values up to {:.4g})\n", first->op,
               first->name, first->kind, first->differing, first->elements, first->max_diff, first->max_abs);
  } else {
    fmt::print("no op differs\n");
  }
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto* c = app.add_subcommand("verify", "the fake-quant network against the integer engine on the same data");
  auto flags = std::make_shared<ModelFlags>();
  auto checkpoint = std::make_shared<CheckpointFlags>();
  auto source = std::make_shared<EngineInputFlags>();
  auto reference = std::make_shared<std::string>();
  auto min_agreement = std::make_shared<double>(100);
  auto trace = std::make_shared<bool>(false);
  flags->add_to(*c);
  checkpoint->add_to(*c, "--checkpoint", "the weights the model was exported from");
  source->add_to(*c);
  c->add_option("--reference", *reference, "logits saved elsewhere for --input (torch.save), e.g. the reference implementation's");
  c->add_option("--min-agreement", *min_agreement,
                "exit with status 1 when the engine and the fake-quant network on the engine's input agree on fewer than "
                "this percentage of top-1s")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_flag("--trace", *trace,
              "also compare every op's output (codes, streams, logits) with the network's value at that point and name "
              "the first op where they differ (with --input: its images; else the test images)");
  c->callback([=] {
    if (!reference->empty() && source->input.empty()) throw std::invalid_argument("--reference holds logits of --input: give --input too");
    set_threads(flags->threads);
    const deploy::IntegerModel model = deploy::load_model(source->model);
    const CheckpointNetwork loaded = read_checkpoint_network(*flags, *checkpoint);
    if (loaded.arch != model.arch || loaded.quant.describe() != model.description) {
      throw std::invalid_argument(fmt::format("'{}' was exported from {} {}, but the network to compare it with is {} {} ({}): "
                                              "verify the checkpoint it was exported from, with the flags it was exported with",
                                              source->model, model.arch, model.description, loaded.arch, loaded.quant.describe(),
                                              loaded.checkpoint.network ? "as " + checkpoint->path + " records" : "from the flags"));
    }
    auto net = loaded.build(model.in_channels, model.num_classes);
    net->eval();
    torch::NoGradGuard no_grad;
    deploy::EngineOptions engine_options;
    engine_options.threads = thread_count(flags->threads);
    deploy::Engine engine(model, engine_options);
    const int classes = model.num_classes;
    // Logits of the fake-quant network on x, or on x moved onto the engine's int16 input grid.
    auto fake_quant = [&](const float* x, int64_t n, bool on_grid) {
      torch::Tensor in = torch::from_blob(const_cast<float*>(x), {n, model.in_channels, model.height, model.width});
      if (on_grid) in = deploy::on_input_grid(in, model.input.scale);
      const torch::Tensor logits = net->forward(in).contiguous();
      return std::vector<float>(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    };
    // The engine against the network on the same input, and on the input the engine quantised: the
    // second isolates the integer arithmetic, the first adds the input quantiser (the network is
    // discontinuous: moving its input by one grid step changes it about as much).
    // The third comparison is the network against itself on the two inputs: its own sensitivity.
    deploy::Agreement fake_vs_engine, grid_vs_engine, fake_vs_grid;
    auto compare = [&](const float* x, int64_t n, const int64_t* labels) {
      const std::vector<float> integer = engine.run(x, n);
      const std::vector<float> fake = fake_quant(x, n, false), grid = fake_quant(x, n, true);
      fake_vs_engine.add(fake.data(), integer.data(), n, classes, labels);
      grid_vs_engine.add(grid.data(), integer.data(), n, classes, labels);
      fake_vs_grid.add(fake.data(), grid.data(), n, classes, labels);
      return std::pair{fake, integer};
    };
    // The second comparison is the one the engine answers for: the same input, integer arithmetic alone.
    auto report = [&] {
      print_agreement("fake-quant", "engine", fake_vs_engine);
      print_agreement("fake-quant on the engine's int16 input", "engine", grid_vs_engine);
      print_agreement("fake-quant", "fake-quant on the engine's int16 input", fake_vs_grid);
    };
    auto check_agreement = [&] {
      if (grid_vs_engine.agreement_percent() < *min_agreement) {
        throw std::runtime_error(fmt::format("the engine agrees with the fake-quant network on {:.2f}% of top-1s, below "
                                             "--min-agreement {}%", grid_vs_engine.agreement_percent(), *min_agreement));
      }
    };
    if (!source->input.empty()) {
      const torch::Tensor x = models::read_tensor(source->input).to(torch::kFloat).contiguous();
      if (x.dim() != 4 || x.size(1) != model.in_channels || x.size(2) != model.height || x.size(3) != model.width) {
        throw std::invalid_argument(fmt::format("{}: expected N x {} x {} x {}, got shape {}", source->input, model.in_channels,
                                                model.height, model.width, fmt::join(x.sizes().vec(), "x")));
      }
      const auto [fake, integer] = compare(x.data_ptr<float>(), x.size(0), nullptr);
      report();
      if (*trace) print_trace(deploy::trace_program(*net, model, x, engine_options), x.size(0));
      if (!reference->empty()) {
        const torch::Tensor ref = models::read_tensor(*reference).to(torch::kFloat).contiguous();
        if (ref.dim() != 2 || ref.size(0) != x.size(0) || ref.size(1) != classes) {
          throw std::invalid_argument(fmt::format("{}: expected {} x {} logits, got shape {}", *reference, x.size(0), classes,
                                                  fmt::join(ref.sizes().vec(), "x")));
        }
        deploy::Agreement ref_vs_engine, ref_vs_fake;
        ref_vs_engine.add(ref.data_ptr<float>(), integer.data(), x.size(0), classes);
        ref_vs_fake.add(ref.data_ptr<float>(), fake.data(), x.size(0), classes);
        print_agreement("reference", "engine", ref_vs_engine);
        print_agreement("reference", "fake-quant", ref_vs_fake);
      }
      check_agreement();
      return;
    }
    std::vector<torch::Tensor> traced;
    source->for_each_test_batch(model, [&](const float* x, const int64_t* labels, int64_t n) {
      compare(x, n, labels);
      if (*trace) traced.push_back(torch::from_blob(const_cast<float*>(x), {n, model.in_channels, model.height, model.width}).clone());
    });
    report();
    if (*trace) {
      const torch::Tensor images = torch::cat(traced);
      print_trace(deploy::trace_program(*net, model, images, engine_options), images.size(0));
    }
    check_agreement();
  });
}

}  // namespace apot::cli
