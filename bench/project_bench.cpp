// Projection throughput beside a plain copy of the same 16M floats, single thread, in one run.
// Target: 4-bit APoT projection >= 50% of the copy rate.
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/ratio_reporter.h"
#include "core/project.h"
#include "tests/support/random.h"

namespace {

constexpr size_t kCount = size_t{16} << 20;

const std::vector<float>& input() {
  static const std::vector<float> values = apot::test::gaussian_samples(kCount, 1);
  return values;
}

void set_rate(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCount * sizeof(float) * 2));
}

void BM_Copy(benchmark::State& state) {
  const auto& in = input();
  std::vector<float> out(kCount);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), kCount * sizeof(float));
    benchmark::ClobberMemory();
  }
  set_rate(state);
}

void project_bench(benchmark::State& state, apot::LevelSet set, apot::Isa isa) {
  if (!apot::cpu_supports(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  const apot::Projector projector(set);
  const auto& in = input();
  std::vector<float> out(kCount);
  for (auto _ : state) {
    projector.project(in.data(), out.data(), kCount, 1.5f, isa);
    benchmark::ClobberMemory();
  }
  set_rate(state);
}

}  // namespace

BENCHMARK(BM_Copy)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK_CAPTURE(project_bench, apot4_signed_avx2, apot::LevelSet::apot(4, 2, true), apot::Isa::Avx2)
    ->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK_CAPTURE(project_bench, apot4_unsigned_avx2, apot::LevelSet::apot(4, 2, false), apot::Isa::Avx2)
    ->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK_CAPTURE(project_bench, apot8_unsigned_avx2, apot::LevelSet::apot(8, 2, false), apot::Isa::Avx2)
    ->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK_CAPTURE(project_bench, apot4_signed_scalar, apot::LevelSet::apot(4, 2, true), apot::Isa::Scalar)
    ->Unit(benchmark::kMillisecond)->MinTime(0.5);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  apot::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  fmt::print("\nthroughput relative to copy (>= 0.50 is the target for 4-bit APoT):\n");
  for (const char* name : {"apot4_signed_avx2", "apot4_unsigned_avx2", "apot8_unsigned_avx2", "apot4_signed_scalar"}) {
    const double r = reporter.ratio("BM_Copy", std::string("project_bench/") + name);
    if (r >= 0) fmt::print("  {}/copy: {:.2f}\n", name, r);
  }
  benchmark::Shutdown();
}
