// Files that PyTorch reads and writes. Reading goes through models/torch_file (every file torch.save
// writes: zip or legacy, plain dicts, OrderedDicts, checkpoint dicts, pickled modules); writing uses
// LibTorch's pickler (zip, a plain dict, which torch.load reads), atomically.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "models/network.h"

namespace apot::models {

// Name -> tensor, in the file's order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// The state_dict in a torch.save file: the file's dict itself, or its 'state_dict' / 'model_state_dict' /
// 'model' entry, or the entry `key` names (models/torch_file/state_dict_select.h); DataParallel's
// 'module.' prefix dropped. Floating tensors become float32, integer ones keep their type. `notes`, when
// given, receives what was chosen, ignored or converted (one line each, for the user). Errors name the
// file and what it holds instead.
StateDict read_state_dict(const std::string& path, const std::string& key = "", std::vector<std::string>* notes = nullptr);
void write_state_dict(const StateDict& state, const std::string& path);

// apot's own checkpoint (a training run's model.pt): one dict, written atomically, that torch.load reads:
//   'state_dict'  the weights, as Module.state_dict() names them;
//   'apot'        what network they belong to: arch, dataset, in_channels, num_classes and the
//                 quantisation (QuantConfig::record()), each a string;
//   'train_state' for --resume: 'epoch' (the epochs done), 'momentum' (name -> tensor), 'metrics'
//                 (metrics.csv's text): always of the same epoch as the weights.
struct NetworkRecord {
  std::string arch, dataset;
  NetworkOptions options;
};
struct TrainState {
  int64_t epoch = 0;
  StateDict momentum;
  std::string metrics_csv;
};
struct Checkpoint {
  StateDict weights;
  std::optional<NetworkRecord> network;  // absent in other tools' files
  std::optional<TrainState> train;
};
// Reads any file read_state_dict reads; `network` and `train` where the file records them (the reader's
// notes on which entries it chose are then left out: the file is apot's own).
Checkpoint read_checkpoint(const std::string& path, const std::string& key = "", std::vector<std::string>* notes = nullptr);
void write_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// One tensor saved by torch.save(tensor), as read_state_dict converts it.
torch::Tensor read_tensor(const std::string& path);
void write_tensor(const torch::Tensor& tensor, const std::string& path);

}  // namespace apot::models
