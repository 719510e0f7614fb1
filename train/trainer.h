// Training and evaluation: SGD with momentum, a parameter group for the clipping thresholds (paper
// section 4 / the reference: their own learning rate and weight decay), step or cosine schedules,
// per-epoch checkpoints written atomically, exact resume, progressive initialisation (--init), a
// metrics log and a summary.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/batches.h"
#include "data/dataset.h"
#include "models/network.h"
#include "train/metrics.h"

namespace apot::train {

class ProcessGroup;

enum class LrSchedule { Step, Cosine };
LrSchedule parse_lr_schedule(const std::string& name);

struct TrainOptions {
  std::string dataset = "fashion-mnist";
  std::string data_dir;            // empty: the dataset's default directory
  size_t train_limit = 0;          // use only the first N images (0: all), for quick runs
  size_t test_limit = 0;
  int epochs = 10;
  int batch_size = 128;
  double lr = 0.04;                // paper Appendix C.2 (CIFAR)
  LrSchedule lr_schedule = LrSchedule::Cosine;
  std::vector<int> lr_milestones;  // Step: epochs at which the lr is scaled by 0.1 (empty: 1/2 and 3/4
                                   // of the run); Appendix C.2's CIFAR recipe: 80 and 120 of 200
  double momentum = 0.9;
  double weight_decay = 1e-4;
  double alpha_lr = 0.01;          // DESIGN.md: the paper's alpha learning rate
  double act_alpha_lr = 0;         // the activations' thresholds (Appendix C.2: 0.03); 0: alpha_lr
  double alpha_weight_decay = 1e-4;
  std::string augment = "default"; // data::parse_augmentation's spec: the dataset's, none, crop4+flip, ...
  std::string init_checkpoint;     // progressive initialisation: weights of a higher precision
  std::string init_checkpoint_key; // its checkpoint dict's entry ("": models/torch_io.h's choice)
  bool fit_thresholds = false;     // before training (not on resume): learned thresholds set to their QEM
                                   // values on the first kCalibrationImages training images
                                   // (models::Network::fit_thresholds); for --init from another bit width
  bool resume = false;             // continue from out_dir's checkpoint (the same network and data)
  bool overwrite = false;          // replace a run in out_dir (without it, a run there is an error)
  uint64_t seed = 0;
  std::string out_dir = "run";
  bool progress_bar = false;       // a live bar (on a terminal) instead of plain lines
  int epochs_this_run = 0;         // stop after this many epochs (0: run to the end); --resume continues
  // Data-parallel training (not owned; nullptr: one process). Each rank trains on its shard of every
  // epoch with batch_size images, so the global batch is world_size * batch_size; gradients are averaged,
  // batch norm statistics span all ranks, and only rank 0 logs and writes files.
  ProcessGroup* group = nullptr;
};

// The images --fit-thresholds calibrates activation thresholds on: enough for ~10^6 samples per layer.
constexpr size_t kCalibrationImages = 256;

struct EvalResult {
  double loss = 0;
  double accuracy = 0;  // top-1, percent
  size_t images = 0;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  double wall_seconds = 0;
  std::string checkpoint;  // out_dir/model.pt
};

// Trains `net` (built by the caller from the quantisation config) on options.dataset. After every epoch
// writes out_dir/model.pt, apot's checkpoint (models/torch_io.h: the weights, what network they are,
// and the optimiser state, epoch and metrics for --resume, in one file renamed into place whole), then
// out_dir/metrics.csv; at the end out_dir/summary.json. A non-finite training or test loss stops
// training with an error; the last checkpoint stays as it was. `log` receives the progress lines.
TrainResult train(models::Network& net, const TrainOptions& options, const std::function<void(const std::string&)>& log);

// Top-1 accuracy and mean cross-entropy over a dataset (eval mode, no augmentation). With a group, each
// rank evaluates every world_size-th image and the sums are combined: every rank gets the whole set's.
EvalResult evaluate(models::Network& net, const data::ImageSet& set, const data::Normalization& norm, int batch_size = 256,
                    ProcessGroup* group = nullptr);

// Progressive initialisation: loads `checkpoint` (weights of another precision or quantiser) into
// `net`; what the network has and the checkpoint lacks (thresholds, Lloyd levels) the quantisers derive
// from the loaded weights. Returns the names of those entries. Other differences are errors naming the
// entry (models/state_dict.h).
std::vector<std::string> load_initialisation(models::Network& net, const std::string& checkpoint, const std::string& key = "");

// Per-layer learned thresholds, for summaries: name -> values.
std::vector<std::pair<std::string, std::vector<float>>> learned_alphas(models::Network& net);

}  // namespace apot::train
