// `apot train` keeps a user's runs: a run is one checkpoint file renamed into place whole, so a run
// stopped after any of its writes resumes to the weights of an uninterrupted run; a folder that holds a
// run is not replaced without --overwrite; --resume refuses other flags; a failed run leaves no empty
// folder. Checkpoints say what network they hold: eval, export and verify take it from them and refuse
// flags that contradict it; verify checks the .apot and fails below --min-agreement; a diverging run
// names the learning rate.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"
#include "tests/data/data_files.h"

namespace apot::test {
namespace {

using data::fixtures::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// metrics.csv without its last column (seconds, which no two runs share).
std::string metrics_without_times(const std::string& path) {
  std::istringstream in(read_text(path));
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

void expect_same_weights(const std::string& a, const std::string& b) {
  const models::StateDict x = models::read_state_dict(a), y = models::read_state_dict(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(x[i].second.equal(y[i].second)) << a << " and " << b << " differ in " << x[i].first;
  }
}

// A 4-bit ResNet-20 trained for two epochs on random Fashion-MNIST-shaped images, once per test suite.
class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    data::fixtures::write_random_idx_set(*data_);
    const RunResult r = run_apot(train_args(data_->file("run")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete data_; }

  // `recipe`: the flags a test varies.
  static std::string train_args(const std::string& out, const std::string& recipe = "--bits 4 --epochs 2 --lr 0.05 --seed 3") {
    return "train --arch resnet20 --batch-size 32 --train-limit 128 --test-limit 32 --threads 1 --data-dir " + data_->path().string() +
           " --out " + out + " " + recipe;
  }
  static std::string data_flags() { return " --data-dir " + data_->path().string() + " --threads 1"; }
  static std::string run() { return data_->file("run"); }

  static TempDir* data_;
};

TempDir* TrainCli::data_ = nullptr;

// Writes of a two-epoch run: model.pt and metrics.csv after each epoch, then summary.json.
TEST_F(TrainCli, ARunStoppedAfterAnyWriteResumesToTheUninterruptedWeights) {
  for (int writes = 1; writes <= 5; ++writes) {
    SCOPED_TRACE("stopped after write " + std::to_string(writes));
    const std::string out = data_->file("stopped" + std::to_string(writes));
    const RunResult stopped = run_apot(train_args(out), "APOT_TEST_EXIT_AFTER_WRITES=" + std::to_string(writes));
    ASSERT_EQ(stopped.exit_code, 86) << stopped.err;
    const RunResult resumed = run_apot(train_args(out) + " --resume");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_weights(run() + "/model.pt", out + "/model.pt");
    EXPECT_EQ(metrics_without_times(run() + "/metrics.csv"), metrics_without_times(out + "/metrics.csv"));
    EXPECT_TRUE(fs::exists(out + "/summary.json"));
    for (const auto& entry : fs::directory_iterator(out)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << "a temporary file stayed: " << entry.path();
    }
  }
}

TEST_F(TrainCli, AFolderThatHoldsARunIsNotReplaced) {
  const std::string out = data_->file("kept");
  fs::create_directories(out);
  fs::copy(run(), out, fs::copy_options::recursive);
  const auto before = fs::last_write_time(out + "/model.pt");
  RunResult r = run_apot(train_args(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("holds a training run (model.pt, metrics.csv, summary.json): --resume continues it, --overwrite"));
  EXPECT_EQ(fs::last_write_time(out + "/model.pt"), before);
  r = run_apot(train_args(out, "--bits 2 --epochs 2 --lr 0.05 --seed 3 --resume"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("was trained as resnet20 W4A4"));
  EXPECT_THAT(r.err, HasSubstr("weight_bits 4 (flags: 2)"));
  EXPECT_EQ(fs::last_write_time(out + "/model.pt"), before);
  r = run_apot(train_args(out, "--bits 4 --epochs 1 --lr 0.05 --seed 3 --overwrite"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_text(out + "/metrics.csv"), read_text(run() + "/metrics.csv"));
  r = run_apot(train_args(data_->file("nothing")) + " --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has no checkpoint (model.pt) to continue from"));
}

TEST_F(TrainCli, FailedRunsLeaveNoFolderAndUnwritableFoldersFailFirst) {
  const std::string out = data_->file("failed");
  RunResult r = run_apot(train_args(out) + " --dataset cifar10");  // its --data-dir holds no CIFAR-10 files
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(out)) << r.err;
  r = run_apot(train_args(run() + "/model.pt/sub"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot create the folder"));
}

TEST_F(TrainCli, ADivergingRunStopsAndNamesTheLearningRate) {
  RunResult r = run_apot(train_args(data_->file("diverged"), "--bits 32 --lr 1e6 --epochs 1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--lr 1000000 and --alpha-lr 0.01 are likely too high"));
  r = run_apot(train_args(data_->file("inf"), "--lr inf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--lr inf: expected a finite number > 0"));
  for (const char* momentum : {"-1", "1", "5"}) {
    r = run_apot(train_args(data_->file("m"), std::string("--momentum ") + momentum));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("expected 0 <= momentum < 1"));
  }
}

TEST_F(TrainCli, CheckpointsSayWhatNetworkTheyHold) {
  const nlohmann::json summary = nlohmann::json::parse(read_text(run() + "/summary.json"));
  EXPECT_EQ(summary["config"]["k"], "2");
  EXPECT_EQ(summary["config"]["weight_quantizer"], "rcf");
  const std::string eval = "eval --checkpoint " + run() + "/model.pt" + data_flags();
  RunResult r = run_apot(eval);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("64 images"));
  const std::pair<const char*, const char*> contradictions[] = {
      {"--bits 2", "weight_bits 4 (flags: 2)"}, {"--k 3", "k 2 (flags: 3)"},
      {"--quantizer lsq", "weight_quantizer rcf (flags: lsq)"}, {"--act-bits 8", "act_bits 4 (flags: 8)"},
      {"--arch resnet32", "arch resnet20 (flags: resnet32)"}};
  for (const auto& [flags, message] : contradictions) {
    r = run_apot(eval + " " + flags);
    EXPECT_EQ(r.exit_code, 1) << flags;
    EXPECT_THAT(r.err, HasSubstr(message)) << flags;
    EXPECT_THAT(r.err, HasSubstr("--force-config")) << flags;
  }
  r = run_apot(eval + " --bits 4 --k 2 --arch resnet20");  // flags that agree are fine
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_apot(eval + " --bits 4 --k 3 --force-config");  // a deliberate reinterpretation: the flags say it all
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TrainCli, VerifyChecksTheModelAndItsAgreement) {
  const std::string model = data_->file("model.apot"), other = data_->file("other");
  RunResult r = run_apot("export --checkpoint " + run() + "/model.pt --out " + model + data_flags());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string verify = "verify" + data_flags() + " --model " + model + " --checkpoint ";
  r = run_apot(verify + run() + "/model.pt");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_apot(verify + run() + "/model.pt --bits 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("weight_bits 4 (flags: 2)"));
  r = run_apot(verify + run() + "/model.pt --bits 2 --force-config");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("was exported from resnet20 W4A4"));
  // Another network of the same configuration: the checks pass, the answers do not.
  r = run_apot(train_args(other, "--bits 4 --epochs 1 --lr 0.05 --seed 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_apot(verify + other + "/model.pt");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("below --min-agreement 100%"));
  r = run_apot(verify + other + "/model.pt --min-agreement 0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Every option is checked before any work, with a message that names the real problem.
TEST_F(TrainCli, BadOptionsAreNamed) {
  const std::string checkpoint = " --checkpoint " + run() + "/model.pt";
  const std::pair<std::string, std::string> cases[] = {
      {"eval" + checkpoint + " --test-limit 0", "--test-limit: '0': expected a whole number >= 1"},
      {"eval" + checkpoint + " --test-limit -5", "--test-limit: '-5': expected a whole number >= 1"},
      {train_args(data_->file("x"), "--train-limit 0"), "--train-limit: '0': expected a whole number >= 1"},
      {train_args(data_->file("x"), "--epochs 0"), "--epochs: '0': expected a whole number >= 1"},
      {train_args(data_->file("x"), "--nproc 0"), "--nproc: '0': expected a whole number >= 1 (leave the option out"},
      {train_args(data_->file("x"), "--bits 4 --k 100"), "k = 100: these APoT levels have at most 4 magnitude bits"},
      {train_args(data_->file("x"), "--bits 4 --k 0"), "k = 0: APoT's base bit-width is 1 or more"},
      {train_args(data_->file("x"), "--bits 4 --scheme uniform --k 3"), "--k 3 applies to APoT levels"},
      {train_args(data_->file("x"), "--bits 32 --k 3"), "--k 3 applies to APoT levels, and full precision has none"},
      {"run --model model.apot --out y.pt", "--out writes the logits of --input: give --input too"},
      {"run --model model.apot --test-limit 0", "--test-limit: '0': expected a whole number >= 1"},
      {"verify" + checkpoint + " --model m.apot --reference r.pt", "--reference holds logits of --input: give --input too"},
      {"export" + checkpoint + " --out x.apot --input-range 0", "--input-range 0: expected a finite number > 0"},
      {"export" + checkpoint + " --out x.apot --input-range -1", "--input-range -1: expected a finite number > 0"},
      {"export" + checkpoint + " --out x.apot --input-range nan", "--input-range nan: expected a finite number > 0"},
      {"export" + checkpoint + data_flags() + " --out " + data_->file("x.apot") + " --frac-bits 0",
       "with 0 fraction bits, activation levels 1 and 2 round to the same threshold"},
      {"study --epochs-quant 0 --plan", "--epochs-quant: '0': expected a whole number >= 1"},
  };
  for (const auto& [args, message] : cases) {
    const RunResult r = run_apot(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_THAT(r.err, HasSubstr(message)) << args;
  }
  EXPECT_FALSE(fs::exists(data_->file("x"))) << "a refused run left its folder";
  EXPECT_FALSE(fs::exists(data_->file("x.apot")));
}

TEST_F(TrainCli, InputsMustFitTheRecordedNetwork) {
  const std::string checkpoint = " --checkpoint " + run() + "/model.pt --out " + data_->file("y.pt") + " --input ";
  for (const auto& [shape, message] : {std::pair<std::vector<int64_t>, std::string>{{2, 1, 27, 28}, "images of 27 x 28, but"},
                                       {{2, 1, 32, 32}, "trained on fashion-mnist's 28 x 28"},
                                       {{2, 3, 28, 28}, "holds a network for 1-channel images and 10 classes (fashion-mnist); the "
                                                        "data has 3 channels"}}) {
    const std::string input = data_->file("x.pt");
    models::write_tensor(torch::zeros(shape), input);
    const RunResult r = run_apot("predict" + checkpoint + input);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr(message));
  }
}

TEST_F(TrainCli, ThreadsBeyondTheCoresAreCappedWithANote) {
  const std::string model = data_->file("threads.apot");
  ASSERT_EQ(run_apot("export --checkpoint " + run() + "/model.pt --out " + model + data_flags()).exit_code, 0);
  const RunResult r = run_apot("run --model " + model + " --threads 1000 --test-limit 8 --data-dir " + data_->path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("note: --threads 1000: this machine has"));
}

TEST_F(TrainCli, EveryTrainingOptionSaysWhatItIs) {
  const RunResult r = run_apot("train --help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* text : {"epochs to train", "images per step", "learning rate of the weights", "SGD momentum",
                           "seed of the initial weights", "--overwrite", "--checkpoint-key"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
}

}  // namespace
}  // namespace apot::test
