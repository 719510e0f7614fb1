#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/datasets.h"
#include "models/state_dict.h"
#include "models/torch_io.h"
#include "train/progress.h"
#include "train/sgd.h"

namespace apot::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool is_alpha(const std::string& name) {
  return name.size() >= 9 && (name.compare(name.size() - 9, 9, "act_alpha") == 0 || name.compare(name.size() - 9, 9, "wgt_alpha") == 0);
}

double lr_factor(LrSchedule schedule, int epoch, int epochs) {
  if (schedule == LrSchedule::Cosine) return 0.5 * (1 + std::cos(M_PI * epoch / epochs));
  // Step: x0.1 at half and at three quarters of the run (the reference's 150 / 225 of 300).
  return epoch < epochs / 2 ? 1.0 : epoch < epochs * 3 / 4 ? 0.1 : 0.01;
}

data::ImageSet load_split(const TrainOptions& o, bool train) {
  data::ImageSet set = data::load_dataset(o.dataset, o.data_dir, train);
  const size_t limit = train ? o.train_limit : o.test_limit;
  return limit ? data::subset(set, 0, limit) : set;
}

// One batch as tensors, filled by the data layer.
struct Batch {
  torch::Tensor images, labels;
};

Batch make_batch(const data::ImageSet& set, const std::vector<size_t>& indices, size_t begin, size_t count,
                 const data::Normalization& norm, const data::AugmentOptions& augment, uint64_t augment_seed) {
  Batch b{torch::empty({static_cast<int64_t>(count), set.channels, set.height, set.width}),
          torch::empty({static_cast<int64_t>(count)}, torch::kLong)};
  data::fill_batch(set, indices, begin, count, norm, augment, augment_seed, b.images.data_ptr<float>(),
                   b.labels.data_ptr<int64_t>());
  return b;
}

const char* kMetricsHeader = "epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds";

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::string csv = std::string(kMetricsHeader) + "\n";
  for (const EpochMetrics& m : rows) {
    csv += fmt::format("{},{:.6g},{:.6f},{:.4f},{:.6f},{:.4f},{:.2f}\n", m.epoch, m.lr, m.train_loss, m.train_accuracy,
                       m.test_loss, m.test_accuracy, m.seconds);
  }
  return csv;
}

std::vector<EpochMetrics> read_metrics(const std::string& path, int epochs_done) {
  std::vector<EpochMetrics> rows;
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && static_cast<int>(rows.size()) < epochs_done) {
    EpochMetrics m;
    char comma;
    std::istringstream fields(line);
    fields >> m.epoch >> comma >> m.lr >> comma >> m.train_loss >> comma >> m.train_accuracy >> comma >> m.test_loss >>
        comma >> m.test_accuracy >> comma >> m.seconds;
    if (!fields) throw std::runtime_error(fmt::format("{}: malformed line '{}'", path, line));
    rows.push_back(m);
  }
  return rows;
}

void check_shapes(const models::Network& net, const data::ImageSet& set, const std::string& dataset) {
  if (set.channels != net.options().in_channels || set.num_classes > net.options().num_classes) {
    throw std::invalid_argument(fmt::format("{} has {} channels and {} classes; the network takes {} and {}", dataset,
                                            set.channels, set.num_classes, net.options().in_channels,
                                            net.options().num_classes));
  }
}

}  // namespace

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "step") return LrSchedule::Step;
  if (name == "cosine") return LrSchedule::Cosine;
  throw std::invalid_argument(fmt::format("unknown learning-rate schedule '{}': expected step or cosine", name));
}

EvalResult evaluate(models::Network& net, const data::ImageSet& set, const data::Normalization& norm, int batch_size) {
  torch::NoGradGuard no_grad;
  net.eval();
  std::vector<size_t> order(set.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  double loss_sum = 0;
  int64_t correct = 0;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t count = std::min(order.size() - begin, static_cast<size_t>(batch_size));
    const Batch b = make_batch(set, order, begin, count, norm, {}, 0);
    const torch::Tensor logits = net.forward(b.images);
    loss_sum += torch::cross_entropy_loss(logits, b.labels, {}, at::Reduction::Sum).item<double>();
    correct += logits.argmax(1).eq(b.labels).sum().item<int64_t>();
  }
  EvalResult r;
  r.images = set.size();
  r.loss = r.images ? loss_sum / static_cast<double>(r.images) : 0;
  r.accuracy = r.images ? 100.0 * static_cast<double>(correct) / static_cast<double>(r.images) : 0;
  return r;
}

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
  if (o.epochs < 1 || o.batch_size < 1) throw std::invalid_argument("--epochs and --batch-size must be >= 1");
  if (!(o.lr > 0) || !(o.alpha_lr >= 0) || !(o.weight_decay >= 0) || !(o.alpha_weight_decay >= 0)) {
    throw std::invalid_argument("learning rates must be > 0 (alpha: >= 0) and weight decays >= 0");
  }
  const auto start = Clock::now();
  const data::ImageSet train_set = load_split(o, true);
  const data::ImageSet test_set = load_split(o, false);
  check_shapes(net, train_set, o.dataset);
  const data::Normalization norm = data::default_normalization(o.dataset);
  const data::AugmentOptions augment = data::default_augmentation(o.dataset);
  std::filesystem::create_directories(o.out_dir);
  const std::string model_path = o.out_dir + "/model.pt";
  const std::string state_path = o.out_dir + "/train_state.pt";
  const std::string metrics_path = o.out_dir + "/metrics.csv";

  if (!o.init_checkpoint.empty()) {
    // Progressive initialisation: weights (and thresholds, where the checkpoint has them) of another
    // precision; the quantisers derive the rest from the loaded weights.
    const models::StateDict init = models::read_state_dict(o.init_checkpoint);
    const auto missing = models::load_state_dict(net, init, o.init_checkpoint, models::MissingEntries::AllowQuantizerState);
    if (!missing.empty()) {
      net.init_quantizers();
      models::load_state_dict(net, init, o.init_checkpoint, models::MissingEntries::AllowQuantizerState);
      log(fmt::format("initialised from {} ({} quantiser entries derived from its weights)", o.init_checkpoint, missing.size()));
    } else {
      log(fmt::format("initialised from {}", o.init_checkpoint));
    }
  }

  std::vector<MomentumSgd::Group> groups(2);
  groups[0].lr = o.lr;
  groups[0].weight_decay = o.weight_decay;
  groups[1].lr = o.alpha_lr;
  groups[1].weight_decay = o.alpha_weight_decay;
  for (const auto& p : net.named_parameters()) groups[is_alpha(p.key()) ? 1 : 0].params.emplace_back(p.key(), p.value());
  MomentumSgd sgd(groups, o.momentum);

  TrainResult result;
  result.checkpoint = model_path;
  int first_epoch = 0;
  if (o.resume) {
    models::load_state_dict(net, models::read_state_dict(model_path), model_path);
    models::StateDict state = models::read_state_dict(state_path);
    torch::Tensor epoch_tensor;
    models::StateDict momentum;
    for (auto& [name, t] : state) {
      if (name == "epoch") {
        epoch_tensor = t;
      } else {
        momentum.emplace_back(name, t);
      }
    }
    if (!epoch_tensor.defined()) throw std::runtime_error(fmt::format("{}: no 'epoch' entry", state_path));
    first_epoch = static_cast<int>(epoch_tensor.item<int64_t>());
    sgd.load_state(momentum, state_path);
    result.epochs = read_metrics(metrics_path, first_epoch);
    log(fmt::format("resuming after epoch {} of {} from {}", first_epoch, o.epochs, model_path));
  }

  const data::BatchSampler sampler(train_set.size(), static_cast<size_t>(o.batch_size), /*shuffle=*/true, o.seed);
  Progress progress(o.progress_bar);
  const int last_epoch = o.epochs_this_run > 0 ? std::min(o.epochs, first_epoch + o.epochs_this_run) : o.epochs;
  for (int epoch = first_epoch; epoch < last_epoch; ++epoch) {
    const auto epoch_start = Clock::now();
    sgd.set_lr_factor(lr_factor(o.lr_schedule, epoch, o.epochs));
    net.train();
    const std::vector<size_t> indices = sampler.epoch_indices(epoch);
    const size_t batches = sampler.num_batches(epoch);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (size_t b = 0; b < batches; ++b) {
      const size_t begin = b * sampler.batch_size();
      const size_t count = std::min(sampler.batch_size(), indices.size() - begin);
      const Batch batch = make_batch(train_set, indices, begin, count, norm, augment, data::mix_seed(o.seed, static_cast<uint64_t>(epoch)));
      sgd.zero_grad();
      const torch::Tensor logits = net.forward(batch.images);
      const torch::Tensor loss = torch::cross_entropy_loss(logits, batch.labels);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw std::runtime_error(fmt::format(
            "the loss became {} at epoch {}, batch {}: training stopped; the last good checkpoint is {} "
            "(try a lower --lr or --alpha-lr)",
            loss_value, epoch + 1, b + 1, result.epochs.empty() && !o.resume ? "(none yet)" : model_path));
      }
      loss.backward();
      sgd.step();
      loss_sum += loss_value * static_cast<double>(count);
      correct += logits.detach().argmax(1).eq(batch.labels).sum().item<int64_t>();
      seen += static_cast<int64_t>(count);
      progress.update(epoch + 1, o.epochs, b + 1, batches, loss_sum / static_cast<double>(seen),
                      100.0 * static_cast<double>(correct) / static_cast<double>(seen), seconds_since(epoch_start));
    }
    const EvalResult test = evaluate(net, test_set, norm);
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
    log(fmt::format("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} acc {:.2f}%  {:.1f}s", m.epoch,
                    o.epochs, m.lr, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy, m.seconds));

    // The checkpoint: model first, then the state that says which epoch it is, each atomically.
    models::write_state_dict(models::state_dict_of(net), model_path);
    models::StateDict state = sgd.state();
    state.emplace_back("epoch", torch::tensor(static_cast<int64_t>(epoch + 1)));
    models::write_state_dict(state, state_path);
    write_file_atomically(metrics_path, metrics_csv(result.epochs));
  }
  result.wall_seconds = seconds_since(start);

  nlohmann::json summary;
  summary["arch"] = net.arch();
  summary["quantization"] = net.options().quant.describe();
  summary["weight_bits"] = net.options().quant.weight_bits;
  summary["act_bits"] = net.options().quant.act_bits;
  summary["dataset"] = o.dataset;
  summary["epochs"] = o.epochs;
  summary["test_accuracy"] = result.epochs.empty() ? 0.0 : result.epochs.back().test_accuracy;
  summary["wall_seconds_this_run"] = result.wall_seconds;
  double total_seconds = 0;
  for (const auto& m : result.epochs) total_seconds += m.seconds;
  summary["train_seconds_all_epochs"] = total_seconds;
  nlohmann::json alphas = nlohmann::json::object();
  for (const auto& [name, values] : learned_alphas(net)) alphas[name] = values.size() == 1 ? nlohmann::json(values[0]) : nlohmann::json(values);
  summary["alphas"] = alphas;
  write_file_atomically(o.out_dir + "/summary.json", summary.dump(2) + "\n");
  return result;
}

}  // namespace apot::train
