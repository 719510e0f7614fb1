// A data-parallel process group on torch.distributed's c10d engine: the rendezvous torchrun sets up
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; rank 0 hosts the c10d::TCPStore), a backend
// chosen by name (gloo; nccl needs a CUDA LibTorch), and the few collectives training needs.
//
// Failures: every collective waits at most `timeout`. A worker that dies closes its connections and the
// others' next collective fails at once; one that hangs makes them fail when the timeout runs out. Either
// way the collective throws std::runtime_error naming this rank and the operation.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/sync_batch_norm.h"

namespace apot::train {

// What torchrun (or `apot train --nproc`) tells a worker through its environment (LOCAL_RANK and
// LOCAL_WORLD_SIZE default to RANK and WORLD_SIZE: one machine).
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // workers on this machine (they share its cores)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// The worker's DistributedEnv where WORLD_SIZE is set, nullopt where it is not (a plain single process).
// Throws std::invalid_argument naming the variable for a missing or malformed one (RANK outside
// 0..WORLD_SIZE-1, a port outside 1..65535, ...).
std::optional<DistributedEnv> distributed_env_from_environment();

// A TCP port the kernel reports free on 127.0.0.1 (for a local group's MASTER_PORT; another process may
// take it before rank 0 binds it, a small race torchrun's standalone mode has too).
int free_loopback_port();

// "gloo" (and "nccl" where LibTorch is built with CUDA; not in Debian's CPU build).
std::vector<std::string> distributed_backends();

// The default collective timeout: long enough for rank 0 to write a checkpoint while the others wait at
// the next step's all-reduce, short enough that a hung worker stops the run within minutes.
constexpr std::chrono::seconds kDefaultCollectiveTimeout{300};

class ProcessGroup {
 public:
  // Joins the group: every rank blocks until all WORLD_SIZE have joined or `timeout` runs out. Throws
  // std::invalid_argument for an unknown backend, std::runtime_error when the rendezvous fails.
  ProcessGroup(const DistributedEnv& env, const std::string& backend, std::chrono::milliseconds timeout = kDefaultCollectiveTimeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  const std::string& backend() const { return backend_; }

  // In place, on every rank, blocking. Each rank passes tensors of the same shapes in the same order.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // A few numbers (metric sums) summed over the ranks.
  std::vector<double> all_reduce_sum(const std::vector<double>& values);
  void broadcast(std::vector<torch::Tensor>& tensors, int root);
  void barrier();

  // Started collectives finish in the background; wait() returns when this one has (and throws as above).
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<torch::Tensor>& tensors);

  // The differentiable sum over ranks that synchronised batch norm needs (models/sync_batch_norm.h).
  std::shared_ptr<models::ReplicaSum> replica_sum();

  // Seconds spent waiting in collectives since construction (the all-reduce share of a step).
  double seconds_in_collectives() const { return seconds_in_collectives_; }

 private:
  // Starts a c10d collective through `start`, naming `operation` in the error if it cannot start.
  template <typename Start>
  std::unique_ptr<Pending> begin(const char* operation, Start start);

  struct Impl;  // the c10d objects, kept out of this header (their headers pull in Gloo's)
  class PendingWork;
  DistributedEnv env_;
  std::string backend_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;
  double seconds_in_collectives_ = 0;
};

}  // namespace apot::train
