// The study as a list of rows: which networks are trained, from which row each starts
// (progressive initialisation, paper section 4 and Appendix C.2: 32 -> 5 -> 4 -> 3 -> 2 bits), and with
// which hyper-parameters. Plain data, no LibTorch: the runner (study/runner.h) trains what it says.
//
// The rows reproduce, on the study's dataset:
//   - Table 2: full precision, and APoT at 4, 3 and 2 bits reached progressively;
//   - Table 3: APoT, uniform and PoT at 5 and 3 bits (here also 4 and 2, the chain that reaches them),
//     Lloyd-Max at 5 and 3 bits, and APoT at 3 bits without RCF and without WN;
//   - Table 1: the PACT + SAWB baseline at 2 bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qat/quant_config.h"

namespace apot::study {

// The hyper-parameters of one row's training (train::TrainOptions without the data and the paths).
struct Hyper {
  int epochs = 1;
  int batch_size = 128;
  double lr = 0.01;
  std::string lr_schedule = "cosine";  // "cosine" | "step"
  std::vector<int> lr_milestones;      // step: epochs where the lr is scaled by 0.1 (empty: 1/2 and 3/4)
  double weight_decay = 1e-4;
  double alpha_lr = 0.01;              // weight thresholds (and the activations' unless act_alpha_lr > 0)
  double act_alpha_lr = 0;             // 0: alpha_lr
  double alpha_weight_decay = 1e-4;
  std::string augment = "default";     // data::parse_augmentation's spec
  bool fit_thresholds = false;         // QEM thresholds after progressive initialisation (train::TrainOptions)
};

struct StudyRow {
  std::string name;       // key and directory name, e.g. "apot4"
  std::string label;      // for tables and figure keys, e.g. "APoT W4/A4, RCF + WN"
  std::string table;      // which of the paper's tables the row belongs to, for the report
  qat::QuantConfig quant;
  std::string init_from;  // the row whose model.pt this one starts from; empty: random initial weights
  Hyper hyper;
};

// The hyper-parameter sets the study knows.
//   "budget" (default): the study on a 2-core machine in 2.5 hours (epochs from budget_epochs());
//   "cifar10-paper": Appendix C.2 on CIFAR-10 (200 epochs, batch 128, lr 0.04 x0.1 at 80 and 120,
//   wd 1e-4, alpha 3.0 / 8.0, alpha lr 0.01 / 0.03, alpha wd 1e-5 at 5 bits and 1e-4 below).
inline constexpr const char* kBudgetRecipe = "budget";
inline constexpr const char* kCifarPaperRecipe = "cifar10-paper";

struct StudyOptions {
  std::string recipe = kBudgetRecipe;
  std::string dataset = "fashion-mnist";  // cifar10-paper: cifar10 (another dataset is an error)
  std::string data_dir;                   // empty: the dataset's default directory
  std::string out_dir = "study-run";
  std::string arch = "resnet20";
  int epochs_fp = 0;                      // 0: the recipe's
  int epochs_quant = 0;                   // 0: the recipe's
  size_t train_limit = 0;                 // 0: every image (quick mode: 2000)
  size_t test_limit = 0;                  // 0: every image (quick mode: 500)
  bool quick = false;                     // a subset and one epoch per row, one thread unless told: checks the pipeline only
  std::vector<std::string> only;          // keep these rows and the rows they start from (empty: all)
  int threads = 0;                        // 0: all cores
  uint64_t seed = 0;
};

// Quick mode (a data subset, one short epoch: it checks the pipeline): sizes and epochs it forces.
inline constexpr size_t kQuickTrainImages = 2000;
inline constexpr size_t kQuickTestImages = 500;

// The budget recipe's epoch counts, and what they were chosen from: full-epoch times measured on the
// 2-core machine (ResNet-20, all 60000 Fashion-MNIST images, batch 128, 2 threads) and the study's
// budget of 2.5 hours.
struct EpochBudget {
  int fp = 0, quant = 0;
  double fp_epoch_seconds = 0, quant_epoch_seconds = 0;
  double wide_act_epoch_seconds = 0;  // quantised with 5-bit activations (32 levels)
  double budget_seconds = 0;
};
EpochBudget budget_epochs();

struct StudyPlan {
  StudyOptions options;  // as resolved: recipe defaults and quick mode applied
  std::vector<StudyRow> rows;  // every row after the row it starts from

  const StudyRow& row(const std::string& name) const;  // throws std::out_of_range naming it
  bool has_row(const std::string& name) const;
};

// Resolves the options (recipe defaults, quick mode) and lists the rows. Throws std::invalid_argument
// naming the flag for an unknown recipe, a recipe that does not fit the dataset, negative epochs, or
// an --only row that does not exist (listing the rows).
StudyPlan build_plan(const StudyOptions& options);

// Seconds the plan should take on the 2-core machine it was budgeted on, from measured full-epoch
// times of ResNet-20 on Fashion-MNIST (plan.cpp), scaled by image count and size.
double estimated_seconds(const StudyPlan& plan);
double estimated_seconds(const StudyPlan& plan, const StudyRow& row);

// Row names in the order the study writes them, for messages.
std::string row_names(const StudyPlan& plan);

}  // namespace apot::study
