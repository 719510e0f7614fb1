// The figures on synthetic weights: gnuplot draws each PNG (skipped without gnuplot), and a missing
// gnuplot is a clear error.
#include "study/figures.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "study/gnuplot.h"

namespace apot::study {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

bool is_png(const std::string& path) {
  if (!fs::exists(path)) return false;
  return read_file(path).substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

class StudyFigures : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      context_.terminal = gnuplot_png_terminal();
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << e.what();
    }
    context_.dir = (fs::temp_directory_path() / ("apot_study_figures_test_" + std::to_string(::getpid()))).string();
  }
  void TearDown() override { fs::remove_all(context_.dir); }

  // A conv layer's weights: small, off-centre, bell-shaped (Fig. 5a), and their normalisation.
  static LayerWeights weights() {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.004f, 0.05f);
    LayerWeights w;
    w.layer = "layer1.2.conv1";
    w.checkpoint = "synthetic";
    for (int i = 0; i < 2304; ++i) w.raw.push_back(normal(rng));
    for (float x : w.raw) w.normalised.push_back((x - 0.004f) / 0.05f);
    w.learned_alpha = 2.2;
    return w;
  }

  FigureContext context_;
};

TEST_F(StudyFigures, EachFigureIsAPngWithItsDataAndScript) {
  std::vector<Figure> figures;
  figures.push_back(draw_level_sets(context_));
  figures.push_back(draw_weight_density(context_, weights()));
  figures.push_back(draw_clipping_ratio(context_, weights(), LevelSet::make(Scheme::APoT, 4, 2, true)));
  TrainingCurve fp{"fp32", 32, {{1, 0.1, 0.6, 80, 0.5, 84, 2}, {2, 0.05, 0.4, 86, 0.4, 87, 2}}};
  TrainingCurve q{"apot4", 4, {{1, 0.01, 0.3, 89, 0.3, 88, 3}}};
  figures.push_back(draw_training_curves(context_, {fp, q}));
  for (const Figure& f : figures) {
    EXPECT_EQ(f.png, "figures/" + f.name + ".png");
    EXPECT_TRUE(is_png(context_.dir + "/" + f.name + ".png")) << f.name;
    EXPECT_TRUE(fs::exists(context_.dir + "/" + f.name + ".gp")) << f.name;
    EXPECT_TRUE(fs::exists(context_.dir + "/" + f.name + ".dat")) << f.name;
    EXPECT_FALSE(fs::exists(context_.dir + "/" + f.name + ".png.tmp")) << f.name;
  }
  EXPECT_THAT(figures[2].note, HasSubstr("learned alpha 2.200"));
}

TEST_F(StudyFigures, ScriptsRedrawByHand) {
  draw_level_sets(context_);
  fs::remove(context_.dir + "/level-sets.png");
  run_gnuplot(context_.dir, "level-sets.gp", "again.png");
  EXPECT_TRUE(is_png(context_.dir + "/again.png"));
}

TEST(StudyGnuplot, MissingGnuplotSaysWhatToInstall) {
  const char* old = std::getenv("APOT_GNUPLOT");
  const std::string saved = old ? old : "";
  ::setenv("APOT_GNUPLOT", "/nonexistent/gnuplot", 1);
  EXPECT_THAT([] { gnuplot_png_terminal(); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("gnuplot-nox")));
  if (old) {
    ::setenv("APOT_GNUPLOT", saved.c_str(), 1);
  } else {
    ::unsetenv("APOT_GNUPLOT");
  }
}

TEST(StudyClippingRatio, CountsMagnitudesAboveAlpha) {
  const std::vector<float> v = {-2, -1, 0, 0.5f, 1, 3};
  EXPECT_DOUBLE_EQ(clipping_ratio(v, 0.9), 4.0 / 6);
  EXPECT_DOUBLE_EQ(clipping_ratio(v, 1.0), 2.0 / 6) << "alpha itself is not clipped";
  EXPECT_DOUBLE_EQ(clipping_ratio(v, 3.0), 0);
}

}  // namespace
}  // namespace apot::study
