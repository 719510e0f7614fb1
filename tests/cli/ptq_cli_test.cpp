// `apot ptq`: a full-precision adder network quantised after training into a checkpoint that records what
// it is and evaluates with `apot eval` as ptq reported; the inputs it refuses, each named.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/torch_io.h"
#include "tests/cli/run_apot.h"
#include "tests/data/data_files.h"

namespace apot::test {
namespace {

using data::fixtures::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class PtqCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    data::fixtures::write_random_idx_set(*data_);
    const RunResult r = run_apot("train --arch adder-resnet20 --bits 32 --epochs 1 --batch-size 32 --train-limit 64 --test-limit 32" +
                                 flags() + " --out " + data_->file("fp"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete data_; }
  static std::string flags() { return " --data-dir " + data_->path().string() + " --threads 1"; }
  static std::string full() { return data_->file("fp") + "/model.pt"; }
  static std::string ptq(const std::string& out, const std::string& more) {
    return "ptq --checkpoint " + full() + " --out " + out + " --calibration-images 64 --test-limit 32" + flags() + " " + more;
  }
  // The "N images  loss L  top-1 accuracy A%" part of a line.
  static std::string accuracy_of(const std::string& text) {
    const size_t at = text.find(" images  loss ");
    return at == std::string::npos ? "(none)" : text.substr(text.rfind(' ', at - 1) + 1, text.find('\n', at) - text.rfind(' ', at - 1) - 1);
  }
  static TempDir* data_;
};

TempDir* PtqCli::data_ = nullptr;

TEST_F(PtqCli, WritesACheckpointThatEvalRunsAsPtqReported) {
  for (const std::string method : {"redistribution", "shared-scale"}) {
    SCOPED_TRACE(method);
    const std::string out = data_->file(method + ".pt");
    const RunResult r = run_apot(ptq(out, "--bits 4 --method " + method));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("calibrated 20 adder layers on 64 images"));
    EXPECT_THAT(r.out, HasSubstr("layer3.0.downsample.0"));
    const models::Checkpoint c = models::read_checkpoint(out);
    ASSERT_TRUE(c.network);
    EXPECT_EQ(c.network->arch, "adder-resnet20");
    EXPECT_EQ(c.network->options.quant.weight_bits, 4);
    EXPECT_EQ(c.network->options.quant.act_bits, 4);
    size_t groups = 0;
    for (const auto& [name, tensor] : c.weights) groups += name.find("kernel_group") != std::string::npos;
    EXPECT_EQ(groups, 20u);
    const RunResult eval = run_apot("eval --checkpoint " + out + " --test-limit 32" + flags());
    ASSERT_EQ(eval.exit_code, 0) << eval.err;
    EXPECT_EQ(accuracy_of(eval.out), accuracy_of(r.out));
    for (const auto& entry : fs::directory_iterator(data_->path())) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << "a temporary file stayed: " << entry.path();
    }
  }
}

TEST_F(PtqCli, RefusesWhatItCannotQuantise) {
  const std::string out = data_->file("refused.pt");
  const auto error = [](const RunResult& r) { return r.exit_code == 0 ? std::string("exit 0") : r.err; };
  EXPECT_THAT(error(run_apot(ptq(out, "--bits 4 --method qssf"))), HasSubstr("expected redistribution | shared-scale"));
  EXPECT_THAT(error(run_apot(ptq(out, "--bits 9"))), HasSubstr("--bits"));
  EXPECT_THAT(error(run_apot(ptq(out, "--bits 4 --act-percentile 0"))), HasSubstr("--act-percentile 0"));
  EXPECT_FALSE(fs::exists(out));
  ASSERT_EQ(run_apot(ptq(out, "--bits 8")).exit_code, 0);
  EXPECT_THAT(error(run_apot("ptq --checkpoint " + out + " --out " + data_->file("twice.pt") + " --bits 4" + flags())),
              HasSubstr("holds a quantised network"));
  const RunResult cnn = run_apot("train --arch resnet20 --bits 32 --epochs 1 --batch-size 32 --train-limit 32 --test-limit 32" +
                                 flags() + " --out " + data_->file("cnn"));
  ASSERT_EQ(cnn.exit_code, 0) << cnn.err;
  EXPECT_THAT(error(run_apot("ptq --checkpoint " + data_->file("cnn") + "/model.pt --out " + out + " --bits 4" + flags())),
              HasSubstr("holds resnet20, which has no adder layers"));
  EXPECT_THAT(error(run_apot("train --arch adder-resnet20 --bits 4 --epochs 1 --train-limit 32" + flags() + " --out " +
                             data_->file("q"))),
              HasSubstr("adder-resnet20 at 4 bits is quantised after training: train it with --bits 32, then run apot ptq"));
}

}  // namespace
}  // namespace apot::test
