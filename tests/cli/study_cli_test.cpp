// `apot study` end to end on a few hundred images: the plan, a run and its resume, and the errors that
// must come before any training (CIFAR-10 files missing, bad flags).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/run_apot.h"

namespace apot::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(StudyCli, PlanListsTheRowsAndTheEstimate) {
  const RunResult r = run_apot("study --plan");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"fp32", "apot2", "uniform3", "pot5", "lloyd3", "apot3-no-rcf", "apot3-no-wn", "pact-sawb2"}) {
    EXPECT_THAT(r.out, HasSubstr(row));
  }
  EXPECT_THAT(r.out, HasSubstr("estimated wall time on 2 cores"));
}

TEST(StudyCli, CifarRecipeNamesTheMissingFiles) {
  const fs::path empty = fs::temp_directory_path() / ("apot_study_cli_cifar_" + std::to_string(::getpid()));
  fs::create_directories(empty);
  const RunResult r = run_apot("study --recipe cifar10-paper --data-dir " + empty.string() + " --out " + (empty / "out").string());
  fs::remove_all(empty);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("data_batch_1.bin"));
  EXPECT_THAT(r.err, HasSubstr("test_batch.bin"));
  EXPECT_THAT(r.err, HasSubstr(empty.string()));
}

// The Appendix C.2 recipe end to end on CIFAR-10 binary files of random images: a user's real files
// take the same path (data/cifar.h reads them; the plan, training, export and report do not know the
// difference).
TEST(StudyCli, CifarRecipeRunsOnCifarBinaryFiles) {
  const fs::path dir = fs::temp_directory_path() / ("apot_study_cli_cifar_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::mt19937 random(7);
  const auto write_batch = [&](const std::string& name, int images) {
    std::ofstream out(dir / name, std::ios::binary);
    for (int i = 0; i < images; ++i) {
      out.put(static_cast<char>(i % 10));
      for (int b = 0; b < 3 * 32 * 32; ++b) out.put(static_cast<char>(random() & 0xff));
    }
  };
  for (int i = 1; i <= 5; ++i) write_batch("data_batch_" + std::to_string(i) + ".bin", 16);
  write_batch("test_batch.bin", 20);
  const RunResult r = run_apot("study --recipe cifar10-paper --quick --only apot5 --threads 1 --data-dir " + dir.string() +
                               " --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("2 rows trained, 0 skipped"));
  EXPECT_THAT(r.out, HasSubstr("[apot5] done: fake-quant"));
  EXPECT_TRUE(fs::exists(dir / "out" / "report.md"));
  fs::remove_all(dir);
}

TEST(StudyCli, BadFlagsAreNamed) {
  EXPECT_THAT(run_apot("study --plan --epochs-fp -2").err, HasSubstr("--epochs-fp: '-2': expected a whole number >= 1"));
  EXPECT_THAT(run_apot("study --plan --epochs-quant 0").err, HasSubstr("--epochs-quant: '0': expected a whole number >= 1"));
  EXPECT_THAT(run_apot("study --plan --only apot7").err, HasSubstr("--only apot7: no such row"));
  EXPECT_THAT(run_apot("study --plan --recipe cifar10-paper --dataset mnist").err, HasSubstr("--dataset mnist"));
}

TEST(StudyCli, QuickRunThenResume) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const fs::path out = fs::temp_directory_path() / ("apot_study_cli_quick_" + std::to_string(::getpid()));
  const std::string args = "study --quick --only apot4 --train-limit 256 --test-limit 100 --threads 1 --out " + out.string();
  const RunResult first = run_apot(args);
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_THAT(first.out, HasSubstr("3 rows trained, 0 skipped"));
  EXPECT_TRUE(fs::exists(out / "report.md"));
  EXPECT_TRUE(fs::exists(out / "figures" / "level-sets.png"));
  const RunResult again = run_apot(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("[apot4] finished earlier: skipped"));
  EXPECT_THAT(again.out, HasSubstr("0 rows trained, 3 skipped"));
  fs::remove_all(out);
}

}  // namespace
}  // namespace apot::test
