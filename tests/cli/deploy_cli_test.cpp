// `apot export`, `run`, `verify` and `cost --model` end to end on the reference implementation's 4-bit
// ResNet-20 (../shared/testdata/reference-resnet20): the integer engine keeps the reference's top-1, and
// bad files and flags get one clear line.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"

namespace apot::test {
namespace {

using ::testing::HasSubstr;

const std::string kDir = std::string(APOT_TESTDATA_DIR) + "/reference-resnet20/";
const std::string kModelFlags = " --arch resnet20 --bits 4 --reference-compat --checkpoint " + kDir + "res20_4bit.pt";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string();
}

class DeployCli : public ::testing::Test {
 protected:
  // The reference's input is N(0, 1) noise, so the input range is set to cover it; without CIFAR-10's
  // training images here, the fraction bits are given.
  void SetUp() override {
    const RunResult r = run_apot("export" + kModelFlags + " --dataset cifar10 --input-range 6 --frac-bits 20 --out " + model_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("bits per weight"));
    // Three fc weights beyond the reference's 8-bit range, kept on a wider grid.
    EXPECT_THAT(r.out, HasSubstr("fc: 3 weights reach up to 1.0079 x max W"));
    EXPECT_THAT(r.out, HasSubstr("stored as 9-bit uniform codes on the same grid"));
  }
  void TearDown() override { std::filesystem::remove(model_); }
  const std::string model_ = temp_path("apot_deploy_cli.apot");
};

TEST_F(DeployCli, RunKeepsTheReferenceTop1WithEveryKernel) {
  const torch::Tensor expected = models::read_tensor(kDir + "res20_4bit_logits.pt");
  for (const std::string kernel : {"auto", "shift-add", "scalar"}) {
    const std::string out = temp_path("apot_deploy_cli_logits.pt");
    const RunResult r = run_apot("run --model " + model_ + " --kernel " + kernel + " --input " + kDir + "input.pt --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const torch::Tensor logits = models::read_tensor(out);
    std::filesystem::remove(out);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    EXPECT_TRUE(logits.argmax(1).equal(expected.argmax(1))) << kernel << "\n" << logits << "\n" << expected;
  }
}

TEST_F(DeployCli, VerifyReportsAgreementWithTheReference) {
  const RunResult r = run_apot("verify" + kModelFlags + " --model " + model_ + " --input " + kDir + "input.pt --reference " +
                               kDir + "res20_4bit_logits.pt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reference vs engine: 4 images, same top-1 on 4 (100.00%)"));
  EXPECT_THAT(r.out, HasSubstr("fake-quant vs engine: 4 images"));
}

TEST_F(DeployCli, VerifyTraceComparesEveryOp) {
  const RunResult r = run_apot("verify" + kModelFlags + " --model " + model_ + " --input " + kDir + "input.pt --trace");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("op by op on 4 images"));
  EXPECT_THAT(r.out, HasSubstr("   0  conv1                    stream"));
  EXPECT_THAT(r.out, HasSubstr("  41  fc                       logits"));
  EXPECT_THAT(r.out, ::testing::AnyOf(HasSubstr("first difference: op "), HasSubstr("no op differs")));
}

// --calibration-input: --frac-bits auto on the user's own inputs, which must fit the input grid.
TEST_F(DeployCli, ExportCalibratesOnTheUsersInputs) {
  const std::string model = temp_path("apot_deploy_cli_own.apot");
  RunResult r = run_apot("export" + kModelFlags + " --dataset cifar10 --input-range 6 --calibration-input " + kDir +
                         "input.pt --out " + model);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("on 4 images of " + kDir + "input.pt: "));
  EXPECT_THAT(r.out, HasSubstr("input quantiser: step"));
  std::filesystem::remove(model);
  r = run_apot("export" + kModelFlags + " --dataset cifar10 --calibration-input " + kDir + "input.pt --out " + model);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("beyond the input quantiser's range"));
  EXPECT_THAT(r.err, HasSubstr("give --input-range"));
  EXPECT_FALSE(std::filesystem::exists(model));
  r = run_apot("export" + kModelFlags + " --dataset cifar10 --calibration-input " + kDir + "input.pt --frac-bits 20 --out " + model);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--calibration-input calibrates --frac-bits auto"));
  r = run_apot("export" + kModelFlags + " --dataset cifar10 --input-range 6 --calibration-input " + kDir +
               "res20_4bit_logits.pt --out " + model);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("res20_4bit_logits.pt has 2 dimensions, expected N x C x H x W"));
  std::filesystem::remove(model);
}

TEST_F(DeployCli, CostCountsTheModelsOwnShiftAdds) {
  const nlohmann::json j = run_apot_json("cost --model " + model_);
  EXPECT_EQ(j["arch"], "resnet20");
  EXPECT_GT(j["shift_adds"].get<int64_t>(), 0);
  EXPECT_LT(j["shift_adds"].get<int64_t>(), j["worst_case_shift_adds"].get<int64_t>());
  EXPECT_EQ(j["layers"].size(), 22u);  // 21 convs and the fc
}

TEST_F(DeployCli, DamagedFilesAndBadInputAreClearErrors) {
  std::string bytes;
  {
    std::ifstream in(model_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string damaged = temp_path("apot_deploy_cli_damaged.apot");
  std::ofstream(damaged, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  RunResult r = run_apot("run --model " + damaged + " --input " + kDir + "input.pt --out /dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(damaged));
  bytes[bytes.size() / 2] ^= 0x40;
  std::ofstream(damaged, std::ios::binary) << bytes;
  r = run_apot("run --model " + damaged + " --input " + kDir + "input.pt --out /dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("corrupt"));
  std::filesystem::remove(damaged);

  r = run_apot("run --model " + kDir + "input.pt --input " + kDir + "input.pt --out /dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not an apot model file"));
  // Its input range is 6: the reference batch fits, a batch of 100s does not.
  r = run_apot("run --model " + model_ + " --input " + kDir + "res20_4bit_logits.pt --out /dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("expected N x 3 x 32 x 32"));
  r = run_apot("export --arch resnet20 --bits 32 --checkpoint " + kDir + "res20_32bit.pt --dataset cifar10 --frac-bits 20 --out " +
               damaged);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("conv1"));
  EXPECT_FALSE(std::filesystem::exists(damaged));
  for (const std::string bits : {"31", "-1", "20x", "many"}) {
    r = run_apot("export" + kModelFlags + " --dataset cifar10 --frac-bits " + bits + " --out " + damaged);
    EXPECT_EQ(r.exit_code, 1) << bits;
    EXPECT_THAT(r.err, HasSubstr("--frac-bits " + bits + ": expected auto or a whole number from 0 to 30"));
  }
  // --frac-bits auto calibrates on training images: without them the error says so and what to do.
  r = run_apot("export" + kModelFlags + " --dataset cifar10 --data-dir " + temp_path("apot_no_such_dir") + " --out " + damaged);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--frac-bits auto calibrates on cifar10's training images"));
  EXPECT_THAT(r.err, HasSubstr("give --frac-bits N"));
  EXPECT_FALSE(std::filesystem::exists(damaged));
}

}  // namespace
}  // namespace apot::test
