// The options that say which network to build, shared by train, eval, predict and bench.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "models/network.h"

namespace apot::cli {

struct ModelFlags {
  std::string arch = "resnet20";
  int bits = 32;
  int act_bits = 0;  // 0: the same as bits
  std::string scheme = "apot";
  std::string act_scheme;
  std::string quantizer = "rcf";
  int k = 2;
  bool no_rcf = false, no_wn = false, per_channel = false, reference_compat = false;
  int threads = 0;  // 0: all cores

  void add_to(CLI::App& command, bool with_bits = true);
  // The network's quantisation, validated (errors name the flag).
  qat::QuantConfig quant_config() const;
  qat::QuantConfig quant_config(int weight_bits, int act_bits) const;
};

// A checkpoint to read (--checkpoint, or train's --init) and --checkpoint-key, the entry of a checkpoint dict
// that holds the weights (default: the file's state_dict, found as models/torch_io.h says).
struct CheckpointFlags {
  std::string path, key;
  void add_to(CLI::App& command, const std::string& flag, const std::string& help, bool required = true);
};

// Which dataset a command reads (or takes the input shape and normalisation from).
struct DataFlags {
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  void add_to(CLI::App& command);
};

// The network the flags describe, shaped for the dataset's images and classes, with initial weights
// drawn from `seed`.
std::shared_ptr<models::Network> build_network(const ModelFlags& flags, const std::string& dataset, uint64_t seed = 0);

// LibTorch starts with one thread here: use all cores unless told otherwise.
void set_threads(int threads);
// All cores: the thread count when --threads is not given.
int default_threads();

}  // namespace apot::cli
