// The flags several commands take, each defined here once: one spelling, one help text, one check.
// A command that takes the concept takes it through these; an old spelling stays for one release as a
// deprecated alias (deprecated_alias) that behaves exactly as the flag it names.
#pragma once

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

#include "core/network_spec.h"

namespace apot::cli {

// --arch NAME: the network's architecture, one of models::known_architectures().
CLI::Option* add_arch_flag(CLI::App& command, std::string& arch);

// --model FILE: an exported model (.apot).
CLI::Option* add_model_file_flag(CLI::App& command, std::string& path);

// --input FILE: an N x C x H x W float tensor saved by torch.save.
CLI::Option* add_input_file_flag(CLI::App& command, std::string& path);

// --out FILE: where the N x classes logits of --input go, as a tensor torch.load opens.
CLI::Option* add_logits_out_flag(CLI::App& command, std::string& path);

// --input-shape CxHxW: the shape of one input image, for commands that make up their input.
CLI::Option* add_input_shape_flag(CLI::App& command, std::string& shape);
// The shape --input-shape gives (errors: "'TEXT': expected CxHxW ...").
InputShape parse_input_shape(const std::string& text);

// --test-limit N / --train-limit N: only the first N test / training images (0, the default: all).
CLI::Option* add_test_limit_flag(CLI::App& command, size_t& limit);
CLI::Option* add_train_limit_flag(CLI::App& command, size_t& limit);

// --threads N: 0, the default, is all cores; thread_count() caps it at the cores there are.
CLI::Option* add_threads_flag(CLI::App& command, int& threads);

// --kernel NAME: the integer engine's kernels (deploy::parse_kernel's names).
CLI::Option* add_kernel_flag(CLI::App& command, std::string& kernel);

// --reps N: timed repetitions of each measurement in a benchmark, after one warm-up.
CLI::Option* add_reps_flag(CLI::App& command, int& reps);

// Makes `old_name` (an option such as "--limit", or a positional such as "model") a hidden alias of the
// option `new_name` that `command` already has: its values go to that option, through its checks, and
// one note on stderr says to use the new spelling. Giving both is an error.
void deprecated_alias(CLI::App& command, const std::string& old_name, const std::string& new_name);

}  // namespace apot::cli
