// The c10d process group, synchronised batch norm and gradient averaging, with two ranks as two threads
// of this process on loopback.
#include "train/process_group.h"

#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/sync_batch_norm.h"
#include "train/gradient_averager.h"

namespace apot::train {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kTestTimeout{20};

// Runs body(group) on `world` ranks, one thread each; rethrows the first rank's exception.
void run_ranks(int world, const std::function<void(ProcessGroup&)>& body, std::chrono::milliseconds timeout = kTestTimeout) {
  const int port = free_loopback_port();
  std::vector<std::future<void>> ranks;
  for (int r = 0; r < world; ++r) {
    ranks.push_back(std::async(std::launch::async, [=] {
      DistributedEnv env;
      env.rank = r;
      env.world_size = env.local_world_size = world;
      env.master_port = port;
      ProcessGroup group(env, "gloo", timeout);
      body(group);
    }));
  }
  for (auto& r : ranks) r.get();
}

double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-12);
}

TEST(ProcessGroup, AllReduceSumsAndBroadcastCopiesRootsTensor) {
  run_ranks(3, [](ProcessGroup& g) {
    std::vector<torch::Tensor> t{torch::full({5}, static_cast<float>(g.rank() + 1))};
    g.all_reduce_sum(t);
    EXPECT_TRUE(t[0].equal(torch::full({5}, 6.0f)));
    std::vector<torch::Tensor> b{torch::arange(4, torch::kFloat) * (g.rank() + 1)};
    g.broadcast(b, /*root=*/1);
    EXPECT_TRUE(b[0].equal(torch::arange(4, torch::kFloat) * 2));
    g.barrier();
  });
}

// Two ranks with half the batch each compute what one batch norm computes on the whole batch: output,
// input gradient, parameter gradients (summed over ranks) and running statistics.
TEST(SyncBatchNorm, TwoRanksWithHalfBatchesMatchOneProcessWithTheWholeBatch) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({8, 4, 5, 5}) * 3 + 1;
  const torch::Tensor upstream = torch::randn({8, 4, 5, 5});
  torch::nn::BatchNorm2d single(4);
  torch::Tensor x_single = x.clone().requires_grad_();
  const torch::Tensor y_single = single->forward(x_single);
  (y_single * upstream).sum().backward();

  run_ranks(2, [&](ProcessGroup& g) {
    models::SyncBatchNorm2d bn(4);
    bn->synchronise(g.replica_sum());
    const int64_t begin = g.rank() * 4;
    torch::Tensor x_rank = x.slice(0, begin, begin + 4).clone().requires_grad_();
    const torch::Tensor y = bn->forward(x_rank);
    (y * upstream.slice(0, begin, begin + 4)).sum().backward();
    EXPECT_LT(max_relative_difference(y, y_single.slice(0, begin, begin + 4)), 1e-5);
    EXPECT_LT(max_relative_difference(x_rank.grad(), x_single.grad().slice(0, begin, begin + 4)), 1e-5);
    std::vector<torch::Tensor> grads{bn->weight.grad().clone(), bn->bias.grad().clone()};
    for (auto& t : grads) {
      std::vector<torch::Tensor> one{t};
      g.all_reduce_sum(one);
    }
    EXPECT_LT(max_relative_difference(grads[0], single->weight.grad()), 1e-5);
    EXPECT_LT(max_relative_difference(grads[1], single->bias.grad()), 1e-5);
    EXPECT_LT(max_relative_difference(bn->running_mean, single->running_mean), 1e-6);
    EXPECT_LT(max_relative_difference(bn->running_var, single->running_var), 1e-6);
    EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  });
}

TEST(SyncBatchNorm, WithoutAGroupOrInEvalModeItIsTorchsBatchNorm) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({6, 3, 4, 4});
  torch::nn::BatchNorm2d plain(3);
  models::SyncBatchNorm2d sync(3);
  EXPECT_TRUE(sync->forward(x).equal(plain->forward(x)));
  sync->eval();
  plain->eval();
  EXPECT_TRUE(sync->forward(x).equal(plain->forward(x)));
}

TEST(GradientAverager, EveryRankGetsTheMeanGradientAcrossBuckets) {
  run_ranks(2, [](ProcessGroup& g) {
    std::vector<torch::Tensor> params;
    for (int64_t n : {3, 1000, 7, 2000}) {
      params.push_back(torch::zeros({n}, torch::requires_grad()));
      params.back().mutable_grad() = torch::full({n}, static_cast<float>(g.rank() == 0 ? n : 3 * n));
    }
    params.push_back(torch::zeros({2}, torch::requires_grad()));  // never used: stays without a gradient
    GradientAverager averager(g, params, /*bucket_bytes=*/4096);
    EXPECT_GE(averager.num_buckets(), 2u);
    averager.average();
    for (size_t i = 0; i + 1 < params.size(); ++i) {
      const int64_t n = params[i].numel();
      EXPECT_TRUE(params[i].grad().equal(torch::full({n}, static_cast<float>(2 * n)))) << i;
    }
    EXPECT_FALSE(params.back().grad().defined());
  });
}

TEST(ProcessGroup, ACollectiveWithAnAbsentRankFailsWithinTheTimeoutNamingTheRank) {
  const int port = free_loopback_port();
  std::promise<void> rank1_joined, rank0_done;
  auto rank1 = std::async(std::launch::async, [&] {
    DistributedEnv env;
    env.rank = 1;
    env.world_size = 2;
    env.master_port = port;
    ProcessGroup group(env, "gloo", std::chrono::seconds(2));
    rank1_joined.set_value();
    rank0_done.get_future().wait();  // hangs: never joins the all-reduce
  });
  DistributedEnv env;
  env.world_size = 2;
  env.master_port = port;
  ProcessGroup group(env, "gloo", std::chrono::seconds(2));
  rank1_joined.get_future().wait();
  std::vector<torch::Tensor> t{torch::ones({4})};
  const auto start = std::chrono::steady_clock::now();
  try {
    group.all_reduce_sum(t);
    ADD_FAILURE() << "the all-reduce returned without rank 1";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("rank 0 of 2"), HasSubstr("all-reduce failed"), HasSubstr("timeout 2 s")));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  rank0_done.set_value();
  rank1.get();
}

TEST(ProcessGroup, UnknownOrUnavailableBackendsAreNamed) {
  DistributedEnv env;
  EXPECT_THROW(
      {
        try {
          ProcessGroup g(env, "mpi");
        } catch (const std::invalid_argument& e) {
          EXPECT_THAT(e.what(), AllOf(HasSubstr("'mpi'"), HasSubstr("gloo")));
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_THROW(
      {
        try {
          ProcessGroup g(env, "nccl");
        } catch (const std::invalid_argument& e) {
          EXPECT_THAT(e.what(), HasSubstr("CUDA"));
          throw;
        }
      },
      std::invalid_argument);
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::optional<std::string>>> vars) {
    for (auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      set(name, value);
    }
  }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_) set(name, value);
  }

 private:
  static void set(const std::string& name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(DistributedEnv, ReadsTorchrunsVariables) {
  {
    ScopedEnv e({{"WORLD_SIZE", std::nullopt}, {"RANK", std::nullopt}});
    EXPECT_FALSE(distributed_env_from_environment().has_value());
  }
  ScopedEnv e({{"WORLD_SIZE", "4"}, {"RANK", "2"}, {"LOCAL_RANK", std::nullopt}, {"LOCAL_WORLD_SIZE", "2"},
               {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29400"}});
  const auto env = distributed_env_from_environment();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->rank, 2);
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->local_rank, 2);
  EXPECT_EQ(env->local_world_size, 2);
  EXPECT_EQ(env->master_addr, "10.0.0.1");
  EXPECT_EQ(env->master_port, 29400);
}

TEST(DistributedEnv, MalformedVariablesAreNamed) {
  const std::vector<std::pair<std::vector<std::pair<std::string, std::optional<std::string>>>, std::string>> cases = {
      {{{"RANK", "2"}}, "RANK='2'"},
      {{{"RANK", "x"}}, "RANK='x'"},
      {{{"RANK", std::nullopt}}, "RANK is not set"},
      {{{"WORLD_SIZE", "0"}}, "WORLD_SIZE='0'"},
      {{{"MASTER_PORT", "70000"}}, "MASTER_PORT='70000'"},
      {{{"MASTER_PORT", "12ab"}}, "MASTER_PORT='12ab'"},
      {{{"MASTER_ADDR", ""}}, "MASTER_ADDR"},
  };
  for (const auto& [overrides, expected] : cases) {
    std::vector<std::pair<std::string, std::optional<std::string>>> vars = {
        {"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}, {"LOCAL_RANK", std::nullopt}};
    for (const auto& o : overrides) {
      for (auto& v : vars) {
        if (v.first == o.first) v.second = o.second;
      }
    }
    ScopedEnv e(vars);
    try {
      distributed_env_from_environment();
      ADD_FAILURE() << "accepted " << expected;
    } catch (const std::invalid_argument& err) {
      EXPECT_THAT(err.what(), HasSubstr(expected));
    }
  }
}

}  // namespace
}  // namespace apot::train
