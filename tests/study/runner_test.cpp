// The whole pipeline on a few hundred Fashion-MNIST images (skipped without dataset-fashion-mnist or
// gnuplot): every row trained, exported, measured and reported, figures drawn; then a second
// invocation resumes: finished rows are skipped, a row cut after training is only evaluated again.
#include "study/runner.h"

#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "data/datasets.h"
#include "study/gnuplot.h"

namespace apot::study {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class StudyRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(data::default_data_dir("fashion-mnist"))) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    try {
      gnuplot_png_terminal();
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << e.what();
    }
    dir_ = fs::temp_directory_path() / ("apot_study_runner_test_" + std::to_string(::getpid()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Quick mode on fewer images still, with the rows that exercise every path: training from scratch,
  // progressive initialisation, an exported row, a row without integer form (Lloyd), and a baseline
  // started from another quantiser's checkpoint.
  StudyPlan plan(size_t test_limit = 100) const {
    StudyOptions o;
    o.quick = true;
    o.train_limit = 256;
    o.test_limit = test_limit;
    o.only = {"apot4", "lloyd5", "pact-sawb2"};
    o.out_dir = dir_.string();
    return build_plan(o);
  }

  StudyOutcome run(const StudyPlan& p, std::string* log) const {
    return run_study(p, "apot study --quick (test)", [log](const std::string& line) { *log += line + "\n"; });
  }

  fs::path dir_;
};

TEST_F(StudyRunner, RunsEveryRowThenResumesWithoutRetraining) {
  const StudyPlan p = plan();
  std::string log;
  const StudyOutcome first = run(p, &log);
  ASSERT_EQ(first.results.size(), p.rows.size()) << log;
  EXPECT_EQ(first.trained.size(), p.rows.size());
  EXPECT_TRUE(first.skipped.empty());
  for (const RowResult& r : first.results) {
    EXPECT_GT(r.fake_quant_accuracy, 0) << r.name;
    EXPECT_GT(r.size_mb, 0) << r.name;
    EXPECT_GT(r.fixops, 0) << r.name;
    EXPECT_GT(r.train_seconds, 0) << r.name;
    EXPECT_TRUE(fs::exists(dir_ / "rows" / r.name / "result.json")) << r.name;
  }
  auto result = [&](const std::string& name) {
    return *std::find_if(first.results.begin(), first.results.end(), [&](const RowResult& r) { return r.name == name; });
  };
  EXPECT_TRUE(result("apot4").integer_accuracy.has_value()) << result("apot4").integer_note;
  EXPECT_TRUE(fs::exists(dir_ / "rows" / "apot4" / "model.apot"));
  EXPECT_EQ(result("lloyd5").integer_text(), "n/a (Lloyd levels have no integer form)");
  EXPECT_FALSE(result("fp32").integer_accuracy.has_value());
  EXPECT_LT(result("apot4").size_mb, result("fp32").size_mb);
  EXPECT_THAT(log, HasSubstr("[pact-sawb2] starting from"));

  for (const std::string file : {"results.json", "results.csv", "report.md", "study.json", "invocations.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / file)) << file;
  }
  ASSERT_EQ(first.figures.size(), 4u);
  for (const Figure& f : first.figures) {
    EXPECT_FALSE(f.png.empty()) << f.name << ": " << f.note;
    EXPECT_TRUE(fs::exists(dir_ / f.png)) << f.png;
  }
  const std::string report = read_file((dir_ / "report.md").string());
  EXPECT_THAT(report, HasSubstr("(figures/level-sets.png)"));
  EXPECT_THAT(report, HasSubstr("n/a (Lloyd levels have no integer form)"));
  EXPECT_THAT(report, HasSubstr("`apot study --quick (test)`"));

  // Again: nothing is retrained, the checkpoints are untouched.
  const auto model_time = fs::last_write_time(dir_ / "rows" / "apot4" / "model.pt");
  std::string again_log;
  const StudyOutcome again = run(p, &again_log);
  EXPECT_TRUE(again.trained.empty()) << again_log;
  EXPECT_EQ(again.skipped.size(), p.rows.size());
  EXPECT_THAT(again_log, HasSubstr("[apot4] finished earlier: skipped"));
  EXPECT_EQ(fs::last_write_time(dir_ / "rows" / "apot4" / "model.pt"), model_time);
  ASSERT_EQ(again.results.size(), first.results.size());
  EXPECT_DOUBLE_EQ(again.results[2].fake_quant_accuracy, first.results[2].fake_quant_accuracy);

  // Cut after training, before the result: only the measurements run again.
  fs::remove(dir_ / "rows" / "apot4" / "result.json");
  std::string cut_log;
  const StudyOutcome resumed = run(p, &cut_log);
  EXPECT_THAT(resumed.trained, ElementsAre("apot4")) << cut_log;
  EXPECT_THAT(cut_log, HasSubstr("[apot4] trained, not yet evaluated"));
  EXPECT_EQ(fs::last_write_time(dir_ / "rows" / "apot4" / "model.pt"), model_time);
  EXPECT_EQ(read_invocations(dir_.string()).size(), 3u);

  // Other settings in the same out dir are refused, naming the file.
  std::string refused_log;
  EXPECT_THAT([&] { run(plan(/*test_limit=*/50), &refused_log); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("study.json")));
}

}  // namespace
}  // namespace apot::study
