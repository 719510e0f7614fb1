// `apot predict --reference-compat` on the reference implementation's ResNet-20 state_dicts and input
// (../shared/testdata/reference-resnet20) writes its logits, to 1e-4; so do its released, trained
// checkpoints (../shared/testdata/reference-trained) as shipped (legacy format, checkpoint dict, 'module.'
// keys) and re-saved by PyTorch as a zip OrderedDict and a zip checkpoint dict; bad input gets a clear error.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"
#include "tests/models/reference_agreement.h"
#include "tests/models/torch_file/torch_files.h"

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
                                        "input.pt --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const torch::Tensor logits = models::read_tensor(out);
  const torch::Tensor expected = models::read_tensor(prefix + "_logits.pt");
  std::filesystem::remove(out);
  test::expect_reference_logits(logits, expected, std::to_string(bits) + " bits");
}

INSTANTIATE_TEST_SUITE_P(Bits, PredictReference, ::testing::Values(2, 3, 4, 32));

const std::string kTrained = std::string(APOT_TESTDATA_DIR) + "/reference-trained/";

// The checkpoint of `bits` in one of its forms: "shipped", "ordereddict" or "checkpoint".
std::string released(int bits, const std::string& form) {
  const std::string name = "res20_" + std::to_string(bits) + "bit_";
  return form == "shipped" ? kTrained + name + "model_best.pth.tar" : torch_file(name + form + ".pt");
}

class PredictReleased : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(PredictReleased, ReproducesTheReferenceLogits) {
  const auto& [bits, form] = GetParam();
  const std::string out = temp_path("apot_predict_released_" + std::to_string(bits) + form);
  const RunResult r = run_apot("predict --arch resnet20 --bits " + std::to_string(bits) + " --reference-compat --checkpoint " +
                               released(bits, form) + " --input " + kTrained + "input.pt --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (form != "ordereddict") {
    EXPECT_THAT(r.err, ::testing::HasSubstr("read the state_dict in entry 'state_dict' (" + std::string(bits == 32 ? "128" : "168") +
                                            " tensors); ignored epoch, best_prec, optimizer"));
    EXPECT_THAT(r.err, ::testing::HasSubstr("dropped DataParallel's 'module.' prefix"));
  }
  const torch::Tensor logits = models::read_tensor(out);
  std::filesystem::remove(out);
  const torch::Tensor expected = models::read_tensor(kTrained + "res20_" + std::to_string(bits) + "bit_logits.pt");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  EXPECT_LT((logits - expected).abs().max().item<double>(), 1e-4) << logits << "\n" << expected;
}

INSTANTIATE_TEST_SUITE_P(BitsAndForms, PredictReleased,
                         ::testing::Combine(::testing::Values(2, 3, 4, 32), ::testing::Values("shipped", "ordereddict", "checkpoint")),
                         [](const auto& info) { return std::to_string(std::get<0>(info.param)) + "bit_" + std::get<1>(info.param); });

TEST(PredictCli, CheckpointKeyChoosesTheEntry) {
  const std::string out = temp_path("apot_predict_key");
  const std::string args = "predict --arch resnet20 --bits 4 --reference-compat --input " + kTrained + "input.pt --out " + out +
                           " --checkpoint " + released(4, "shipped");
  RunResult r = run_apot(args + " --checkpoint-key optimizer");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("entry 'state' of entry 'optimizer' is builtins.dict, not a tensor"));
  r = run_apot(args + " --checkpoint-key weights");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("has no entry 'weights' (its entries: 'epoch', 'state_dict', 'best_prec', 'optimizer')"));
  r = run_apot(args + " --checkpoint-key state_dict");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove(out);
}

TEST(PredictCli, WrongBitsNameTheMismatchedEntries) {
  const RunResult r = run_apot("predict --arch resnet20 --bits 32 --checkpoint " + kDir + "res20_4bit.pt --input " +
                               kDir + "input.pt --out " + temp_path("apot_predict_bad"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("entries the model does not have"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("act_alpha"));
}

TEST(PredictCli, MissingOrForeignFilesAreClearErrors) {
  RunResult r = run_apot("predict --arch resnet20 --bits 4 --checkpoint /nonexistent.pt --input " + kDir +
                         "input.pt --out " + temp_path("apot_predict_missing"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/nonexistent.pt"));
  r = run_apot("predict --arch resnet20 --bits 4 --checkpoint " + kDir + "res20_4bit.pt --input " + kDir +
               "res20_4bit.pt --out " + temp_path("apot_predict_foreign"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("holds builtins.dict, not a tensor"));
  r = run_apot("predict --arch resnet20 --bits 4 --checkpoint " + torch_file("list.pt") + " --input " + kDir +
               "input.pt --out " + temp_path("apot_predict_list"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("holds a pickle of builtins.list, not a state_dict"));
  r = run_apot("predict --arch resnet99 --bits 4 --checkpoint x --input " + kDir + "input.pt --out z");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("unknown architecture 'resnet99'"));
}

}  // namespace
}  // namespace apot::test
