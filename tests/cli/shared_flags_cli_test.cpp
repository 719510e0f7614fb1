// One spelling per concept across the commands (cli/shared_flags.h): every command that takes a concept
// takes it under the same flag with the same help; an old spelling still works for one release, says so
// once on stderr, and gives exactly the output of the new one; old spellings stay out of --help.
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"
#include "tests/data/data_files.h"

namespace apot::test {
namespace {

using data::fixtures::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// Standard output without what no two runs share: times and speeds.
std::string without_timings(const std::string& out) {
  static const std::regex timing(R"( *[0-9.]+ (images/s|s/step)|(fp32|libtorch-fp32): *[0-9.]+)");
  return std::regex_replace(out, timing, "#");
}

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

// `command --help`, run once per command.
const std::string& help(const std::string& command) {
  static std::map<std::string, std::string> texts;
  if (!texts.count(command)) {
    const RunResult r = run_apot(command + " --help");
    EXPECT_EQ(r.exit_code, 0) << command;
    texts[command] = r.out;
  }
  return texts[command];
}

// What `command --help` says of `flag` (its lines, the description wrapped onto the next one included),
// without the command's default value and whether the command requires it.
std::string help_entry(const std::string& command, const std::string& flag) {
  std::istringstream in(help(command));
  std::string line, entry;
  while (std::getline(in, line)) {
    const size_t text = line.find_first_not_of(' ');
    if (!entry.empty()) {
      if (text == std::string::npos || text < 4 || line[text] == '-') break;
      entry += " " + line.substr(text);
    } else if (text != std::string::npos && line.compare(text, flag.size() + 1, flag + " ") == 0) {
      entry = line.substr(text);
    }
  }
  EXPECT_FALSE(entry.empty()) << command << " --help has no " << flag << ":\n" << help(command);
  return std::regex_replace(entry, std::regex(R"(=[^ ]+| REQUIRED| +(?= ))"), "");
}

// A 4-bit ResNet-20 trained briefly on random Fashion-MNIST-shaped images and exported, once per suite.
class SharedFlagsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data::fixtures::write_random_idx_set(*dir_);
    RunResult r = run_apot("train --arch resnet20 --bits 4 --epochs 1 --lr 0.05 --seed 3 --batch-size 32 --train-limit 64 "
                           "--test-limit 32 --out " + dir_->file("run") + data());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_apot("export --checkpoint " + checkpoint() + " --calibration-images 32 --out " + model() + data());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    models::write_tensor(torch::rand({3, 1, 28, 28}) * 2 - 1, dir_->file("x.pt"));  // within the model's input range
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string data() { return " --data-dir " + dir_->path().string() + " --threads 1"; }
  static std::string checkpoint() { return dir_->file("run") + "/model.pt"; }
  static std::string model() { return dir_->file("model.apot"); }
  static std::string input() { return dir_->file("x.pt"); }

  // `old_args` and `new_args` succeed alike with the same output; the old one prints `note` once, the
  // new one no note at all.
  static void expect_deprecated_alias(const std::string& old_args, const std::string& new_args, const std::string& note) {
    const RunResult old_run = run_apot(old_args), new_run = run_apot(new_args);
    ASSERT_EQ(new_run.exit_code, 0) << new_args << "\n" << new_run.err;
    EXPECT_EQ(old_run.exit_code, 0) << old_args << "\n" << old_run.err;
    EXPECT_EQ(without_timings(old_run.out), without_timings(new_run.out)) << old_args;
    EXPECT_EQ(occurrences(old_run.err, note), 1u) << old_args << "\n" << old_run.err;
    EXPECT_THAT(new_run.err, Not(HasSubstr("deprecated"))) << new_args;
  }

  static TempDir* dir_;
};

TempDir* SharedFlagsCli::dir_ = nullptr;

TEST_F(SharedFlagsCli, RunTakesTheModelAsAnOptionAndStillPositionally) {
  const std::string note = "apot run MODEL is deprecated: use --model MODEL; the old form goes in the next release";
  expect_deprecated_alias("run " + model() + " --test-limit 16" + data(), "run --model " + model() + " --test-limit 16" + data(),
                          note);
  const std::string old_logits = dir_->file("old.pt"), new_logits = dir_->file("new.pt");
  RunResult r = run_apot("run " + model() + " --input " + input() + " --out " + old_logits + data());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(occurrences(r.err, note), 1u) << r.err;
  r = run_apot("run --model " + model() + " --input " + input() + " --out " + new_logits + data());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(models::read_tensor(old_logits).equal(models::read_tensor(new_logits)));

  r = run_apot("run --model " + model() + " " + model() + data());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--model and MODEL are the same option (MODEL is its old spelling): give it once"));
  r = run_apot("run --test-limit 4" + data());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--model is required"));
}

TEST_F(SharedFlagsCli, LimitIsTheOldSpellingOfTestLimit) {
  const std::string note = " --limit is deprecated: use --test-limit; the old form goes in the next release";
  expect_deprecated_alias("run --model " + model() + " --limit 16" + data(), "run --model " + model() + " --test-limit 16" + data(),
                          "apot run" + note);
  const std::string verify = "verify --checkpoint " + checkpoint() + " --model " + model() + " --min-agreement 0" + data();
  expect_deprecated_alias(verify + " --limit 16", verify + " --test-limit 16", "apot verify" + note);
  // The old spelling goes through the new one's checks.
  RunResult r = run_apot("run --model " + model() + " --limit 0" + data());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("apot run" + note));
  EXPECT_THAT(r.err, HasSubstr("--test-limit: '0': expected a whole number >= 1"));
  r = run_apot("run --model " + model() + " --limit 8 --test-limit 8" + data());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--test-limit and --limit are the same option"));
}

TEST_F(SharedFlagsCli, InputShapeIsTheShapeAndInputTheOldSpellingOfIt) {
  const std::string note = " --input is deprecated: use --input-shape; the old form goes in the next release";
  const std::string cost = "cost --arch resnet20 --bits 4 --json";
  expect_deprecated_alias(cost + " --input 1x28x28", cost + " --input-shape 1x28x28", "apot cost" + note);
  const std::string engine = "bench engine --arch resnet20 --bits 4 --batch-sizes 2 --reps 1 --threads 1";
  expect_deprecated_alias(engine + " --input 1x12x12", engine + " --input-shape 1x12x12", "apot bench engine" + note);
  const std::string step = "bench train-step --arch resnet20 --bits 32,4 --batch-size 2 --reps 1 --threads 1";
  expect_deprecated_alias(step + " --input 1x12x12", step + " --input-shape 1x12x12", "apot bench train-step" + note);
  const std::pair<std::string, std::string> bad[] = {{"cost --arch resnet20 --bits 4", "3x224"}, {"cost", "3x0x224"},
                                                     {"cost", "3x-2x2"}, {"cost", "3x32x32x"}, {"bench engine", "axbxc"},
                                                     {"bench train-step", ""}};
  for (const auto& [command, shape] : bad) {
    const RunResult r = run_apot(command + " --input-shape '" + shape + "'");
    EXPECT_EQ(r.exit_code, 2) << command << " " << shape;
    EXPECT_THAT(r.err, HasSubstr("--input-shape: '" + shape + "': expected CxHxW")) << command;
  }
}

TEST_F(SharedFlagsCli, OutputIsTheOldSpellingOfOut) {
  const std::string logits = dir_->file("logits.pt");
  const std::pair<std::string, std::string> commands[] = {
      {"run", "run --model " + model() + " --input " + input() + data()},
      {"predict", "predict --checkpoint " + checkpoint() + " --input " + input() + " --threads 1"}};
  for (const auto& [name, command] : commands) {
    expect_deprecated_alias(command + " --output " + logits, command + " --out " + logits,
                            "apot " + name + " --output is deprecated: use --out; the old form goes in the next release");
    const torch::Tensor by_out = models::read_tensor(logits);
    ASSERT_EQ(run_apot(command + " --output " + logits).exit_code, 0);
    EXPECT_TRUE(models::read_tensor(logits).equal(by_out)) << name;
  }
}

TEST_F(SharedFlagsCli, StepsIsTheOldSpellingOfReps) {
  const std::string step = "bench train-step --arch resnet20 --bits 32,4 --batch-size 2 --input-shape 1x12x12 --threads 1";
  expect_deprecated_alias(step + " --steps 2", step + " --reps 2",
                          "apot bench train-step --steps is deprecated: use --reps; the old form goes in the next release");
  const RunResult r = run_apot(step + " --steps 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--reps: '0': expected a whole number >= 1"));
}

TEST_F(SharedFlagsCli, RunAndVerifyReadTheSameInputsWithTheSameDefaults) {
  EXPECT_EQ(help_entry("run", "--batch-size"), help_entry("verify", "--batch-size"));
  const std::regex batch_default(R"(--batch-size [^\n]*=100 )");
  for (const std::string command : {"run", "verify"}) {
    EXPECT_TRUE(std::regex_search(help(command), batch_default)) << command << " --help:\n" << help(command);
  }
  for (const std::string flag : {"--model", "--input", "--dataset", "--data-dir", "--test-limit"}) {
    EXPECT_EQ(help_entry("run", flag), help_entry("verify", flag)) << flag;
  }
}

// A flag several commands take reads the same in each one's --help; old spellings are not listed.
TEST_F(SharedFlagsCli, EachConceptHasOneSpellingAndOneHelpText) {
  const std::pair<std::string, std::vector<std::string>> shared[] = {
      {"--arch", {"train", "eval", "predict", "export", "verify", "bench engine", "bench train-step", "study", "cost"}},
      {"--threads", {"train", "eval", "predict", "export", "run", "verify", "bench engine", "bench train-step", "study"}},
      {"--kernel", {"run", "bench engine"}},
      {"--model", {"run", "verify", "cost"}},
      {"--input", {"predict", "run", "verify"}},
      {"--input-shape", {"bench engine", "bench train-step"}},
      {"--test-limit", {"train", "eval", "run", "verify", "study"}},
      {"--train-limit", {"train", "study"}},
      {"--out", {"predict", "run"}},
      {"--reps", {"bench engine", "bench train-step"}},
  };
  for (const auto& [flag, commands] : shared) {
    const std::string first = help_entry(commands.front(), flag);
    for (const std::string& command : commands) EXPECT_EQ(help_entry(command, flag), first) << command << " " << flag;
  }
  for (const std::string command : {"run", "verify", "predict", "bench engine", "bench train-step", "cost"}) {
    const std::string& text = help(command);
    EXPECT_THAT(text, Not(HasSubstr("--limit"))) << command;
    EXPECT_THAT(text, Not(HasSubstr("--output"))) << command;
    EXPECT_THAT(text, Not(HasSubstr("--steps"))) << command;
    EXPECT_THAT(text, Not(HasSubstr("deprecated"))) << command;
    EXPECT_THAT(text, Not(HasSubstr("MODEL"))) << command;
    EXPECT_THAT(text, Not(HasSubstr("[]"))) << command;
    if (command.rfind("bench", 0) == 0 || command == "cost") {  // elsewhere --input is the tensor file
      EXPECT_FALSE(std::regex_search(text, std::regex("--input[^-]"))) << command << " --help:\n" << text;
    }
  }
}

TEST_F(SharedFlagsCli, BadSharedFlagsAreNamed) {
  const std::pair<std::string, std::string> cases[] = {
      {"run --model " + model() + " --kernel fast" + data(), "--kernel: kernel 'fast' is unknown: expected auto | shift-add"},
      {"bench engine --kernel fast", "--kernel: kernel 'fast' is unknown"},
      {"bench engine --input-shape 1x4x4", "--input-shape 1x4x4: the benchmarks take images of 8x8 or more"},
      {"study --plan --test-limit 0", "--test-limit: '0': expected a whole number >= 1"},
      {"verify --checkpoint " + checkpoint() + " --model " + model() + " --batch-size 0" + data(),
       "--batch-size: '0': expected a whole number >= 1"},
      {"cost --arch resnet19 --bits 4", "expected one of resnet20"},
      {"study --plan --arch resnet19", "--arch resnet19 is unknown"},
  };
  for (const auto& [args, message] : cases) {
    const RunResult r = run_apot(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_THAT(r.err, HasSubstr(message)) << args;
  }
}

}  // namespace
}  // namespace apot::test
