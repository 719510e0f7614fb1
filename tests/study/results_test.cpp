// Resume bookkeeping without training: a row's state from its files, settings that must match, and the
// result and invocation records.
#include "study/results.h"

#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "train/metrics.h"

namespace apot::study {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StudyResults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("apot_study_results_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

void write_metrics(const RowFiles& files, int epochs) {
  std::vector<train::EpochMetrics> rows;
  for (int e = 1; e <= epochs; ++e) rows.push_back({e, 0.01, 0.5, 80, 0.4, 85, 1.5});
  write_file_atomically(files.metrics(), train::metrics_csv(rows));
}

TEST_F(StudyResults, RowStateFollowsTheFilesTheTrainerAndTheRunnerLeave) {
  const RowFiles files = row_files(dir_.string(), "apot4");
  EXPECT_EQ(files.dir, dir_.string() + "/rows/apot4");
  EXPECT_EQ(row_state(files, 3), RowState::Fresh);
  fs::create_directories(files.dir);
  EXPECT_EQ(row_state(files, 3), RowState::Fresh);
  write_file_atomically(files.model(), "x");
  EXPECT_EQ(row_state(files, 3), RowState::Partial) << "a checkpoint but no metrics yet";
  write_metrics(files, 2);
  EXPECT_EQ(row_state(files, 3), RowState::Partial);
  write_metrics(files, 3);
  EXPECT_EQ(row_state(files, 3), RowState::Trained);
  write_file_atomically(files.result(), "{}");
  EXPECT_EQ(row_state(files, 3), RowState::Finished);
}

TEST_F(StudyResults, SettingsAreClaimedOnceAndCheckedAfter) {
  const std::string path = (dir_ / "row.json").string();
  const nlohmann::json a = {{"row", "apot4"}, {"hyper", {{"epochs", 3}, {"lr", 0.01}}}};
  claim_settings(path, a, "row apot4");
  EXPECT_TRUE(fs::exists(path));
  claim_settings(path, a, "row apot4");  // the same: fine
  nlohmann::json b = a;
  b["hyper"]["epochs"] = 4;
  EXPECT_THAT([&] { claim_settings(path, b, "row apot4"); },
              ::testing::ThrowsMessage<std::runtime_error>(
                  ::testing::AllOf(HasSubstr(path), HasSubstr("hyper.epochs was 3, now 4"), HasSubstr("another --out"))));
}

TEST_F(StudyResults, PlanSettingsDifferWhereTheRowsDiffer) {
  StudyOptions o;
  const StudyPlan plan = build_plan(o);
  EXPECT_NE(row_settings(plan, plan.row("apot3")), row_settings(plan, plan.row("apot3-no-wn")));
  o.epochs_quant = 5;
  const StudyPlan longer = build_plan(o);
  EXPECT_NE(row_settings(plan, plan.row("apot4")), row_settings(longer, longer.row("apot4")));
  EXPECT_EQ(row_settings(plan, plan.row("fp32")), row_settings(longer, longer.row("fp32")));
  o.quick = true;
  EXPECT_NE(study_settings(plan), study_settings(build_plan(o))) << "a quick run's out dir is not a full study's";
}

TEST_F(StudyResults, RowResultRoundTripsWithAndWithoutAnIntegerAccuracy) {
  RowResult r;
  r.name = "lloyd3";
  r.label = "Lloyd W3/A3, RCF + WN";
  r.quantization = "W3A3";
  r.epochs = 3;
  r.fake_quant_accuracy = 91.5;
  r.integer_note = "n/a (Lloyd levels have no integer form)";
  r.size_mb = 0.1;
  r.fixops = 4e7;
  r.train_seconds = 300;
  r.eval_seconds = 12;
  const std::string path = (dir_ / "result.json").string();
  write_file_atomically(path, to_json(r).dump());
  RowResult back = read_row_result(path);
  EXPECT_EQ(back.name, "lloyd3");
  EXPECT_FALSE(back.integer_accuracy.has_value());
  EXPECT_EQ(back.integer_text(), "n/a (Lloyd levels have no integer form)");
  EXPECT_DOUBLE_EQ(back.wall_seconds(), 312);

  r.integer_accuracy = 91.25;
  write_file_atomically(path, to_json(r).dump());
  back = read_row_result(path);
  ASSERT_TRUE(back.integer_accuracy.has_value());
  EXPECT_DOUBLE_EQ(*back.integer_accuracy, 91.25);
  EXPECT_EQ(back.integer_text(), "91.25");

  r.failure = "the loss became nan";
  write_file_atomically(path, to_json(r).dump());
  back = read_row_result(path);
  EXPECT_FALSE(back.trained());
  EXPECT_EQ(back.accuracy_text(), "training failed");

  write_file_atomically(path, "{\"name\": \"x\"}");
  EXPECT_THAT([&] { read_row_result(path); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no field 'label'")));
}

TEST_F(StudyResults, ResultsCsvQuotesLabelsWithCommas) {
  RowResult r;
  r.name = "apot3-no-rcf";
  r.label = "APoT W3/A3, WN, no RCF";
  r.integer_accuracy = 90;
  write_results(dir_.string(), {r});
  const std::string csv = read_file((dir_ / "results.csv").string());
  EXPECT_THAT(csv, HasSubstr("apot3-no-rcf,\"APoT W3/A3, WN, no RCF\","));
  EXPECT_EQ(nlohmann::json::parse(read_file((dir_ / "results.json").string())).size(), 1u);
}

TEST_F(StudyResults, InvocationsRoundTrip) {
  EXPECT_TRUE(read_invocations(dir_.string()).empty());
  write_invocations(dir_.string(), {{"apot study --quick", "2024-01-01T00:00:00Z", 61.5, {"fp32"}},
                                    {"apot study --quick", "2024-01-01T01:00:00Z", std::nullopt, {}}});
  const std::vector<Invocation> back = read_invocations(dir_.string());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].seconds, 61.5);
  EXPECT_EQ(back[0].trained, std::vector<std::string>{"fp32"});
  EXPECT_FALSE(back[1].seconds.has_value());
}

}  // namespace
}  // namespace apot::study
