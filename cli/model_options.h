// The option groups that say which network to build and what it reads, shared by the commands; single
// flags several commands take are in cli/shared_flags.h.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "models/network.h"
#include "models/torch_io.h"

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
  // `base` with only the options given on the command line applied over it, as quant_config() applies
  // them: what the flags say of a recorded configuration.
  qat::QuantConfig given_over(const qat::QuantConfig& base) const;
  bool given(const std::string& flag) const;

 private:
  std::map<std::string, CLI::Option*> options_;  // by flag name, to tell given options from defaults
};

// A checkpoint to read (--checkpoint, or train's --init) and --checkpoint-key, the entry of a checkpoint dict
// that holds the weights (default: the file's state_dict, found as models/torch_io.h says).
struct CheckpointFlags {
  std::string path, key;
  bool force_config = false;  // build the network from the flags even where the checkpoint records another
  void add_to(CLI::App& command, const std::string& flag, const std::string& help, bool required = true);
};

// Which dataset a command reads (or takes the input shape and normalisation from).
struct DataFlags {
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  void add_to(CLI::App& command);
  // The recorded dataset where --dataset was not given.
  void default_to(const std::optional<models::NetworkRecord>& record);

 private:
  CLI::Option* dataset_option_ = nullptr;
};

// A checkpoint read, and the network configuration it is read into: the checkpoint's record where it
// has one (options that contradict it are an error naming both, unless --force-config), else the flags.
struct CheckpointNetwork {
  models::Checkpoint checkpoint;
  std::string arch;
  qat::QuantConfig quant;
  std::string path;
  // The network with the checkpoint's weights, for data of `in_channels` channels and `num_classes`
  // classes (errors say when the checkpoint's network takes other data).
  std::shared_ptr<models::Network> build(int64_t in_channels, int64_t num_classes) const;
};
CheckpointNetwork read_checkpoint_network(const ModelFlags& model, const CheckpointFlags& checkpoint);

// The network the flags describe, shaped for the dataset's images and classes, with initial weights
// drawn from `seed`.
std::shared_ptr<models::Network> build_network(const ModelFlags& flags, const std::string& dataset, uint64_t seed = 0);

// Counts (images, epochs, workers, ...): a whole number >= 1. Leaving the option out means all or its default.
const CLI::Validator& at_least_one();

// LibTorch starts with one thread here: use all cores unless told otherwise.
void set_threads(int threads);
// The thread count for --threads: all cores for 0, at most the cores there are (saying so once).
int thread_count(int threads);
// All cores: the thread count when --threads is not given.
int default_threads();

}  // namespace apot::cli
