// A module's state_dict (parameters and buffers, PyTorch's names and order) and strict loading with
// errors that name the entry.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/torch_io.h"

namespace apot::models {

StateDict state_dict_of(const torch::nn::Module& module);

enum class MissingEntries {
  Error,                   // strict, like PyTorch's load_state_dict
  AllowQuantizerState,     // progressive initialisation and post-training quantisation: thresholds, Lloyd
                           // levels and adder quantisation state may be absent
};

// Prints a torch file reader's notes (what it chose, ignored or converted) on stderr, one line each.
void print_notes(const std::vector<std::string>& notes);

// Copies every entry into the module. Errors name `source`, the entry and the expected shape: missing,
// unexpected or mis-shaped entries, non-finite values. Returns the names of the missing entries that
// MissingEntries::AllowQuantizerState let through.
std::vector<std::string> load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source,
                                         MissingEntries missing = MissingEntries::Error);

}  // namespace apot::models
