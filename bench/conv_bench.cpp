// Per layer: the integer engine's fastest convolution against oneDNN's int8 convolution (issue 4).
// APoT: the convolution on 4-bit APoT codes and weights, exactly as deploy::Engine runs it (its per-op
// time), with the epilogue of its role in the network:
// - "codes out": requantisation, ReLU and the next layer's activation quantiser fused in: 4-bit codes in,
//   4-bit codes out (every conv that an activation quantiser reads);
// - "shortcut": requantisation into the int32 stream that a later conv adds as its residual, no ReLU
//   (ResNet-20's 1x1 downsampling shortcuts).
// oneDNN: a u8 x s8 convolution with per-channel output scales, formats its choice, into u8 with ReLU
// (codes out; --dst s32 for int32) or into s32 without ReLU (shortcut); the primitive created once and
// the reorders outside the timed loop; its source is rewritten before each run, as the layer before
// would leave it in cache. Two threads each (--threads), repetitions interleaved, medians.
// Target: onednn/apot >= 1 on every layer.
//
//   bench_conv [--seconds S] [--filter TEXT] [--batches 1,64] [--dst u8|s32] [--threads 2]
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dnnl.hpp>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "deploy/engine.h"
#include "tests/deploy/model_builder.h"

namespace {

using namespace apot;
using namespace apot::deploy;

struct Layer {
  const char* net;
  int in_channels, out_channels, size, kernel, stride;
  bool shortcut = false;  // the shortcut role (int32 stream out), else codes out
  std::string describe() const {
    return fmt::format("{} {}x{} {}->{} @{}x{} s{}{}", net, kernel, kernel, in_channels, out_channels, size, size,
                       stride, shortcut ? " shortcut" : "");
  }
};

// ResNet-20 at 32x32 (3x3 convs; the 1x1-conv shortcuts with codes out, as the other layers, and in
// their role), ResNet-18 at 224.
const Layer kLayers[] = {
    {"resnet20", 16, 16, 32, 3, 1},       {"resnet20", 16, 32, 32, 3, 2},       {"resnet20", 32, 32, 16, 3, 1},
    {"resnet20", 32, 64, 16, 3, 2},       {"resnet20", 64, 64, 8, 3, 1},        {"resnet20", 16, 32, 32, 1, 2},
    {"resnet20", 32, 64, 16, 1, 2},       {"resnet20", 16, 32, 32, 1, 2, true}, {"resnet20", 32, 64, 16, 1, 2, true},
    {"resnet18", 64, 64, 56, 3, 1},       {"resnet18", 128, 128, 28, 3, 1},     {"resnet18", 256, 256, 14, 3, 1},
    {"resnet18", 512, 512, 7, 3, 1},
};

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one, five;
  f >> one >> five;
  return one + " " + five;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// input -> 1x1 conv -> act quant -> the layer (op 2), then
// - codes out: -> act quant (fused into the layer, op 3) -> 1x1 conv -> avg pool + fc;
// - shortcut: the layer's codes in also -> 1x1 conv of the layer's shape -> act quant -> 1x1 conv that
//   adds the layer's stream -> avg pool + fc;
// so the layer reads codes that an engine op wrote and writes what the next op reads.
class ApotLayer {
 public:
  ApotLayer(const Layer& l, int batch, int threads) : batch_(batch), shortcut_(l.shortcut) {
    const LevelSetSpec w8{Scheme::Uniform, 8, 1, true}, w4{Scheme::APoT, 4, 2, true}, a4{Scheme::APoT, 4, 2, false};
    test::ModelBuilder b(l.in_channels, l.size, l.size, 1);
    const test::Tensor stream = b.conv("stem", b.input(), l.in_channels, 1, 1, 0, w8, -1, true, false);
    const test::Tensor codes = b.act_quant(stream, a4, 8.0);
    const test::Tensor out =
        b.conv("layer", codes, l.out_channels, l.kernel, l.stride, l.kernel / 2, w4, -1, !l.shortcut, false);
    test::Tensor next;
    if (l.shortcut) {
      const test::Tensor path = b.conv("path", codes, l.out_channels, 1, l.stride, 0, w4, -1, true, false);
      next = b.conv("next", b.act_quant(path, a4, 8.0), l.out_channels, 1, 1, 0, w4, out.buffer, true, false);
    } else {
      next = b.conv("next", b.act_quant(out, a4, 8.0), 16, 1, 1, 0, w4, -1, true, false);
    }
    b.avg_pool_linear("fc", next, 10, w8);
    engine_ = std::make_unique<Engine>(b.take(), EngineOptions{Kernel::Auto, threads});
    input_.resize(static_cast<size_t>(batch) * l.in_channels * l.size * l.size);
    std::mt19937 rng(2);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& x : input_) x = std::clamp(normal(rng), -7.9f, 7.9f);
  }
  // Seconds of the layer (op 2, with op 3 in its epilogue when codes out) in one engine run.
  double run() {
    engine_->run(input_.data(), batch_);
    return engine_->op_seconds()[2] + (shortcut_ ? 0.0 : engine_->op_seconds()[3]);
  }
  std::string_view kernel() const { return engine_->kernel_name(); }

 private:
  int batch_;
  bool shortcut_;
  std::unique_ptr<Engine> engine_;
  std::vector<float> input_;
};

class OnednnLayer {
 public:
  OnednnLayer(const Layer& l, int batch, dnnl::memory::data_type dst_type, const dnnl::engine& engine)
      : engine_(engine), stream_(engine) {
    if (l.shortcut) dst_type = dnnl::memory::data_type::s32;
    using dnnl::memory;
    const int out = (l.size + 2 * (l.kernel / 2) - l.kernel) / l.stride + 1;
    const memory::dims src_dims = {batch, l.in_channels, l.size, l.size};
    const memory::dims wei_dims = {l.out_channels, l.in_channels, l.kernel, l.kernel};
    const memory::dims dst_dims = {batch, l.out_channels, out, out};
    const memory::dims strides = {l.stride, l.stride}, padding = {l.kernel / 2, l.kernel / 2};
    const auto any = memory::format_tag::any;
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               memory::desc(src_dims, memory::data_type::u8, any),
                                               memory::desc(wei_dims, memory::data_type::s8, any),
                                               memory::desc(dst_dims, dst_type, any), strides, padding, padding);
    dnnl::primitive_attr attr;
    std::vector<float> scales(static_cast<size_t>(l.out_channels));
    for (size_t c = 0; c < scales.size(); ++c) scales[c] = 0.01f + 0.001f * static_cast<float>(c % 7);
    attr.set_output_scales(1 << 1, scales);  // per output channel
    if (!l.shortcut) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine_);
    impl_ = pd.impl_info_str();
    conv_ = dnnl::convolution_forward(pd);

    // Plain NCHW / OIHW data reordered into the primitive's formats once.
    std::mt19937 rng(3);
    memory user_src({src_dims, memory::data_type::u8, memory::format_tag::nchw}, engine_);
    memory user_wei({wei_dims, memory::data_type::s8, memory::format_tag::oihw}, engine_);
    auto* s = static_cast<uint8_t*>(user_src.get_data_handle());
    for (size_t i = 0; i < user_src.get_desc().get_size(); ++i) s[i] = static_cast<uint8_t>(rng() % 49);
    auto* w = static_cast<int8_t*>(user_wei.get_data_handle());
    for (size_t i = 0; i < user_wei.get_desc().get_size(); ++i)
      w[i] = static_cast<int8_t>(static_cast<int>(rng() % 21) - 10);
    src_ = memory(pd.src_desc(), engine_);
    wei_ = memory(pd.weights_desc(), engine_);
    dst_ = memory(pd.dst_desc(), engine_);
    dnnl::reorder(user_src, src_).execute(stream_, user_src, src_);
    dnnl::reorder(user_wei, wei_).execute(stream_, user_wei, wei_);
    stream_.wait();
    const auto* src = static_cast<const uint8_t*>(src_.get_data_handle());
    fresh_src_.assign(src, src + src_.get_desc().get_size());
  }
  double run() {
    std::memcpy(src_.get_data_handle(), fresh_src_.data(), fresh_src_.size());
    const auto start = std::chrono::steady_clock::now();
    conv_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}});
    stream_.wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const std::string& impl() const { return impl_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::convolution_forward conv_;
  dnnl::memory src_, wei_, dst_;
  std::vector<uint8_t> fresh_src_;
  std::string impl_;
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  std::string filter, dst = "u8";
  std::vector<int> batches = {1, 64};
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--filter") {
      filter = value;
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--dst") {
      dst = value;
    } else if (flag == "--batches") {
      batches.clear();
      for (size_t p = 0; p < value.size();) {
        const size_t comma = value.find(',', p);
        batches.push_back(std::stoi(value.substr(p, comma - p)));
        p = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 2;
    }
  }
  omp_set_num_threads(threads);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const auto dst_type = dst == "s32" ? dnnl::memory::data_type::s32 : dnnl::memory::data_type::u8;
  fmt::print("load average {}\n", load_average());
  fmt::print(
      "apot: conv + requant + ReLU + act quant (deploy::Engine; shortcut: conv + requant -> int32 stream); onednn "
      "{}.{}.{}: u8 x s8 conv, scales + ReLU -> {} (shortcut: scales -> s32); {} threads, interleaved, medians over "
      ">= {} s each\n",
      dnnl::version()->major, dnnl::version()->minor, dnnl::version()->patch, dst, threads, seconds);
  std::vector<std::string> lines;
  for (const Layer& l : kLayers) {
    for (const int batch : batches) {
      const std::string name = fmt::format("layer {} batch {}", l.describe(), batch);
      if (!filter.empty() && name.find(filter) == std::string::npos) continue;
      ApotLayer apot(l, batch, threads);
      OnednnLayer onednn(l, batch, dst_type, engine);
      for (int i = 0; i < 3; ++i) apot.run(), onednn.run();  // warm up
      std::vector<double> a, o;
      double spent = 0;
      while ((spent < 2 * seconds || a.size() < 7) && a.size() < 1000) {
        a.push_back(apot.run());
        o.push_back(onednn.run());
        spent += a.back() + o.back();
      }
      const double ta = median(a) * 1e3, to = median(o) * 1e3;
      const double fa = *std::min_element(a.begin(), a.end()) * 1e3, fo = *std::min_element(o.begin(), o.end()) * 1e3;
      lines.push_back(fmt::format(
          "{}: apot {:.3f} ms, onednn {:.3f} ms, onednn/apot {:.2f}   (fastest: {:.3f} / {:.3f} ms, {:.2f})", name, ta,
          to, to / ta, fa, fo, fo / fa));
      fmt::print("{}   [{} reps; apot {} kernel; onednn {}]\n", lines.back(), a.size(), apot.kernel(), onednn.impl());
      std::fflush(stdout);
    }
  }
  fmt::print("\nsummary (onednn/apot >= 1: apot is faster); load average {}\n", load_average());
  for (const std::string& line : lines) fmt::print("{}\n", line);
}
