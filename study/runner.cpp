#include "study/runner.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/cost.h"
#include "core/network_spec.h"
#include "data/datasets.h"
#include "deploy/export/calibrate.h"
#include "deploy/export/export.h"
#include "deploy/format/model_file.h"
#include "models/state_dict.h"
#include "models/torch_io.h"
#include "study/gnuplot.h"
#include "study/integer_accuracy.h"
#include "study/report.h"
#include "train/trainer.h"

namespace apot::study {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const RowResult* find_result(const std::vector<RowResult>& results, const std::string& name) {
  auto it = std::find_if(results.begin(), results.end(), [&](const RowResult& r) { return r.name == name; });
  return it == results.end() ? nullptr : &*it;
}

// The fifth quantised layer (Fig. 5 shows "the fifth layer"); ResNet-20's first conv is 8-bit.
constexpr const char* kFigureLayer = "layer1.2.conv1";

std::shared_ptr<models::Network> make_network(const StudyPlan& plan, const qat::QuantConfig& quant) {
  const data::DatasetShape shape = data::dataset_shape(plan.options.dataset);
  models::NetworkOptions options;
  options.in_channels = shape.channels;
  options.num_classes = shape.classes;
  options.quant = quant;
  torch::manual_seed(plan.options.seed);  // the initial weights of rows trained from scratch
  return models::make_network(plan.options.arch, options);
}

// The checkpoint a row starts from. Another quantiser's learned thresholds have no place in this row's
// network (PACT + SAWB has no weight threshold): those entries are dropped into rows/<row>/init.pt.
// Everything else still loads strictly.
std::string init_checkpoint(models::Network& net, const std::string& source, const RowFiles& files, const Log& log) {
  if (!fs::exists(source)) {
    throw std::runtime_error(fmt::format("{}: the checkpoint this row starts from is missing; its row has not finished", source));
  }
  std::set<std::string> own;
  for (const auto& [name, tensor] : models::state_dict_of(net)) own.insert(name);
  models::StateDict kept;
  std::string dropped;
  for (auto& [name, tensor] : models::read_state_dict(source)) {
    if (!own.count(name) && (ends_with(name, "_alpha") || ends_with(name, "lloyd_levels"))) {
      dropped += (dropped.empty() ? "" : ", ") + name;
    } else {
      kept.emplace_back(name, tensor);
    }
  }
  if (dropped.empty()) return source;
  const std::string path = files.dir + "/init.pt";
  models::write_state_dict(kept, path);
  log(fmt::format("starting from {} without the thresholds this quantiser does not have: {}", source, dropped));
  return path;
}

train::TrainOptions train_options(const StudyPlan& plan, const StudyRow& row, const RowFiles& files) {
  const StudyOptions& o = plan.options;
  const Hyper& h = row.hyper;
  train::TrainOptions t;
  t.dataset = o.dataset;
  t.data_dir = o.data_dir;
  t.train_limit = o.train_limit;
  t.test_limit = o.test_limit;
  t.epochs = h.epochs;
  t.batch_size = h.batch_size;
  t.lr = h.lr;
  t.lr_schedule = train::parse_lr_schedule(h.lr_schedule);
  t.lr_milestones = h.lr_milestones;
  t.weight_decay = h.weight_decay;
  t.alpha_lr = h.alpha_lr;
  t.act_alpha_lr = h.act_alpha_lr;
  t.alpha_weight_decay = h.alpha_weight_decay;
  t.augment = h.augment;
  t.fit_thresholds = h.fit_thresholds;
  t.seed = o.seed;
  t.out_dir = files.dir;
  return t;
}

// Model size and FixOPs by the paper's rules (section 4.1, Table 1 and 3): first and last layers at
// 8 bits where the body is quantised, everything at 32 for full precision.
ModelCost row_cost(const StudyPlan& plan, const qat::QuantConfig& q) {
  const data::DatasetShape shape = data::dataset_shape(plan.options.dataset);
  const NetworkSpec spec = network_spec(plan.options.arch, shape.channels, shape.height, shape.width, shape.classes);
  CostOptions c;
  c.scheme = q.weight_scheme();
  c.weight_bits = q.weight_bits;
  c.activation_bits = q.act_bits;
  c.first_last_bits = q.quantizes_weights() ? q.edge_bits : kFullPrecisionBits;
  return model_cost(spec, c);
}

// Exports the trained network and runs the integer engine on the test set; a row without an integer
// form says why instead of a number.
void measure_integer(const StudyPlan& plan, const StudyRow& row, models::Network& net, const RowFiles& files,
                     const data::ImageSet& test, const data::ImageSet& calibration, RowResult* r, const Log& log) {
  const qat::QuantConfig& q = row.quant;
  if (!q.quantizes_weights()) {
    r->integer_note = "n/a (full precision: the integer engine runs quantised models)";
    return;
  }
  if (q.weight_scheme() == Scheme::Lloyd) {
    r->integer_note = "n/a (Lloyd levels have no integer form)";
    return;
  }
  deploy::IntegerModel model;
  try {
    const deploy::Calibration c = deploy::calibrate_export(net, plan.options.dataset, calibration);
    log(c.describe());
    model = deploy::export_model(net, c.options);
  } catch (const std::invalid_argument& e) {
    r->integer_note = fmt::format("n/a (no integer form: {})", e.what());
    log(fmt::format("no integer model: {}", e.what()));
    return;
  }
  deploy::save_model(model, files.integer_model());
  deploy::EngineOptions engine;
  engine.threads = plan.options.threads;
  const IntegerAccuracy a = integer_accuracy(model, test, data::default_normalization(plan.options.dataset), engine);
  r->integer_accuracy = a.accuracy;
  r->integer_note = a.kernel + " kernel";
  log(fmt::format("integer engine ({} kernel): top-1 {:.2f}% on {} images", a.kernel, a.accuracy, a.images));
}

// What a row is, whatever its training gives: its configuration and its cost by the paper's rules.
RowResult describe_row(const StudyPlan& plan, const StudyRow& row) {
  RowResult r;
  r.name = row.name;
  r.label = row.label;
  r.quantization = row.quant.describe();
  const ModelCost cost = row_cost(plan, row.quant);
  r.size_mb = cost.size_mb();
  r.fixops = cost.fixops;
  return r;
}

RowResult run_row(const StudyPlan& plan, const StudyRow& row, const RowFiles& files, RowState state,
                  const data::ImageSet& test, const data::ImageSet& calibration, const Log& log) {
  fs::create_directories(files.dir);
  claim_settings(files.settings(), row_settings(plan, row), "row " + row.name);
  RowResult r = describe_row(plan, row);
  auto net = make_network(plan, row.quant);
  train::TrainResult trained;
  try {
    train::TrainOptions t = train_options(plan, row, files);
    t.resume = state != RowState::Fresh;  // the trainer continues from the last finished epoch
    if (!t.resume && !row.init_from.empty()) {
      t.init_checkpoint = init_checkpoint(*net, row_files(plan.options.out_dir, row.init_from).model(), files, log);
    }
    trained = train::train(*net, t, log);
    if (trained.epochs.empty()) throw std::runtime_error(fmt::format("{}: no epoch recorded", files.metrics()));
  } catch (const std::exception& e) {
    // Recorded as the row's result, so that resuming does not train it again into the same error.
    r.failure = e.what();
    r.integer_note = "n/a (training failed)";
    if (fs::exists(files.metrics())) {
      for (const train::EpochMetrics& m : train::read_metrics(files.metrics())) r.train_seconds += m.seconds;
    }
    log(fmt::format("training failed: {}; the study goes on (delete {} to train this row again)", e.what(), files.dir));
    write_file_atomically(files.result(), to_json(r).dump(2) + "\n");
    return r;
  }

  const auto start = Clock::now();
  r.epochs = static_cast<int>(trained.epochs.size());
  r.fake_quant_accuracy = trained.epochs.back().test_accuracy;
  for (const train::EpochMetrics& m : trained.epochs) r.train_seconds += m.seconds;
  measure_integer(plan, row, *net, files, test, calibration, &r, log);
  r.eval_seconds = seconds_since(start);
  write_file_atomically(files.result(), to_json(r).dump(2) + "\n");  // last: the row is finished
  return r;
}

// One layer's weights from a checkpoint and the same weights normalised by the network's own WN
// (Eq. 9) in a layer quantised as `quant` says, with the learned threshold where the checkpoint has one.
LayerWeights layer_weights(const StudyPlan& plan, const std::string& checkpoint, qat::QuantConfig quant) {
  quant.weight_norm = true;
  auto net = make_network(plan, quant);
  const std::vector<std::string> missing = train::load_initialisation(*net, checkpoint);
  auto convs = net->quant_convs();
  if (convs.empty()) throw std::runtime_error(fmt::format("{} has no quantised convolution", plan.options.arch));
  auto it = std::find_if(convs.begin(), convs.end(), [](const auto& c) { return c.first == kFigureLayer; });
  if (it == convs.end()) it = convs.begin() + static_cast<std::ptrdiff_t>(convs.size() / 2);
  torch::NoGradGuard no_grad;
  qat::QuantConv2d& conv = it->second;
  LayerWeights w;
  w.layer = it->first;
  w.checkpoint = checkpoint;
  const torch::Tensor raw = conv->weight.detach().contiguous().reshape({-1});
  const torch::Tensor normalised = conv->weight_quant->normalize(conv->weight).detach().contiguous().reshape({-1});
  w.raw.assign(raw.data_ptr<float>(), raw.data_ptr<float>() + raw.numel());
  w.normalised.assign(normalised.data_ptr<float>(), normalised.data_ptr<float>() + normalised.numel());
  const std::string alpha_name = w.layer + ".weight_quant.wgt_alpha";
  const torch::Tensor& alpha = conv->weight_quant->wgt_alpha;
  if (alpha.defined() && alpha.numel() == 1 && std::find(missing.begin(), missing.end(), alpha_name) == missing.end()) {
    w.learned_alpha = alpha.item<double>();
  }
  return w;
}

// Draws one figure; a failure becomes a note in the report rather than losing the study's rows.
Figure guarded(const std::string& name, const std::string& title, const Log& log, const std::function<Figure()>& draw) {
  try {
    return draw();
  } catch (const std::exception& e) {
    log(fmt::format("figure {} not drawn: {}", name, e.what()));
    return missing_figure(name, title, fmt::format("drawing it failed: {}", e.what()));
  }
}

std::vector<Figure> draw_figures(const StudyPlan& plan, const std::vector<RowResult>& results, const std::string& terminal,
                                 const Log& log) {
  const std::string out = plan.options.out_dir;
  const FigureContext context{out + "/figures", terminal};
  auto finished = [&](const std::string& name) {
    const RowResult* r = find_result(results, name);
    return r && r->trained();
  };
  qat::QuantConfig apot4;
  apot4.weight_bits = apot4.act_bits = 4;
  std::vector<Figure> figures;
  figures.push_back(guarded("level-sets", "Level sets (Fig. 2)", log, [&] { return draw_level_sets(context); }));

  const std::string density_title = "Weight density before and after weight normalisation (Fig. 1 and 5)";
  if (finished("fp32")) {
    figures.push_back(guarded("weight-density", density_title, log, [&] {
      return draw_weight_density(context, layer_weights(plan, row_files(out, "fp32").model(), apot4));
    }));
  } else {
    figures.push_back(missing_figure("weight-density", density_title, "it needs the fp32 row, which this study has not finished"));
  }

  const std::string clip_title = "Clipping ratio against alpha (Fig. 4a)";
  if (finished("apot4")) {
    figures.push_back(guarded("clipping-ratio", clip_title, log, [&] {
      const qat::QuantConfig& q = plan.row("apot4").quant;
      return draw_clipping_ratio(context, layer_weights(plan, row_files(out, "apot4").model(), q),
                                 LevelSet::make(q.weight_scheme(), q.weight_bits, q.k, /*is_signed=*/true));
    }));
  } else {
    figures.push_back(missing_figure("clipping-ratio", clip_title, "it needs the apot4 row, which this study has not finished"));
  }

  std::vector<TrainingCurve> curves;
  for (const StudyRow& row : plan.rows) {
    const RowFiles files = row_files(out, row.name);
    if (fs::exists(files.metrics())) curves.push_back({row.name, row.quant.weight_bits, train::read_metrics(files.metrics())});
  }
  figures.push_back(guarded("training-curves", "Training curves", log, [&] { return draw_training_curves(context, curves); }));
  return figures;
}

Log prefixed(const Log& log, const std::string& prefix) {
  return [log, prefix](const std::string& line) { log(fmt::format("[{}] {}", prefix, line)); };
}

data::ImageSet load_split(const StudyPlan& plan, bool train) {
  const StudyOptions& o = plan.options;
  data::ImageSet set;
  try {
    set = data::load_dataset(o.dataset, o.data_dir, train);
  } catch (const std::exception& e) {
    if (o.dataset == "cifar10") {
      throw std::runtime_error(fmt::format(
          "the study on CIFAR-10 needs its binary files data_batch_1.bin .. data_batch_5.bin and test_batch.bin "
          "(cifar-10-binary.tar.gz, unpacked) in --data-dir: {}",
          e.what()));
    }
    throw std::runtime_error(fmt::format("the study's dataset {} cannot be read: {}", o.dataset, e.what()));
  }
  const size_t limit = train ? o.train_limit : o.test_limit;
  return limit ? data::subset(set, 0, limit) : set;
}

}  // namespace

StudyOutcome run_study(const StudyPlan& plan, const std::string& command, const Log& log) {
  const auto start = Clock::now();
  const StudyOptions& o = plan.options;
  // What would stop the study after hours of training is checked before the first row.
  const data::ImageSet calibration = data::subset(load_split(plan, /*train=*/true), 0, deploy::kCalibrationImages);
  const data::ImageSet test = load_split(plan, /*train=*/false);
  const std::string terminal = gnuplot_png_terminal();

  fs::create_directories(o.out_dir);
  claim_settings(o.out_dir + "/study.json", study_settings(plan), "the study in " + o.out_dir);
  std::vector<Invocation> invocations = read_invocations(o.out_dir);
  invocations.push_back(Invocation{command, utc_now(), std::nullopt, {}});
  write_invocations(o.out_dir, invocations);

  StudyOutcome outcome;
  for (const StudyRow& row : plan.rows) {
    const RowFiles files = row_files(o.out_dir, row.name);
    const RowState state = row_state(files, row.hyper.epochs);
    const Log row_log = prefixed(log, row.name);
    if (state == RowState::Finished) {
      claim_settings(files.settings(), row_settings(plan, row), "row " + row.name);
      outcome.results.push_back(read_row_result(files.result()));
      outcome.skipped.push_back(row.name);
      row_log(fmt::format("finished earlier: skipped (fake-quant {}, integer {})", outcome.results.back().accuracy_text(),
                          outcome.results.back().integer_text()));
      continue;
    }
    const RowResult* start_row = find_result(outcome.results, row.init_from);
    if (start_row && !start_row->trained()) {
      // Not written to disk: once the row it starts from trains, this one will too.
      RowResult r = describe_row(plan, row);
      r.failure = fmt::format("not trained: it starts from {}, whose training failed", row.init_from);
      r.integer_note = "n/a (not trained)";
      row_log(r.failure);
      outcome.results.push_back(r);
      continue;
    }
    row_log(fmt::format("{}: {} for {} epochs{}", to_string(state), row.label, row.hyper.epochs,
                        row.init_from.empty() ? "" : ", starting from " + row.init_from));
    outcome.results.push_back(run_row(plan, row, files, state, test, calibration, row_log));
    const RowResult& r = outcome.results.back();
    if (r.trained()) {
      row_log(fmt::format("done: fake-quant {}%, integer {}, {:.3f} MB, {:.1f} M FixOPs, {:.0f} s", r.accuracy_text(),
                          r.integer_text(), r.size_mb, r.fixops / 1e6, r.wall_seconds()));
    }
    outcome.trained.push_back(row.name);
    invocations.back().trained = outcome.trained;
    write_invocations(o.out_dir, invocations);
    write_results(o.out_dir, outcome.results);
  }
  write_results(o.out_dir, outcome.results);

  outcome.figures = draw_figures(plan, outcome.results, terminal, log);
  outcome.seconds = seconds_since(start);
  invocations.back().seconds = outcome.seconds;
  write_invocations(o.out_dir, invocations);
  outcome.report = o.out_dir + "/report.md";
  write_file_atomically(outcome.report, report_markdown(ReportInput{&plan, outcome.results, outcome.figures, invocations}));
  std::string failed;
  for (const RowResult& r : outcome.results) {
    if (!r.trained()) failed += (failed.empty() ? "" : ", ") + r.name;
  }
  log(fmt::format("report: {} ({} rows trained, {} skipped{}, {:.0f} s)", outcome.report, outcome.trained.size(),
                  outcome.skipped.size(), failed.empty() ? "" : "; without accuracy: " + failed, outcome.seconds));
  return outcome;
}

}  // namespace apot::study
