#include "train/process_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

// c10d's Gloo backend is compiled only under this macro; Debian's LibTorch is built with it.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace apot::train {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

int env_int(const char* name, int lo, int hi, std::optional<int> fallback) {
  const std::optional<std::string> v = env_value(name);
  if (!v) {
    if (fallback) return *fallback;
    throw std::invalid_argument(fmt::format("{} is not set (a distributed worker needs RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)", name));
  }
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size() || value < lo || value > hi) {
    throw std::invalid_argument(fmt::format("{}='{}': expected an integer in {}..{}", name, *v, lo, hi));
  }
  return static_cast<int>(value);
}

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

}  // namespace

std::optional<DistributedEnv> distributed_env_from_environment() {
  if (!env_value("WORLD_SIZE")) return std::nullopt;
  DistributedEnv env;
  env.world_size = env_int("WORLD_SIZE", 1, 1 << 20, std::nullopt);
  env.rank = env_int("RANK", 0, env.world_size - 1, std::nullopt);
  env.local_rank = env_int("LOCAL_RANK", 0, env.world_size - 1, env.rank);
  env.local_world_size = env_int("LOCAL_WORLD_SIZE", 1, env.world_size, env.world_size);
  env.master_addr = env_value("MASTER_ADDR").value_or("");
  if (env.master_addr.empty()) throw std::invalid_argument("MASTER_ADDR is not set or empty (the host of rank 0)");
  env.master_port = env_int("MASTER_PORT", 1, 65535, std::nullopt);
  return env;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int error = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("cannot find a free loopback port: {}", std::strerror(error)));
  return ntohs(addr.sin_port);
}

std::vector<std::string> distributed_backends() { return {"gloo"}; }

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;  // a ProcessGroup in LibTorch 1.x, a Backend in 2.x
};

ProcessGroup::ProcessGroup(const DistributedEnv& env, const std::string& backend, std::chrono::milliseconds timeout)
    : env_(env), backend_(backend), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  if (backend == "nccl") {
    throw std::invalid_argument("backend nccl needs a LibTorch built with CUDA; this one is CPU-only: use --backend gloo");
  }
  if (backend != "gloo") {
    throw std::invalid_argument(fmt::format("unknown distributed backend '{}': expected one of {}", backend,
                                            fmt::join(distributed_backends(), ", ")));
  }
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size) {
    throw std::invalid_argument(fmt::format("rank {} is outside 0..{} (world size {})", env.rank, env.world_size - 1, env.world_size));
  }
  if (timeout.count() <= 0) throw std::invalid_argument("the collective timeout must be > 0");
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine bind the loopback address rank 0 listens on; across machines the interface
    // GLOO_SOCKET_IFNAME names, else the one the host name resolves to (torch's rule).
    if (const auto ifname = env_value("GLOO_SOCKET_IFNAME")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
    } else if (is_loopback(env.master_addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rank {} of {}: joining the {} process group at {}:{} failed within {} s: {}", env.rank,
                                         env.world_size, backend, env.master_addr, env.master_port,
                                         std::chrono::duration<double>(timeout).count(), e.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

class ProcessGroup::PendingWork : public ProcessGroup::Pending {
 public:
  PendingWork(ProcessGroup* group, const char* operation, c10::intrusive_ptr<c10d::Work> work)
      : group_(group), operation_(operation), work_(std::move(work)) {}
  void wait() override {
    const auto start = Clock::now();
    try {
      work_->wait(group_->timeout_);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format(
          "rank {} of {}: {} failed: another worker died or stopped answering (collective timeout {} s): {}", group_->rank(),
          group_->world_size(), operation_, std::chrono::duration<double>(group_->timeout_).count(), e.what()));
    }
    group_->seconds_in_collectives_ += std::chrono::duration<double>(Clock::now() - start).count();
  }

 private:
  ProcessGroup* group_;
  const char* operation_;
  c10::intrusive_ptr<c10d::Work> work_;
};

template <typename Start>
std::unique_ptr<ProcessGroup::Pending> ProcessGroup::begin(const char* operation, Start start) {
  try {
    return std::make_unique<PendingWork>(this, operation, start(*impl_->group));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rank {} of {}: {} failed to start: {}", rank(), world_size(), operation, e.what()));
  }
}

std::unique_ptr<ProcessGroup::Pending> ProcessGroup::all_reduce_sum_async(std::vector<torch::Tensor>& tensors) {
  return begin("all-reduce", [&](c10d::ProcessGroupGloo& g) { return g.allreduce(tensors); });
}

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) { all_reduce_sum_async(tensors)->wait(); }

std::vector<double> ProcessGroup::all_reduce_sum(const std::vector<double>& values) {
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kDouble)};
  all_reduce_sum(t);
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  begin("broadcast", [&](c10d::ProcessGroupGloo& g) { return g.broadcast(tensors, options); })->wait();
}

void ProcessGroup::barrier() {
  begin("barrier", [](c10d::ProcessGroupGloo& g) { return g.barrier(); })->wait();
}

namespace {

// The ProcessGroup a graph node needs in its backward pass, in the form autograd contexts store.
struct GroupRef : torch::CustomClassHolder {
  explicit GroupRef(ProcessGroup* g) : group(g) {}
  ProcessGroup* group;
};

// y = sum over ranks of x; dL/dx = sum over ranks of dL/dy (each rank holds the gradient of its own
// part of the loss, and every rank's part depends on every x).
struct AllReduceSumFunction : torch::autograd::Function<AllReduceSumFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, ProcessGroup* group) {
    ctx->saved_data["group"] = c10::IValue::make_capsule(c10::make_intrusive<GroupRef>(group));
    std::vector<torch::Tensor> t{x.detach().clone().contiguous()};
    group->all_reduce_sum(t);
    return t[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    ProcessGroup* group = c10::static_intrusive_pointer_cast<GroupRef>(ctx->saved_data["group"].toCapsule())->group;
    std::vector<torch::Tensor> t{grads[0].clone().contiguous()};
    group->all_reduce_sum(t);
    return {t[0], torch::Tensor()};
  }
};

class GroupReplicaSum : public models::ReplicaSum {
 public:
  explicit GroupReplicaSum(ProcessGroup* group) : group_(group) {}
  torch::Tensor operator()(const torch::Tensor& x) override { return AllReduceSumFunction::apply(x, group_); }

 private:
  ProcessGroup* group_;
};

}  // namespace

std::shared_ptr<models::ReplicaSum> ProcessGroup::replica_sum() { return std::make_shared<GroupReplicaSum>(this); }

}  // namespace apot::train
