// `apot train --nproc N`: starts N local training workers, each this same program with the same
// arguments (less --nproc) and torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT=a free port), and watches them as torchrun does: when one fails
// (non-zero exit or a signal) the others are stopped (SIGTERM, SIGKILL after a grace period).
#pragma once

#include <string>
#include <vector>

namespace apot::cli {

// Runs the workers to the end. Returns 0 when every worker succeeded, else 1 after printing which
// worker failed and how. `args` is the whole command line, argv[0] first; "--nproc N" / "--nproc=N" are
// taken out of it.
int launch_local_workers(int nproc, const std::vector<std::string>& args);

// The arguments without --nproc and its value (for the workers; exposed for tests).
std::vector<std::string> without_nproc(const std::vector<std::string>& args);

}  // namespace apot::cli
