// The study's figures, the paper's Fig. 1, 2, 4a and 5 on the study's own networks, plus the rows'
// training curves. Each figure is a data file, a gnuplot script and the PNG gnuplot draws from them,
// all in the figures directory. Plain C++, no LibTorch: the runner hands over the weights.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/levels.h"
#include "train/metrics.h"

namespace apot::study {

struct Figure {
  std::string name;   // file stem: <name>.png, <name>.dat, <name>.gp
  std::string title;  // what it shows, with the paper's figure it reproduces
  std::string png;    // path relative to the study's out dir; empty when not drawn
  std::string note;   // why it was not drawn, or what it was drawn from
};

struct FigureContext {
  std::string dir;       // the figures directory (created when missing)
  std::string terminal;  // gnuplot_png_terminal()
  std::string link_prefix = "figures/";  // how the report reaches `dir`
};

// Fig. 2: the unsigned uniform, PoT and APoT level sets at 3 and 4 bits (alpha = 1) as the staircase
// x -> Proj(x) each projects onto.
Figure draw_level_sets(const FigureContext& context);

// One layer's weights from a checkpoint, as stored and after weight normalisation (Eq. 9).
struct LayerWeights {
  std::string layer;       // state_dict prefix, e.g. "layer1.2.conv1"
  std::string checkpoint;  // where they come from, for captions
  std::vector<float> raw, normalised;
  std::optional<double> learned_alpha;  // the trained weight threshold (normalised units), when present
};

// Fig. 1 and 5: the density of the weights before and after normalisation, with their means dashed.
Figure draw_weight_density(const FigureContext& context, const LayerWeights& weights);

// Fig. 4a: the clipping ratio (fraction of |w| > alpha) as alpha goes from 0 to max |w|, with and
// without normalisation, and below it the quantisation error of Eq. 14 on `levels` relative to E[w^2];
// the learned threshold and the QEM threshold (Appendix C.1) of the normalised weights are marked.
Figure draw_clipping_ratio(const FigureContext& context, const LayerWeights& weights, const LevelSet& levels);

// The rows' test accuracy per epoch, one panel per weight bit-width.
struct TrainingCurve {
  std::string label;
  int weight_bits = 32;
  std::vector<train::EpochMetrics> epochs;
};
Figure draw_training_curves(const FigureContext& context, const std::vector<TrainingCurve>& curves);

// A figure that could not be drawn from this study's rows (a reduced plan), saying why.
Figure missing_figure(std::string name, std::string title, std::string why);

// Fraction of values with |x| > alpha: the clipping ratio of Fig. 4.
double clipping_ratio(const std::vector<float>& values, double alpha);

}  // namespace apot::study
