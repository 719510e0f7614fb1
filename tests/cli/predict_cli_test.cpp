// `apot predict --reference-compat` on the reference implementation's ResNet-20 state_dicts and input
// (../shared/testdata/reference-resnet20) writes its logits, to 1e-4; bad input gets a clear error.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"
#include "tests/models/reference_agreement.h"

namespace apot::test {
namespace {

const std::string kDir = std::string(APOT_TESTDATA_DIR) + "/reference-resnet20/";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()) + ".pt")).string();
}

class PredictReference : public ::testing::TestWithParam<int> {};

TEST_P(PredictReference, ReproducesTheReferenceLogits) {
  const int bits = GetParam();
  const std::string prefix = kDir + "res20_" + std::to_string(bits) + "bit";
  const std::string out = temp_path("apot_predict_" + std::to_string(bits));
  const RunResult r = run_apot("predict --arch resnet20 --bits " + std::to_string(bits) +
                                        " --reference-compat --checkpoint " + prefix + ".pt --input " + kDir +
                                        "input.pt --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const torch::Tensor logits = models::read_tensor(out);
  const torch::Tensor expected = models::read_tensor(prefix + "_logits.pt");
  std::filesystem::remove(out);
  test::expect_reference_logits(logits, expected, std::to_string(bits) + " bits");
}

INSTANTIATE_TEST_SUITE_P(Bits, PredictReference, ::testing::Values(2, 3, 4, 32));

TEST(PredictCli, WrongBitsNameTheMismatchedEntries) {
  const RunResult r = run_apot("predict --arch resnet20 --bits 32 --checkpoint " + kDir + "res20_4bit.pt --input " +
                               kDir + "input.pt --output " + temp_path("apot_predict_bad"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("entries the model does not have"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("act_alpha"));
}

TEST(PredictCli, MissingOrForeignFilesAreClearErrors) {
  RunResult r = run_apot("predict --arch resnet20 --bits 4 --checkpoint /nonexistent.pt --input " + kDir +
                         "input.pt --output " + temp_path("apot_predict_missing"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/nonexistent.pt"));
  r = run_apot("predict --arch resnet20 --bits 4 --checkpoint " + kDir + "res20_4bit.pt --input " + kDir +
               "res20_4bit.pt --output " + temp_path("apot_predict_foreign"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("not a tensor"));
  r = run_apot("predict --arch resnet99 --bits 4 --checkpoint x --input " + kDir + "input.pt --output z");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("unknown architecture 'resnet99'"));
}

}  // namespace
}  // namespace apot::test
