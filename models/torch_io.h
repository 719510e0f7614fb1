// Files that PyTorch reads and writes. Reading goes through models/torch_file (every file torch.save
// writes: zip or legacy, plain dicts, OrderedDicts, checkpoint dicts, pickled modules); writing uses
// LibTorch's pickler (zip, a plain dict, which torch.load reads), atomically.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

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

// One tensor saved by torch.save(tensor), as read_state_dict converts it.
torch::Tensor read_tensor(const std::string& path);
void write_tensor(const torch::Tensor& tensor, const std::string& path);

}  // namespace apot::models
