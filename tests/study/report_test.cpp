// The report without training: targets checked on given accuracies, and what the Markdown holds.
#include "study/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace apot::study {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Outcome = TargetCheck::Outcome;

RowResult row(const std::string& name, double accuracy) {
  RowResult r;
  r.name = name;
  r.label = name;
  r.fake_quant_accuracy = accuracy;
  r.integer_accuracy = accuracy - 0.1;
  return r;
}

std::vector<RowResult> full_study(double fp, double apot4, double apot3, double apot2) {
  return {row("fp32", fp),          row("apot4", apot4),        row("apot3", apot3),
          row("apot2", apot2),      row("uniform4", apot4 - 0.1), row("uniform3", apot3 - 0.2),
          row("apot3-no-rcf", apot3 - 0.5), row("apot3-no-wn", apot3 - 2)};
}

TEST(StudyTargets, AllMetWhenTheNumbersMeetThem) {
  const auto checks = check_targets(full_study(94.2, 94.0, 93.7, 92.8));
  ASSERT_EQ(checks.size(), 8u);
  for (const TargetCheck& c : checks) EXPECT_EQ(c.outcome, Outcome::Met) << c.target << ": " << c.detail;
}

TEST(StudyTargets, EachMissSaysByHowMuch) {
  const auto checks = check_targets(full_study(93.5, 93.0, 92.0, 91.0));
  EXPECT_EQ(checks[0].outcome, Outcome::Missed);
  EXPECT_THAT(checks[0].detail, HasSubstr("93.50"));
  EXPECT_EQ(checks[1].target, "APoT within 0.3 points of full precision at 4 bits");
  EXPECT_EQ(checks[1].outcome, Outcome::Missed);
  EXPECT_THAT(checks[1].detail, HasSubstr("-0.50 points"));
  EXPECT_EQ(checks[2].outcome, Outcome::Missed);  // 3 bits: -1.5 > 0.6
  EXPECT_EQ(checks[3].outcome, Outcome::Missed);  // 2 bits: -2.5 > 1.5
}

TEST(StudyTargets, ExactlyOnTheMarginIsMet) {
  const auto checks = check_targets(full_study(94.0, 93.7, 93.4, 92.5));
  EXPECT_EQ(checks[1].outcome, Outcome::Met) << checks[1].detail;
  EXPECT_EQ(checks[2].outcome, Outcome::Met) << checks[2].detail;
  EXPECT_EQ(checks[3].outcome, Outcome::Met) << checks[3].detail;
}

TEST(StudyTargets, AFailedRowLosesItsComparisons) {
  std::vector<RowResult> results = full_study(94.2, 94.0, 93.7, 92.8);
  results[7].failure = "the loss became nan at epoch 1, batch 3";  // apot3-no-wn diverged, as in Table 3
  results[2].failure = "clipping threshold alpha = -0.01 is invalid";  // apot3 too
  const auto checks = check_targets(results);
  EXPECT_EQ(checks[2].outcome, Outcome::Missed);
  EXPECT_EQ(checks[2].detail, "apot3: training failed");
  results[2].failure.clear();
  const auto again = check_targets(results);
  EXPECT_EQ(again[7].outcome, Outcome::Met);
  EXPECT_EQ(again[7].detail, "apot3 93.70 %, apot3-no-wn: training failed");
}

TEST(StudyTargets, MissingRowsAreNotChecked) {
  const auto checks = check_targets({row("fp32", 94.5), row("apot4", 94.4)});
  EXPECT_EQ(checks[0].outcome, Outcome::Met);
  EXPECT_EQ(checks[1].outcome, Outcome::Met);
  EXPECT_EQ(checks[2].outcome, Outcome::NotChecked);
  EXPECT_THAT(checks[2].detail, HasSubstr("apot3"));
  EXPECT_EQ(checks[7].outcome, Outcome::NotChecked);
  EXPECT_THAT(checks[7].detail, HasSubstr("rows apot3, apot3-no-wn"));
}

TEST(StudyReport, HoldsTheTableTargetsFiguresAndCommand) {
  StudyOptions o;
  o.only = {"lloyd5", "apot3-no-rcf"};
  const StudyPlan plan = build_plan(o);
  RowResult fp = row("fp32", 94.5);
  fp.integer_accuracy.reset();
  fp.integer_note = "n/a (full precision: the integer engine runs quantised models)";
  fp.size_mb = 1.03;
  fp.fixops = 41.2e6;
  RowResult lloyd = row("lloyd5", 94.1);
  lloyd.integer_accuracy.reset();
  lloyd.integer_note = "n/a (Lloyd levels have no integer form)";
  ReportInput in;
  in.plan = &plan;
  in.results = {fp, lloyd};
  in.figures = {Figure{"level-sets", "Level sets (Fig. 2)", "figures/level-sets.png", ""},
                missing_figure("clipping-ratio", "Clipping ratio (Fig. 4a)", "it needs the apot4 row")};
  in.invocations = {{"apot study --only lloyd5", "2024-01-01T00:00:00Z", 4000, {"fp32", "lloyd5"}}};
  const std::string md = report_markdown(in);
  EXPECT_THAT(md, HasSubstr("| apot3-no-rcf | APoT W3/A3, WN, no RCF (alpha = max\\|W\\|) | Table 3 | apot4 | 3 | not run yet |"));
  EXPECT_THAT(md, HasSubstr("| 94.10 | n/a (Lloyd levels have no integer form) |"));
  EXPECT_THAT(md, HasSubstr("| 1.030 | 41.2 |"));
  EXPECT_THAT(md, HasSubstr("![Level sets (Fig. 2)](figures/level-sets.png)"));
  EXPECT_THAT(md, HasSubstr("Not drawn: it needs the apot4 row."));
  EXPECT_THAT(md, HasSubstr("| full precision >= 94 % | **met** | fp32 94.50 % |"));
  EXPECT_THAT(md, HasSubstr("`apot study --only lloyd5`"));
  EXPECT_THAT(md, HasSubstr("| 67 min |"));
  EXPECT_THAT(md, HasSubstr("Estimated wall time of this plan on 2 cores"));
  EXPECT_THAT(md, Not(HasSubstr("quick mode")));
}

}  // namespace
}  // namespace apot::study
