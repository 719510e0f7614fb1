// Which tensors of a torch.save file are the model's state_dict: the file's dict itself when its values
// are tensors; else its 'state_dict', 'model_state_dict' or 'model' entry (checkpoint dicts, as training
// scripts save them), or the entry a user names; a whole pickled nn.Module (torch.save(model)) gives its
// parameters and persistent buffers under PyTorch's names. DataParallel's 'module.' prefix, on every key,
// is dropped.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "models/torch_file/torch_file.h"

namespace apot::models::torch_file {

struct StateDictSelection {
  std::vector<std::pair<std::string, const Tensor*>> tensors;  // in the file's order
  std::vector<std::string> notes;  // what was chosen, ignored or renamed: for the user, once
};

// `key`: the entry to read ("" chooses as above). Errors name the file and what it holds instead.
StateDictSelection select_state_dict(const TorchFile& file, const std::string& key);

}  // namespace apot::models::torch_file
