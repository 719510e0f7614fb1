// The trainer on a slice of the real Fashion-MNIST (Debian's dataset-fashion-mnist; skipped without it):
// an interrupted run resumed gives the same weights as an uninterrupted one, checkpoints load back, and
// a diverging loss stops training with a clear error.
#include "train/trainer.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/datasets.h"
#include "models/state_dict.h"
#include "models/torch_io.h"

namespace apot::train {
namespace {

namespace fs = std::filesystem;

class Trainer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(data::default_data_dir("fashion-mnist"))) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    dir_ = fs::temp_directory_path() / ("apot_trainer_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<models::Network> network() {
    models::NetworkOptions options;
    options.in_channels = 1;
    options.quant.weight_bits = options.quant.act_bits = 4;
    torch::manual_seed(7);
    return models::make_network("resnet20", options);
  }

  TrainOptions options(const std::string& out) {
    TrainOptions o;
    o.train_limit = 256;
    o.test_limit = 64;
    o.epochs = 2;
    o.batch_size = 64;
    o.lr = 0.05;
    o.seed = 11;
    o.out_dir = (dir_ / out).string();
    return o;
  }

  fs::path dir_;
};

const auto quiet = [](const std::string&) {};

TEST_F(Trainer, AThresholdDrivenBelowZeroIsNamedInTheError) {
  auto net = network();
  for (auto& p : net->named_parameters()) {
    if (p.key() == "layer2.1.conv2.act_alpha") p.value().data().fill_(-1.5f);
  }
  try {
    train(*net, options("bad-alpha"), quiet);
    ADD_FAILURE() << "trained through a negative threshold";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::AllOf(::testing::HasSubstr("layer2.1.conv2.act_alpha = -1.5"),
                                           ::testing::HasSubstr("at epoch 1, batch 1")));
  }
}

TEST_F(Trainer, ResumeAfterAnInterruptionGivesTheSameWeights) {
  auto straight = network();
  train(*straight, options("straight"), quiet);

  auto interrupted = network();
  TrainOptions first = options("resumed");
  first.epochs_this_run = 1;
  train(*interrupted, first, quiet);
  auto resumed = network();  // a new process: fresh weights, everything comes from the checkpoint
  TrainOptions second = options("resumed");
  second.resume = true;
  const TrainResult r = train(*resumed, second, quiet);
  ASSERT_EQ(r.epochs.size(), 2u) << "metrics of the first run are kept";

  const models::StateDict a = models::read_state_dict((dir_ / "straight" / "model.pt").string());
  const models::StateDict b = models::read_state_dict((dir_ / "resumed" / "model.pt").string());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
  }
  EXPECT_TRUE(fs::exists(dir_ / "resumed" / "metrics.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "resumed" / "summary.json"));
}

TEST_F(Trainer, CheckpointLoadsIntoAFreshNetworkWithTheSameAccuracy) {
  auto net = network();
  const TrainResult r = train(*net, options("ckpt"), quiet);
  auto loaded = network();
  models::load_state_dict(*loaded, models::read_state_dict(r.checkpoint), r.checkpoint);
  const data::ImageSet test = data::subset(data::load_dataset("fashion-mnist", "", false), 0, 64);
  EXPECT_DOUBLE_EQ(evaluate(*loaded, test, data::default_normalization("fashion-mnist")).accuracy,
                   r.epochs.back().test_accuracy);
}

TEST_F(Trainer, ADivergingLossStopsWithAClearError) {
  auto net = network();
  TrainOptions o = options("nan");
  o.lr = 1e30;
  try {
    train(*net, o, quiet);
    FAIL() << "training went on";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("the loss became"));
  }
}

TEST_F(Trainer, StepScheduleFollowsItsMilestones) {
  auto net = network();
  TrainOptions o = options("milestones");
  o.epochs = 3;
  o.train_limit = 64;
  o.lr_schedule = LrSchedule::Step;
  o.lr_milestones = {1, 2};  // Appendix C.2's 80 and 120 of 200, scaled down
  const TrainResult r = train(*net, o, quiet);
  ASSERT_EQ(r.epochs.size(), 3u);
  EXPECT_DOUBLE_EQ(r.epochs[0].lr, 0.05);
  EXPECT_NEAR(r.epochs[1].lr, 0.005, 1e-12);
  EXPECT_NEAR(r.epochs[2].lr, 0.0005, 1e-12);
  o.lr_milestones = {3};
  EXPECT_THAT([&] { train(*net, o, quiet); }, ::testing::ThrowsMessage<std::invalid_argument>(::testing::HasSubstr("milestone 3")));
}

TEST_F(Trainer, ActivationThresholdsHaveTheirOwnLearningRate) {
  auto net = network();
  TrainOptions o = options("act_alpha_lr");
  o.epochs = 1;
  o.train_limit = 64;
  o.act_alpha_lr = 1e-30;  // frozen, while the weight thresholds learn at alpha_lr
  train(*net, o, quiet);
  bool weight_alpha_moved = false;
  for (const auto& [name, values] : learned_alphas(*net)) {
    const bool act = name.find("act_alpha") != std::string::npos;
    for (float v : values) {
      if (act) {
        EXPECT_EQ(v, net->options().quant.act_alpha_init) << name;
      } else {
        weight_alpha_moved |= v != net->options().quant.weight_alpha_init;
      }
    }
  }
  EXPECT_TRUE(weight_alpha_moved);
}

}  // namespace
}  // namespace apot::train
