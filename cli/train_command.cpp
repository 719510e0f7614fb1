// `apot train` and `apot eval`: quantisation-aware training and test accuracy on a dataset.
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/shared_flags.h"
#include "cli/worker_launcher.h"
#include "data/datasets.h"
#include "train/process_group.h"
#include "train/trainer.h"

namespace apot::cli {

void add_train_command(CLI::App& app) {
  auto* c = app.add_subcommand("train", "quantisation-aware training (APoT + RCF + WN by default)");
  auto model = std::make_shared<ModelFlags>();
  auto dataf = std::make_shared<DataFlags>();
  auto o = std::make_shared<train::TrainOptions>();
  auto schedule = std::make_shared<std::string>("cosine");
  model->add_to(*c);
  dataf->add_to(*c);
  c->add_option("--epochs", o->epochs, "epochs to train (passes over the training images)")->capture_default_str()->check(at_least_one());
  c->add_option("--batch-size", o->batch_size, "images per step (per worker with --nproc)")->capture_default_str()->check(at_least_one());
  c->add_option("--lr", o->lr, "learning rate of the weights (a finite number > 0)")->capture_default_str();
  c->add_option("--lr-schedule", *schedule, "step (x0.1 at 1/2 and 3/4) | cosine")->capture_default_str();
  c->add_option("--momentum", o->momentum, "SGD momentum, 0 <= momentum < 1")->capture_default_str();
  c->add_option("--wd", o->weight_decay, "weight decay")->capture_default_str();
  c->add_option("--alpha-lr", o->alpha_lr, "learning rate of the clipping thresholds")->capture_default_str();
  c->add_option("--alpha-wd", o->alpha_weight_decay, "weight decay of the clipping thresholds")->capture_default_str();
  c->add_option("--augment", o->augment,
                 "training augmentation: default (the dataset's: crop4+flip for cifar10, none for the MNISTs), none, "
                 "or cropP and flip joined by +, e.g. crop2+flip")
      ->capture_default_str();
  c->add_option("--init", o->init_checkpoint,
                 "start from this checkpoint (progressive initialisation 32 -> 5 -> 4 -> 3 -> 2): any file torch.save writes");
  c->add_option("--checkpoint-key", o->init_checkpoint_key, "the entry of an --init checkpoint dict that holds the weights");
  c->add_flag("--fit-thresholds", o->fit_thresholds,
              "before training, set the learned thresholds to their QEM values (Eq. 14) for this bit width: weights from "
              "the weights, activations on the first " + std::to_string(train::kCalibrationImages) +
                  " training images (for --init from another bit width)");
  c->add_flag("--resume", o->resume, "continue the run in --out from its last checkpoint (the same flags; checked)");
  c->add_flag("--overwrite", o->overwrite, "replace the run in --out (without it, a folder that holds a run is refused)");
  c->add_option("--seed", o->seed, "seed of the initial weights, the data order and the augmentation")->capture_default_str();
  add_train_limit_flag(*c, o->train_limit);
  add_test_limit_flag(*c, o->test_limit);
  c->add_option("--out", o->out_dir, "output folder: model.pt (weights, what they are, and the state --resume needs), "
                 "metrics.csv, summary.json")->capture_default_str();
  auto nproc = std::make_shared<int>(0);
  auto backend = std::make_shared<std::string>("gloo");
  auto timeout_s = std::make_shared<double>(std::chrono::duration<double>(train::kDefaultCollectiveTimeout).count());
  c->add_option("--nproc", *nproc,
                "start N local data-parallel workers (torchrun's environment; --batch-size is per worker, the global "
                "batch N times it). Without it, a process started with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set joins "
                "that group")
      ->check(at_least_one());
  c->add_option("--backend", *backend, "distributed backend: gloo (nccl needs a CUDA LibTorch)")->capture_default_str();
  c->add_option("--dist-timeout", *timeout_s,
                "seconds a worker waits in a collective before it gives up: a worker that hangs stops the run after this")
      ->capture_default_str();
  c->callback([=] {
    const std::optional<train::DistributedEnv> env = train::distributed_env_from_environment();
    if (*nproc > 0) {
      if (env) throw std::invalid_argument("--nproc starts its own workers: not inside a worker (WORLD_SIZE is set)");
      const int code = launch_local_workers(*nproc, command_line());
      if (code != 0) throw std::runtime_error(fmt::format("training with {} workers failed (see the worker messages above)", *nproc));
      return;
    }
    if (!(*timeout_s > 0)) throw std::invalid_argument(fmt::format("--dist-timeout {}: expected > 0 seconds", *timeout_s));
    // A worker's default share of the cores: all of them split among the workers on this machine.
    set_threads(model->threads == 0 && env ? std::max(1, default_threads() / env->local_world_size) : model->threads);
    std::unique_ptr<train::ProcessGroup> group;
    if (env) {
      group = std::make_unique<train::ProcessGroup>(
          *env, *backend, std::chrono::milliseconds(static_cast<int64_t>(*timeout_s * 1000)));
    }
    const bool writer = !group || group->rank() == 0;
    train::TrainOptions options = *o;
    options.group = group.get();
    options.dataset = dataf->dataset;
    options.data_dir = dataf->data_dir;
    options.lr_schedule = train::parse_lr_schedule(*schedule);
    options.progress_bar = ::isatty(STDERR_FILENO);
    auto net = build_network(*model, options.dataset, options.seed);
    if (writer) {
      fmt::print("training {} {} on {} for {} epochs, {} threads{}\n", net->arch(), net->options().quant.describe(),
                 options.dataset, options.epochs, at::get_num_threads(), group ? " per worker" : "");
    }
    const train::TrainResult r = train::train(*net, options, [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);  // one line per epoch, visible at once when redirected to a file
    });
    const double accuracy = r.epochs.empty() ? 0.0 : r.epochs.back().test_accuracy;
    if (writer) fmt::print("test accuracy {:.2f}%  ({:.0f} s)  checkpoint {}\n", accuracy, r.wall_seconds, r.checkpoint);
  });
}

void add_eval_command(CLI::App& app) {
  auto* c = app.add_subcommand("eval", "test accuracy of a checkpoint");
  auto model = std::make_shared<ModelFlags>();
  auto dataf = std::make_shared<DataFlags>();
  auto checkpoint = std::make_shared<CheckpointFlags>();
  auto limit = std::make_shared<size_t>(0);
  model->add_to(*c);
  dataf->add_to(*c);
  checkpoint->add_to(*c, "--checkpoint", "the weights");
  add_test_limit_flag(*c, *limit);
  c->callback([=] {
    set_threads(model->threads);
    const CheckpointNetwork loaded = read_checkpoint_network(*model, *checkpoint);
    dataf->default_to(loaded.checkpoint.network);
    const data::DatasetShape shape = data::dataset_shape(dataf->dataset);
    auto net = loaded.build(shape.channels, shape.classes);
    data::ImageSet test = data::load_dataset(dataf->dataset, dataf->data_dir, /*train=*/false);
    if (*limit) test = data::subset(test, 0, *limit);
    const train::EvalResult r = train::evaluate(*net, test, data::default_normalization(dataf->dataset));
    fmt::print("{} images  loss {:.4f}  top-1 accuracy {:.2f}%\n", r.images, r.loss, r.accuracy);
  });
}

}  // namespace apot::cli
