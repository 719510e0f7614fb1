#include "train/trainer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/datasets.h"
#include "models/state_dict.h"
#include "models/sync_batch_norm.h"
#include "models/torch_io.h"
#include "qat/adder2d.h"
#include "train/batch.h"
#include "train/gradient_averager.h"
#include "train/process_group.h"
#include "train/progress.h"
#include "train/sgd.h"

namespace apot::train {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kWeightAlphaGroup = 1;  // the optimiser's group of weight thresholds

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool ends_with(const std::string& name, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
}
bool is_alpha(const std::string& name) { return ends_with(name, "act_alpha") || ends_with(name, "wgt_alpha"); }

double lr_factor(const TrainOptions& o, int epoch) {
  if (o.lr_schedule == LrSchedule::Cosine) return 0.5 * (1 + std::cos(M_PI * epoch / o.epochs));
  // Step: x0.1 at each milestone; by default at half and at three quarters of the run (the reference's
  // 150 / 225 of 300).
  const std::vector<int> milestones = o.lr_milestones.empty() ? std::vector<int>{o.epochs / 2, o.epochs * 3 / 4} : o.lr_milestones;
  double factor = 1;
  for (int m : milestones) factor *= m >= 1 && epoch >= m ? 0.1 : 1.0;  // a run too short for a default one has none
  return factor;
}

data::ImageSet load_split(const TrainOptions& o, bool train) {
  data::ImageSet set = data::load_dataset(o.dataset, o.data_dir, train);
  const size_t limit = train ? o.train_limit : o.test_limit;
  return limit ? data::subset(set, 0, limit) : set;
}

void check_shapes(const models::Network& net, const data::ImageSet& set, const std::string& dataset) {
  if (set.channels != net.options().in_channels || set.num_classes > net.options().num_classes) {
    throw std::invalid_argument(fmt::format("{} has {} channels and {} classes; the network takes {} and {}", dataset,
                                            set.channels, set.num_classes, net.options().in_channels,
                                            net.options().num_classes));
  }
}

struct StepStats {
  double loss_sum = 0, correct = 0, count = 0;
};

StepStats sum_over_ranks(const StepStats& s, ProcessGroup& group) {
  const std::vector<double> sums = group.all_reduce_sum(std::vector<double>{s.loss_sum, s.correct, s.count});
  return {sums[0], sums[1], sums[2]};
}

// Every rank starts from rank 0's parameters and buffers: its initialisation or checkpoint, whatever the
// other ranks' random initialisation drew.
void broadcast_from_rank0(models::Network& net, ProcessGroup& group) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net.named_parameters()) {
    std::vector<torch::Tensor> t{p.value().data()};
    group.broadcast(t, 0);
  }
  for (const auto& b : net.named_buffers()) {
    std::vector<torch::Tensor> t{b.value()};
    group.broadcast(t, 0);
  }
}

// Batch norm over every rank's batch while training runs; per-process again afterwards (the group may
// not outlive the run), also when training stops with an exception.
class BatchNormSync {
 public:
  BatchNormSync(models::Network& net, ProcessGroup* group) : net_(net) {
    if (group) models::synchronise_batch_norms(net_, group->replica_sum());
  }
  ~BatchNormSync() { models::synchronise_batch_norms(net_, nullptr); }
  BatchNormSync(const BatchNormSync&) = delete;
  BatchNormSync& operator=(const BatchNormSync&) = delete;

 private:
  models::Network& net_;
};

// The forward pass; where a quantiser rejects its clipping threshold (the projection needs alpha > 0),
// the error says which thresholds went bad and when: the projection itself does not know its layer.
torch::Tensor forward_naming_bad_thresholds(models::Network& net, const torch::Tensor& images, int epoch, size_t batch) {
  try {
    return net.forward(images);
  } catch (const std::invalid_argument& e) {
    std::vector<std::string> bad;
    for (const auto& [name, values] : learned_alphas(net)) {
      for (float v : values) {
        if (!(v > 0) || !std::isfinite(v)) {
          bad.push_back(fmt::format("{} = {}", name, v));
          break;
        }
      }
    }
    if (bad.empty()) throw;
    throw std::runtime_error(fmt::format("{} at epoch {}, batch {}: {} (try a lower --alpha-lr)", e.what(), epoch + 1, batch + 1,
                                         fmt::join(bad, ", ")));
  }
}

// What a diverging run most likely needs, with the values it ran with.
std::string diverged_hint(const TrainOptions& o) {
  return fmt::format("--lr {} and --alpha-lr {} are likely too high: try lower ones", o.lr, o.alpha_lr);
}

// --resume continues the same network on the same data, or nothing.
void check_same_run(const models::NetworkRecord& recorded, const models::NetworkRecord& now, const std::string& path) {
  std::vector<std::string> differences;
  if (recorded.arch != now.arch) differences.push_back(fmt::format("arch {} (flags: {})", recorded.arch, now.arch));
  if (recorded.dataset != now.dataset) differences.push_back(fmt::format("dataset {} (flags: {})", recorded.dataset, now.dataset));
  for (const auto& [field, was, is] : recorded.options.quant.differences(now.options.quant)) {
    differences.push_back(fmt::format("{} {} (flags: {})", field, was, is));
  }
  if (!differences.empty()) {
    throw std::invalid_argument(fmt::format("--resume: {} was trained as {} {} on {}; the flags ask for another run: {} (give the "
                                            "run's own flags, or start a new run in another --out)", path, recorded.arch,
                                            recorded.options.quant.describe(), recorded.dataset, fmt::join(differences, ", ")));
  }
}

// The run's folder: it refuses to replace a run there unless resuming or told to overwrite, finds out
// before any training that it can write there, and goes again if the run created it and fails before
// its first checkpoint. Only the rank that writes files checks.
class RunFolder {
 public:
  RunFolder(const TrainOptions& o, bool writer) : dir_(o.out_dir) {
    namespace fs = std::filesystem;
    if (!writer) return;
    std::error_code error;
    const bool exists = fs::exists(dir_, error);
    if (exists && !fs::is_directory(dir_)) throw std::invalid_argument(fmt::format("--out {}: a file, not a folder", dir_));
    std::vector<std::string> run_files;
    for (const std::string& file : {model(), metrics(), summary(), dir_ + "/train_state.pt"}) {
      if (fs::exists(file, error)) run_files.push_back(fs::path(file).filename().string());
    }
    if (o.resume && !fs::exists(model(), error)) {
      throw std::invalid_argument(fmt::format("--resume: {} has no checkpoint (model.pt) to continue from", dir_));
    }
    if (!o.resume && !run_files.empty()) {
      if (!o.overwrite) {
        throw std::invalid_argument(fmt::format("--out {} holds a training run ({}): --resume continues it, --overwrite "
                                                "replaces it, or give another --out", dir_, fmt::join(run_files, ", ")));
      }
      for (const std::string& file : run_files) fs::remove(dir_ + "/" + file);
    }
    if (!exists) {
      fs::create_directories(dir_, error);
      if (error) throw std::invalid_argument(fmt::format("--out {}: cannot create the folder: {}", dir_, error.message()));
      created_ = true;
    }
    const std::string probe = dir_ + "/.apot-write-test";
    if (!std::ofstream(probe)) {
      remove_if_created();
      throw std::invalid_argument(fmt::format("--out {}: cannot write there: {}", dir_, std::strerror(errno)));
    }
    fs::remove(probe, error);
  }
  ~RunFolder() { remove_if_created(); }
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  std::string model() const { return dir_ + "/model.pt"; }
  std::string metrics() const { return dir_ + "/metrics.csv"; }
  std::string summary() const { return dir_ + "/summary.json"; }

 private:
  void remove_if_created() const {
    std::error_code error;
    if (created_ && std::filesystem::is_empty(dir_, error)) std::filesystem::remove(dir_, error);
  }

  std::string dir_;
  bool created_ = false;
};

}  // namespace

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "step") return LrSchedule::Step;
  if (name == "cosine") return LrSchedule::Cosine;
  throw std::invalid_argument(fmt::format("unknown learning-rate schedule '{}': expected step or cosine", name));
}

EvalResult evaluate(models::Network& net, const data::ImageSet& set, const data::Normalization& norm, int batch_size,
                    ProcessGroup* group) {
  torch::NoGradGuard no_grad;
  net.eval();
  const size_t rank = group ? static_cast<size_t>(group->rank()) : 0;
  const size_t stride = group ? static_cast<size_t>(group->world_size()) : 1;
  std::vector<size_t> order;
  for (size_t i = rank; i < set.size(); i += stride) order.push_back(i);
  double loss_sum = 0;
  int64_t correct = 0;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t count = std::min(order.size() - begin, static_cast<size_t>(batch_size));
    const Batch b = make_batch(set, order, begin, count, norm, {}, 0);
    const torch::Tensor logits = net.forward(b.images);
    loss_sum += torch::cross_entropy_loss(logits, b.labels, {}, at::Reduction::Sum).item<double>();
    correct += logits.argmax(1).eq(b.labels).sum().item<int64_t>();
  }
  if (group) {
    const std::vector<double> sums = group->all_reduce_sum(std::vector<double>{loss_sum, static_cast<double>(correct)});
    loss_sum = sums[0];
    correct = static_cast<int64_t>(sums[1]);
  }
  EvalResult r;
  r.images = set.size();
  r.loss = r.images ? loss_sum / static_cast<double>(r.images) : 0;
  r.accuracy = r.images ? 100.0 * static_cast<double>(correct) / static_cast<double>(r.images) : 0;
  return r;
}

std::vector<std::string> load_initialisation(models::Network& net, const std::string& checkpoint, const std::string& key) {
  // Weights (and thresholds, where the checkpoint has them) first, then the quantisers' derived state
  // from those weights, then the checkpoint's thresholds again over the derived ones.
  std::vector<std::string> notes;
  const models::StateDict init = models::read_state_dict(checkpoint, key, &notes);
  models::print_notes(notes);
  const auto missing = models::load_state_dict(net, init, checkpoint, models::MissingEntries::AllowQuantizerState);
  if (!missing.empty()) {
    net.init_quantizers();
    models::load_state_dict(net, init, checkpoint, models::MissingEntries::AllowQuantizerState);
  }
  return missing;
}

namespace {

// Fits the learned thresholds (TrainOptions::fit_thresholds) and says what they became.
std::string fit_thresholds(models::Network& net, const data::ImageSet& train_set, const data::Normalization& norm) {
  const size_t count = std::min(kCalibrationImages, train_set.size());
  std::vector<size_t> first(count);
  std::iota(first.begin(), first.end(), size_t{0});
  const std::vector<std::string> fitted = net.fit_thresholds(make_batch(train_set, first, 0, count, norm, {}, 0).images);
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  int n[2] = {0, 0};
  for (const auto& [name, values] : learned_alphas(net)) {
    if (std::find(fitted.begin(), fitted.end(), name) == fitted.end()) continue;
    const int kind = ends_with(name, "act_alpha") ? 1 : 0;
    for (float v : values) {
      lo[kind] = std::min(lo[kind], static_cast<double>(v));
      hi[kind] = std::max(hi[kind], static_cast<double>(v));
    }
    ++n[kind];
  }
  std::string line = fmt::format("thresholds fitted by QEM (Eq. 14) on {} training images:", count);
  const char* what[2] = {"weight", "activation"};
  for (int k = 0; k < 2; ++k) {
    line += n[k] ? fmt::format(" {} {} alphas in [{:.3g}, {:.3g}];", n[k], what[k], lo[k], hi[k]) : fmt::format(" no {} alphas;", what[k]);
  }
  line.pop_back();
  return line;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<float>>> learned_alphas(models::Network& net) {
  std::vector<std::pair<std::string, std::vector<float>>> alphas;
  for (const auto& p : net.named_parameters()) {
    if (!is_alpha(p.key())) continue;
    const torch::Tensor t = p.value().detach().reshape({-1}).contiguous();
    alphas.emplace_back(p.key(), std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel()));
  }
  return alphas;
}

TrainResult train(models::Network& net, const TrainOptions& o, const std::function<void(const std::string&)>& log) {
  ProcessGroup* const group = o.group;
  const bool writer = !group || group->rank() == 0;  // rank 0 alone logs and writes files
  const auto say = [&](const std::string& line) {
    if (writer) log(line);
  };
  if (o.epochs < 1 || o.batch_size < 1) throw std::invalid_argument("--epochs and --batch-size must be >= 1");
  for (const auto& m : net.modules(/*include_self=*/false)) {
    if (auto adder = std::dynamic_pointer_cast<qat::Adder2dImpl>(m); adder && adder->quantized()) {
      throw std::invalid_argument(fmt::format("{} at {} bits is quantised after training: train it with --bits 32, then run apot ptq",
                                              net.arch(), adder->options().bits));
    }
  }
  for (int m : o.lr_milestones) {
    if (m < 1 || m >= o.epochs) throw std::invalid_argument(fmt::format("lr milestone {} is outside 1..{}", m, o.epochs - 1));
  }
  const std::pair<const char*, double> rates[] = {{"--lr", o.lr}, {"--alpha-lr", o.alpha_lr}, {"--act-alpha-lr", o.act_alpha_lr},
                                                  {"--wd", o.weight_decay}, {"--alpha-wd", o.alpha_weight_decay}};
  for (const auto& [flag, value] : rates) {
    if (!std::isfinite(value) || value < 0 || (value == 0 && std::string_view(flag) == "--lr")) {
      throw std::invalid_argument(fmt::format("{} {}: expected a finite number {}", flag, value, std::string_view(flag) == "--lr" ? "> 0" : ">= 0"));
    }
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) throw std::invalid_argument(fmt::format("--momentum {}: expected 0 <= momentum < 1", o.momentum));
  const data::AugmentOptions augment = data::parse_augmentation(o.augment, o.dataset);  // a bad spec fails before loading
  const auto start = Clock::now();
  const RunFolder folder(o, writer);
  const data::ImageSet train_set = load_split(o, true);
  const data::ImageSet test_set = load_split(o, false);
  check_shapes(net, train_set, o.dataset);
  const data::Normalization norm = data::default_normalization(o.dataset);
  const std::string model_path = folder.model(), metrics_path = folder.metrics();

  if (!o.init_checkpoint.empty()) {
    const auto missing = load_initialisation(net, o.init_checkpoint, o.init_checkpoint_key);
    say(missing.empty() ? fmt::format("initialised from {}", o.init_checkpoint)
                        : fmt::format("initialised from {} ({} quantiser entries derived from its weights)",
                                      o.init_checkpoint, missing.size()));
  }
  if (o.fit_thresholds && !o.resume) say(fit_thresholds(net, train_set, norm));

  // Weights, weight thresholds, activation thresholds (Appendix C.2 gives the last two their own lr).
  std::vector<MomentumSgd::Group> groups(3);
  static_assert(kWeightAlphaGroup == 1);
  groups[0].lr = o.lr;
  groups[0].weight_decay = o.weight_decay;
  groups[1].lr = o.alpha_lr;
  groups[2].lr = o.act_alpha_lr > 0 ? o.act_alpha_lr : o.alpha_lr;
  groups[1].weight_decay = groups[2].weight_decay = o.alpha_weight_decay;
  for (const auto& p : net.named_parameters()) {
    groups[ends_with(p.key(), "act_alpha") ? 2 : is_alpha(p.key()) ? 1 : 0].params.emplace_back(p.key(), p.value());
  }
  MomentumSgd sgd(groups, o.momentum);

  TrainResult result;
  result.checkpoint = model_path;
  int first_epoch = 0;
  const models::NetworkRecord record{net.arch(), o.dataset, net.options()};
  if (o.resume) {
    // One file holds the weights, the optimiser state, the epoch and the metrics of one epoch.
    const models::Checkpoint c = models::read_checkpoint(model_path);
    if (!c.train || !c.network) {
      throw std::runtime_error(fmt::format("--resume: {} holds no training state to continue from (a file apot train did not "
                                           "write, or one written before checkpoints recorded it)", model_path));
    }
    check_same_run(*c.network, record, model_path);
    models::load_state_dict(net, c.weights, model_path);
    first_epoch = static_cast<int>(c.train->epoch);
    sgd.load_state(c.train->momentum, model_path);
    result.epochs = parse_metrics(c.train->metrics_csv, model_path, first_epoch);
    if (static_cast<int>(result.epochs.size()) != first_epoch) {
      throw std::runtime_error(fmt::format("{}: {} epochs trained but {} rows of metrics", model_path, first_epoch, result.epochs.size()));
    }
    // metrics.csv follows the checkpoint: a run stopped between the two writes left it an epoch behind.
    if (writer) write_file_atomically(metrics_path, metrics_csv(result.epochs));
    say(fmt::format("resuming after epoch {} of {} from {}", first_epoch, o.epochs, model_path));
  }

  std::unique_ptr<GradientAverager> averager;
  BatchNormSync batch_norm_sync(net, group);
  if (group) {
    broadcast_from_rank0(net, *group);
    std::vector<torch::Tensor> params;
    for (const auto& g : groups) {
      for (const auto& p : g.params) params.push_back(p.second);
    }
    averager = std::make_unique<GradientAverager>(*group, params);
    say(fmt::format("data parallel: {} processes ({} backend), {} images per process per step, global batch {}", group->world_size(),
                    group->backend(), o.batch_size, o.batch_size * group->world_size()));
  }
  const data::BatchSampler sampler(train_set.size(), static_cast<size_t>(o.batch_size), /*shuffle=*/true, o.seed,
                                   group ? group->rank() : 0, group ? group->world_size() : 1);
  Progress progress(o.progress_bar && writer);
  const int last_epoch = o.epochs_this_run > 0 ? std::min(o.epochs, first_epoch + o.epochs_this_run) : o.epochs;
  for (int epoch = first_epoch; epoch < last_epoch; ++epoch) {
    const auto epoch_start = Clock::now();
    sgd.set_lr_factor(lr_factor(o, epoch));
    net.train();
    const std::vector<size_t> indices = sampler.epoch_indices(epoch);
    const size_t batches = sampler.num_batches(epoch);
    const double collective_seconds_before = group ? group->seconds_in_collectives() : 0;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (size_t b = 0; b < batches; ++b) {
      const size_t begin = b * sampler.batch_size();
      const size_t count = std::min(sampler.batch_size(), indices.size() - begin);
      const Batch batch = make_batch(train_set, indices, begin, count, norm, augment, data::mix_seed(o.seed, static_cast<uint64_t>(epoch)));
      sgd.zero_grad();
      const torch::Tensor logits = forward_naming_bad_thresholds(net, batch.images, epoch, b);
      const torch::Tensor loss = torch::cross_entropy_loss(logits, batch.labels);
      // Loss sum, correct and count over every rank: the logs show the global batch, and a non-finite
      // loss on any rank stops all of them at the same step.
      StepStats step{loss.item<double>() * static_cast<double>(count),
                     static_cast<double>(logits.detach().argmax(1).eq(batch.labels).sum().item<int64_t>()), static_cast<double>(count)};
      if (group) step = sum_over_ranks(step, *group);
      const double loss_value = step.loss_sum / step.count;
      if (!std::isfinite(loss_value)) {
        throw std::runtime_error(fmt::format(
            "the loss became {} at epoch {}, batch {}: training stopped; the last good checkpoint is {} ({})",
            loss_value, epoch + 1, b + 1, result.epochs.empty() && !o.resume ? "(none yet)" : model_path, diverged_hint(o)));
      }
      loss.backward();
      if (averager) averager->average();
      sgd.step();
      // Weight level sets are symmetric: alpha * Proj(W / alpha) is the same for alpha and -alpha, so
      // the reference implementation trains on through a step that drives a weight threshold below
      // zero (ternary 2-bit weights do, starting from a 3-bit threshold). The projection here needs
      // alpha > 0: mirror such a threshold, which is the same training.
      sgd.reflect_negative(kWeightAlphaGroup);
      loss_sum += step.loss_sum;
      correct += static_cast<int64_t>(step.correct);
      seen += static_cast<int64_t>(step.count);
      progress.update(epoch + 1, o.epochs, b + 1, batches, loss_sum / static_cast<double>(seen),
                      100.0 * static_cast<double>(correct) / static_cast<double>(seen), seconds_since(epoch_start));
    }
    const EvalResult test = evaluate(net, test_set, norm, /*batch_size=*/256, group);
    if (!std::isfinite(test.loss)) {
      throw std::runtime_error(fmt::format("the test loss became {} after epoch {}: training stopped; the last good checkpoint is "
                                           "{} ({})", test.loss, epoch + 1, result.epochs.empty() && !o.resume ? "(none yet)" : model_path,
                                           diverged_hint(o)));
    }
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = sgd.lr(0);
    m.train_loss = loss_sum / static_cast<double>(seen);
    m.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
    m.test_loss = test.loss;
    m.test_accuracy = test.accuracy;
    m.seconds = seconds_since(epoch_start);
    result.epochs.push_back(m);
    progress.finish();
    say(fmt::format("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} acc {:.2f}%  {:.1f}s", m.epoch,
                    o.epochs, m.lr, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy, m.seconds));
    if (group) {
      const double waited = group->seconds_in_collectives() - collective_seconds_before;
      say(fmt::format("  collectives (all-reduce, batch norm, metrics): {:.1f} s, {:.1f} % of the epoch", waited,
                      100 * waited / std::max(m.seconds, 1e-9)));
    }
    if (!writer) continue;

    // The checkpoint is one file, renamed into place whole: the weights, the optimiser state, the epoch
    // and the metrics always belong together. metrics.csv is a copy for people and plots.
    models::Checkpoint checkpoint;
    checkpoint.weights = models::state_dict_of(net);
    checkpoint.network = record;
    checkpoint.train = models::TrainState{epoch + 1, sgd.state(), metrics_csv(result.epochs)};
    models::write_checkpoint(checkpoint, model_path);
    write_file_atomically(metrics_path, metrics_csv(result.epochs));
  }
  result.wall_seconds = seconds_since(start);
  if (!writer) return result;

  nlohmann::json summary;
  summary["arch"] = net.arch();
  summary["quantization"] = net.options().quant.describe();
  summary["weight_bits"] = net.options().quant.weight_bits;
  summary["act_bits"] = net.options().quant.act_bits;
  summary["config"] = net.options().quant.record();  // every field model.pt records: k, scheme, quantisers, switches
  summary["dataset"] = o.dataset;
  summary["epochs"] = o.epochs;
  summary["processes"] = group ? group->world_size() : 1;
  summary["global_batch_size"] = o.batch_size * (group ? group->world_size() : 1);
  if (group) summary["seconds_in_collectives"] = group->seconds_in_collectives();
  summary["augmentation"] = data::augmentation_name(augment);
  summary["test_accuracy"] = result.epochs.empty() ? 0.0 : result.epochs.back().test_accuracy;
  summary["wall_seconds_this_run"] = result.wall_seconds;
  double total_seconds = 0;
  for (const auto& m : result.epochs) total_seconds += m.seconds;
  summary["train_seconds_all_epochs"] = total_seconds;
  nlohmann::json alphas = nlohmann::json::object();
  for (const auto& [name, values] : learned_alphas(net)) alphas[name] = values.size() == 1 ? nlohmann::json(values[0]) : nlohmann::json(values);
  summary["alphas"] = alphas;
  write_file_atomically(folder.summary(), summary.dump(2) + "\n");
  return result;
}

}  // namespace apot::train
