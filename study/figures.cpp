#include "study/figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/quant_error.h"
#include "study/gnuplot.h"

namespace apot::study {

namespace fs = std::filesystem;

namespace {

// Writes <name>.dat and <name>.gp, draws <name>.png through a temporary name. `body` plots into the
// terminal the preamble sets; the script also runs by hand (`gnuplot <name>.gp` writes <name>.png).
Figure render(const FigureContext& context, const std::string& name, const std::string& title, const std::string& data,
              const std::string& body, int width, int height, std::string note = "") {
  fs::create_directories(context.dir);
  write_file_atomically(context.dir + "/" + name + ".dat", data);
  const std::string script = fmt::format(
      "# {}\n# Written by `apot study`; run `gnuplot {}.gp` here to redraw {}.png.\n"
      "if (!exists(\"output\")) output = \"{}.png\"\n"
      "set terminal {} size {},{}\nset output output\nset termoption noenhanced\nset grid\n{}unset output\n",
      title, name, name, name, context.terminal, width, height, body);
  write_file_atomically(context.dir + "/" + name + ".gp", script);
  const std::string temporary = name + ".png.tmp";
  run_gnuplot(context.dir, name + ".gp", temporary);
  fs::rename(fs::path(context.dir) / temporary, fs::path(context.dir) / (name + ".png"));
  return Figure{name, title, context.link_prefix + name + ".png", std::move(note)};
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

double mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double mean_square(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Density histogram (integrates to 1) as "centre density" lines; returns the peak density.
double histogram(const std::vector<float>& v, int bins, std::string* out) {
  const auto [lo_it, hi_it] = std::minmax_element(v.begin(), v.end());
  const double lo = *lo_it, hi = *hi_it > *lo_it ? *hi_it : *lo_it + 1e-6;
  const double width = (hi - lo) / bins;
  std::vector<size_t> counts(static_cast<size_t>(bins), 0);
  for (float x : v) counts[std::min(static_cast<size_t>((x - lo) / width), counts.size() - 1)]++;
  double peak = 0;
  for (int b = 0; b < bins; ++b) {
    const double density = static_cast<double>(counts[static_cast<size_t>(b)]) / (static_cast<double>(v.size()) * width);
    peak = std::max(peak, density);
    *out += fmt::format("{:.6g} {:.6g}\n", lo + (b + 0.5) * width, density);
  }
  return peak;
}

void check_weights(const LayerWeights& w) {
  if (w.raw.empty() || w.raw.size() != w.normalised.size()) {
    throw std::invalid_argument(fmt::format("layer {} of {}: {} weights and {} normalised ones", w.layer, w.checkpoint,
                                            w.raw.size(), w.normalised.size()));
  }
}

}  // namespace

Figure missing_figure(std::string name, std::string title, std::string why) {
  return Figure{std::move(name), std::move(title), "", std::move(why)};
}

double clipping_ratio(const std::vector<float>& values, double alpha) {
  size_t clipped = 0;
  for (float x : values) clipped += std::fabs(x) > alpha;
  return values.empty() ? 0 : static_cast<double>(clipped) / static_cast<double>(values.size());
}

Figure draw_level_sets(const FigureContext& context) {
  const std::vector<std::pair<Scheme, const char*>> schemes = {
      {Scheme::Uniform, "uniform (Eq. 2)"}, {Scheme::PoT, "PoT (Eq. 3)"}, {Scheme::APoT, "APoT, k = 2 (Eq. 5, 6)"}};
  std::string data, plots;
  int block = 0;
  for (int bits : {3, 4}) {
    for (const auto& [scheme, title] : schemes) {
      const LevelSet set = LevelSet::make(scheme, bits, /*k=*/0, /*is_signed=*/false);
      const std::vector<double> levels = set.values();
      // The staircase x -> Proj(x): level j from the midpoint below it to the midpoint above it.
      data += fmt::format("# {} {} bits: x Proj(x)\n", to_string(scheme), bits);
      for (size_t j = 0; j < levels.size(); ++j) {
        const double from = j == 0 ? 0.0 : (levels[j - 1] + levels[j]) / 2;
        const double to = j + 1 == levels.size() ? 1.0 : (levels[j] + levels[j + 1]) / 2;
        data += fmt::format("{:.8f} {:.8f}\n{:.8f} {:.8f}\n", from, levels[j], to, levels[j]);
      }
      data += "\n\n# levels\n";
      for (double l : levels) data += fmt::format("{:.8f} {:.8f}\n", l, l);
      data += "\n\n";
      plots += fmt::format(
          "set title {}\nplot 'level-sets.dat' index {} using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, "
          "'' index {} using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle\n",
          gnuplot_quote(fmt::format("{}, {} bits: {} levels", title, bits, levels.size())), block, block + 1);
      block += 2;
    }
  }
  const std::string title = "Level sets of unsigned data at 3 and 4 bits, alpha = 1 (paper Fig. 2)";
  const std::string body = fmt::format(
      "set multiplot layout 2,3 title {}\nset xrange [0:1]\nset yrange [0:1.02]\nset xlabel 'x'\nset ylabel 'Proj(x)'\n"
      "set size ratio 1\n{}unset multiplot\n",
      gnuplot_quote(title), plots);
  return render(context, "level-sets", title, data, body, 1500, 1000);
}

Figure draw_weight_density(const FigureContext& context, const LayerWeights& w) {
  check_weights(w);
  std::string data = fmt::format("# {} of {}: weight density (centre, density)\n", w.layer, w.checkpoint);
  const double raw_peak = histogram(w.raw, 80, &data);
  data += "\n\n# after weight normalisation (Eq. 9)\n";
  const double norm_peak = histogram(w.normalised, 80, &data);
  const double raw_mean = mean(w.raw), norm_mean = mean(w.normalised);
  const std::string title = fmt::format("Weight density of {} before and after weight normalisation (paper Fig. 1 and 5)", w.layer);
  const std::string body = fmt::format(
      "set multiplot layout 1,2 title {}\nset ylabel 'density'\nset style fill solid 0.5\n"
      "set title {}\nset xlabel 'w'\nset arrow 1 from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dt 2 lw 2\n"
      "plot 'weight-density.dat' index 0 using 1:2 with boxes lc rgb '#1f77b4' notitle\n"
      "set title {}\nset xlabel 'normalised w'\nset arrow 1 from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dt 2 lw 2\n"
      "plot 'weight-density.dat' index 1 using 1:2 with boxes lc rgb '#2ca02c' notitle\nunset multiplot\n",
      gnuplot_quote(title),
      gnuplot_quote(fmt::format("(a) as trained: mean {:.3g} (dashed), peak density {:.1f}", raw_mean, raw_peak)), raw_mean,
      raw_mean, gnuplot_quote(fmt::format("(b) normalised: mean {:.2g} (dashed), peak density {:.2f}", norm_mean, norm_peak)),
      norm_mean, norm_mean);
  return render(context, "weight-density", title, data, body, 1400, 600, "weights of " + w.checkpoint);
}

Figure draw_clipping_ratio(const FigureContext& context, const LayerWeights& w, const LevelSet& levels) {
  check_weights(w);
  const double raw_max = max_abs(w.raw), norm_max = max_abs(w.normalised);
  const double raw_power = mean_square(w.raw), norm_power = mean_square(w.normalised);
  const double top = std::max(raw_max, norm_max);
  // Alpha over the same absolute axis for both, as Fig. 4a: the raw weights' curve is the steep one.
  std::string data = "# alpha clip_ratio_raw clip_ratio_normalised error_raw/E[w^2] error_normalised/E[w^2]\n";
  const int points = 400;
  for (int i = 1; i <= points; ++i) {
    const double alpha = top * i / points;
    const double raw_error = quantization_error(levels, w.raw.data(), w.raw.size(), alpha).total() / raw_power;
    const double norm_error =
        quantization_error(levels, w.normalised.data(), w.normalised.size(), alpha).total() / norm_power;
    data += fmt::format("{:.6g} {:.6g} {:.6g} {:.6g} {:.6g}\n", alpha, clipping_ratio(w.raw, alpha),
                        clipping_ratio(w.normalised, alpha), raw_error, norm_error);
  }
  const QemResult qem = qem_alpha(levels, w.normalised.data(), w.normalised.size());
  std::string marks = fmt::format(
      "set arrow 1 from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dt 3 lw 2 lc rgb '#9467bd'\n"
      "set label 1 'QEM alpha' at {:.6g}, graph 0.9 offset 0.5,0 tc rgb '#9467bd'\n",
      qem.alpha, qem.alpha, qem.alpha);
  if (w.learned_alpha) {
    marks += fmt::format(
        "set arrow 2 from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dt 2 lw 2 lc rgb '#d62728'\n"
        "set label 2 'learned alpha (RCF)' at {:.6g}, graph 0.8 offset 0.5,0 tc rgb '#d62728'\n",
        *w.learned_alpha, *w.learned_alpha, *w.learned_alpha);
  }
  const std::string title = fmt::format("Clipping ratio and quantisation error of {} against alpha (paper Fig. 4a, Eq. 14)", w.layer);
  const std::string body = fmt::format(
      "set multiplot layout 2,1 title {}\nset xrange [0:{:.6g}]\nset key top right\n{}"
      "set title 'clipping ratio: fraction of |w| > alpha'\nset ylabel 'clipping ratio'\nset yrange [0:1]\n"
      "plot 'clipping-ratio.dat' using 1:2 with lines lw 2 title 'without WN (max |w| = {:.3g})', "
      "'' using 1:3 with lines lw 2 title 'with WN (max |w| = {:.3g})'\n"
      "set title {}\nset xlabel 'alpha'\nset ylabel 'error / E[w^2]'\nset logscale y\nset autoscale y\n"
      "plot 'clipping-ratio.dat' using 1:4 with lines lw 2 title 'without WN', '' using 1:5 with lines lw 2 title 'with WN'\n"
      "unset multiplot\n",
      gnuplot_quote(title), top, marks, raw_max, norm_max,
      gnuplot_quote(fmt::format("quantisation error (clip + projection, Eq. 14) on {}", levels.describe())));
  return render(context, "clipping-ratio", title, data, body, 1200, 1000,
                fmt::format("weights of {}; QEM alpha of the normalised weights {:.3f}{}", w.checkpoint, qem.alpha,
                            w.learned_alpha ? fmt::format(", learned alpha {:.3f}", *w.learned_alpha) : ""));
}

Figure draw_training_curves(const FigureContext& context, const std::vector<TrainingCurve>& curves) {
  const std::string title = "Test accuracy per epoch of every row, by weight bit-width";
  if (curves.empty()) return missing_figure("training-curves", title, "no row has trained yet");
  std::map<int, std::vector<size_t>, std::greater<int>> by_bits;  // full precision first
  std::string data;
  for (size_t i = 0; i < curves.size(); ++i) {
    by_bits[curves[i].weight_bits].push_back(i);
    data += fmt::format("# {}: epoch test_accuracy train_loss\n", curves[i].label);
    for (const train::EpochMetrics& m : curves[i].epochs) {
      data += fmt::format("{} {:.4f} {:.6f}\n", m.epoch, m.test_accuracy, m.train_loss);
    }
    data += "\n\n";
  }
  const int panels = static_cast<int>(by_bits.size());
  const int columns = std::min(panels, 3), rows = (panels + columns - 1) / columns;
  std::string plots;
  for (const auto& [bits, members] : by_bits) {
    size_t last_epoch = 1;
    for (size_t m : members) last_epoch = std::max(last_epoch, curves[m].epochs.size());
    plots += fmt::format("set title {}\nset xrange [0.5:{}.5]\n{}\nplot ",
                         gnuplot_quote(bits >= 32 ? std::string("full precision") : fmt::format("{}-bit weights", bits)),
                         last_epoch, last_epoch <= 20 ? "set xtics 1" : "set xtics autofreq");
    for (size_t j = 0; j < members.size(); ++j) {
      plots += fmt::format("{}'training-curves.dat' index {} using 1:2 with linespoints lw 2 pt 7 ps 0.6 title {}",
                           j ? ", " : "", members[j], gnuplot_quote(curves[members[j]].label));
    }
    plots += "\n";
  }
  const std::string body = fmt::format(
      "set multiplot layout {},{} title {}\nset xlabel 'epoch'\nset ylabel 'test accuracy (%)'\nset key bottom right\n"
      "{}unset multiplot\n",
      rows, columns, gnuplot_quote(title), plots);
  return render(context, "training-curves", title, data, body, 600 * columns, 480 * rows);
}

}  // namespace apot::study
