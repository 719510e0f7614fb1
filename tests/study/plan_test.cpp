// The study's plan: every row it is to have, progressive initialisation order, recipes, --only.
#include "study/plan.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace apot::study {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> names(const StudyPlan& plan) {
  std::vector<std::string> n;
  for (const StudyRow& r : plan.rows) n.push_back(r.name);
  return n;
}

TEST(StudyPlan, HasEveryRowEachAfterTheRowItStartsFrom) {
  const StudyPlan plan = build_plan({});
  EXPECT_THAT(names(plan), ElementsAre("fp32", "apot5", "apot4", "apot3", "apot2", "uniform5", "uniform4", "uniform3", "uniform2",
                                       "pot5", "pot4", "pot3", "pot2", "lloyd5", "lloyd3", "apot3-no-rcf", "apot3-no-wn",
                                       "pact-sawb2"));
  std::set<std::string> seen;
  for (const StudyRow& r : plan.rows) {
    if (!r.init_from.empty()) {
      EXPECT_TRUE(seen.count(r.init_from)) << r.name << " starts from " << r.init_from;
    }
    EXPECT_TRUE(seen.insert(r.name).second) << r.name;
  }
}

TEST(StudyPlan, ProgressiveInitialisationGoesFiveFourThreeTwo) {
  const StudyPlan plan = build_plan({});
  for (const std::string scheme : {"apot", "uniform", "pot"}) {
    EXPECT_EQ(plan.row(scheme + "5").init_from, "fp32");
    for (int bits = 4; bits >= 2; --bits) {
      const StudyRow& r = plan.row(scheme + std::to_string(bits));
      EXPECT_EQ(r.init_from, scheme + std::to_string(bits + 1));
      EXPECT_EQ(r.quant.weight_bits, bits);
      EXPECT_EQ(r.quant.act_bits, bits);
    }
  }
  EXPECT_EQ(plan.row("apot3").quant.scheme, Scheme::APoT);
  EXPECT_EQ(plan.row("uniform3").quant.scheme, Scheme::Uniform);
  EXPECT_EQ(plan.row("pot3").quant.scheme, Scheme::PoT);
  // The budget recipe's few epochs start every quantised row at its QEM thresholds; the row trained from
  // scratch has none.
  for (const StudyRow& r : plan.rows) EXPECT_EQ(r.hyper.fit_thresholds, !r.init_from.empty()) << r.name;
}

TEST(StudyPlan, AblationsLloydAndBaselineAreTheTablesRows) {
  const StudyPlan plan = build_plan({});
  EXPECT_EQ(plan.row("lloyd5").quant.weight_scheme(), Scheme::Lloyd);
  EXPECT_EQ(plan.row("lloyd3").quant.weight_bits, 3);
  const StudyRow& no_rcf = plan.row("apot3-no-rcf");
  EXPECT_EQ(no_rcf.quant.weight_quantizer, qat::WeightQuantizer::MaxAbs);
  EXPECT_TRUE(no_rcf.quant.weight_norm);
  const StudyRow& no_wn = plan.row("apot3-no-wn");
  EXPECT_EQ(no_wn.quant.weight_quantizer, qat::WeightQuantizer::Rcf);
  EXPECT_FALSE(no_wn.quant.weight_norm);
  EXPECT_EQ(no_rcf.init_from, plan.row("apot3").init_from);
  EXPECT_EQ(no_wn.init_from, plan.row("apot3").init_from);
  const StudyRow& baseline = plan.row("pact-sawb2");
  EXPECT_EQ(baseline.quant.weight_quantizer, qat::WeightQuantizer::Sawb);
  EXPECT_EQ(baseline.quant.act_quantizer, qat::ActQuantizer::Pact);
  EXPECT_EQ(baseline.quant.weight_bits, 2);
  EXPECT_FALSE(plan.row("fp32").quant.quantizes_weights());
}

TEST(StudyPlan, BudgetRecipeFitsTwoAndAHalfHours) {
  const StudyPlan plan = build_plan({});
  EXPECT_EQ(plan.row("fp32").hyper.epochs, budget_epochs().fp);
  EXPECT_EQ(plan.row("apot4").hyper.epochs, budget_epochs().quant);
  EXPECT_EQ(plan.row("fp32").hyper.lr_schedule, "cosine");
  EXPECT_LT(estimated_seconds(plan), budget_epochs().budget_seconds);
  EXPECT_GT(estimated_seconds(plan), 0.5 * budget_epochs().budget_seconds) << "the budget is there to be used";
}

TEST(StudyPlan, QuickModeIsOneEpochOnASubset) {
  StudyOptions o;
  o.quick = true;
  const StudyPlan plan = build_plan(o);
  EXPECT_EQ(plan.options.train_limit, kQuickTrainImages);
  EXPECT_EQ(plan.options.test_limit, kQuickTestImages);
  EXPECT_EQ(plan.options.threads, 1);
  for (const StudyRow& r : plan.rows) EXPECT_EQ(r.hyper.epochs, 1) << r.name;
  EXPECT_LT(estimated_seconds(plan), 180);
}

TEST(StudyPlan, EpochFlagsOverrideTheRecipe) {
  StudyOptions o;
  o.epochs_fp = 7;
  o.epochs_quant = 2;
  const StudyPlan plan = build_plan(o);
  EXPECT_EQ(plan.row("fp32").hyper.epochs, 7);
  EXPECT_EQ(plan.row("pot2").hyper.epochs, 2);
  o.epochs_quant = -1;
  EXPECT_THAT([&] { build_plan(o); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("--epochs-quant")));
}

TEST(StudyPlan, CifarPaperRecipeHasAppendixC2sHyperParameters) {
  StudyOptions o;
  o.recipe = kCifarPaperRecipe;
  const StudyPlan plan = build_plan(o);
  EXPECT_EQ(plan.options.dataset, "cifar10");
  for (const StudyRow& r : plan.rows) {
    EXPECT_EQ(r.hyper.epochs, 200) << r.name;
    EXPECT_EQ(r.hyper.batch_size, 128);
    EXPECT_DOUBLE_EQ(r.hyper.lr, 0.04);
    EXPECT_EQ(r.hyper.lr_schedule, "step");
    EXPECT_THAT(r.hyper.lr_milestones, ElementsAre(80, 120));
    EXPECT_DOUBLE_EQ(r.hyper.weight_decay, 1e-4);
    EXPECT_DOUBLE_EQ(r.hyper.alpha_lr, 0.01);
    EXPECT_DOUBLE_EQ(r.hyper.act_alpha_lr, 0.03);
    EXPECT_FLOAT_EQ(r.quant.weight_alpha_init, 3.0f);
    EXPECT_FLOAT_EQ(r.quant.act_alpha_init, 8.0f);
  }
  EXPECT_DOUBLE_EQ(plan.row("apot5").hyper.alpha_weight_decay, 1e-5);
  EXPECT_DOUBLE_EQ(plan.row("apot3").hyper.alpha_weight_decay, 1e-4);
  EXPECT_FALSE(plan.row("apot3").hyper.fit_thresholds) << "the paper's recipe keeps the thresholds it starts from";
}

TEST(StudyPlan, CifarPaperRecipeKeepsOnlyTheMilestonesAShortRunHas) {
  StudyOptions o;
  o.recipe = kCifarPaperRecipe;
  o.epochs_fp = o.epochs_quant = 10;
  EXPECT_THAT(build_plan(o).row("apot4").hyper.lr_milestones, ElementsAre(4, 6));
  o.epochs_fp = o.epochs_quant = 2;
  EXPECT_THAT(build_plan(o).row("apot4").hyper.lr_milestones, ElementsAre(1));
  o.quick = true;  // one epoch: no milestone fits
  EXPECT_TRUE(build_plan(o).row("apot4").hyper.lr_milestones.empty());
}

TEST(StudyPlan, RecipeAndDatasetMustFit) {
  StudyOptions o;
  o.recipe = kCifarPaperRecipe;
  o.dataset = "mnist";
  EXPECT_THAT([&] { build_plan(o); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("--dataset mnist")));
  o.recipe = kBudgetRecipe;
  o.dataset = "fashion-mnist";
  o.arch = "resnet21";
  EXPECT_THAT([&] { build_plan(o); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("--arch resnet21 is unknown")));
  o.arch = "resnet20";
  o.recipe = "fast";
  EXPECT_THAT([&] { build_plan(o); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("--recipe 'fast'")));
}

TEST(StudyPlan, OnlyKeepsTheRowsAndWhatTheyStartFrom) {
  StudyOptions o;
  o.only = {"apot4", "lloyd5"};
  EXPECT_THAT(names(build_plan(o)), ElementsAre("fp32", "apot5", "apot4", "lloyd5"));
  o.only = {"pact-sawb2"};
  EXPECT_THAT(names(build_plan(o)), ElementsAre("fp32", "uniform5", "uniform4", "uniform3", "pact-sawb2"));
  o.only = {"apot9"};
  EXPECT_THAT([&] { build_plan(o); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("--only apot9: no such row")));
}

}  // namespace
}  // namespace apot::study
