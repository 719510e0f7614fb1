// Files that PyTorch reads and writes: torch.save / torch.load of tensors and state_dicts (the zip
// format of PyTorch >= 1.6). Written atomically.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace apot::models {

// Name -> tensor, in the file's order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// A state_dict saved by torch.save: a plain dict or the OrderedDict of model.state_dict(), possibly
// wrapped in a checkpoint dict under "state_dict" (as the reference's .pth.tar files); DataParallel's
// "module." prefix is dropped. Errors name the file and what is wrong with it.
StateDict read_state_dict(const std::string& path);
void write_state_dict(const StateDict& state, const std::string& path);

// One tensor saved by torch.save(tensor).
torch::Tensor read_tensor(const std::string& path);
void write_tensor(const torch::Tensor& tensor, const std::string& path);

}  // namespace apot::models
