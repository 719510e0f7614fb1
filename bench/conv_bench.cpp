// Per layer: each of the integer engine's convolution kernels against oneDNN's int8 convolution.
// APoT: the convolution on 4-bit APoT codes and weights, exactly as deploy::Engine runs it (its per-op
// time), with the epilogue of its role in the network:
// - "codes out": requantisation, ReLU and the next layer's activation quantiser fused in: 4-bit codes in,
//   4-bit codes out (every conv that an activation quantiser reads);
// - "+ shortcut": a residual block's conv2 with the block's 1x1 stride-2 downsampling shortcut, which
//   the engine computes inside it span by span (deploy/engine/engine.h): requantisation, the shortcut's stream
//   added, ReLU, the stream stored (the next block adds it) and the next activation quantiser fused in;
// - "shortcut, alone": that shortcut as a layer of its own, requantised into the int32 stream, no ReLU,
//   as the engine runs it unfused (EngineOptions::fuse = false; the scalar and shift-add kernels).
// oneDNN: u8 x s8 convolutions with per-channel output scales, formats its choice, the primitives
// created once and the reorders outside the timed loop; the sources rewritten before each run, as the
// layer before would leave them in cache. Codes out: into u8 with ReLU (--dst s32 for int32); shortcut
// alone: into s32; + shortcut: the shortcut into s32, then conv2 into the same s32 memory with a sum
// post-op and ReLU (both timed). Two threads each (--threads), repetitions interleaved, medians.
// Kernels: every family of the kernel table this CPU runs (deploy/kernels/kernel.h) but the shift-add
// reference, which counts its operations rather than racing; --kernels names some (e.g. auto or avx2).
// Target: onednn/apot >= 1 on every layer for the fastest kernel.
//
//   bench_conv [--seconds S] [--filter TEXT] [--batches 1,64] [--dst u8|s32] [--threads 2] [--kernels K,..]
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dnnl.hpp>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "deploy/engine/engine.h"
#include "deploy/kernels/kernel.h"
#include "tests/support/integer_model_builder.h"
#include "tests/support/random.h"

namespace {

using namespace apot;
using namespace apot::deploy;

enum class Role { CodesOut, WithShortcut, ShortcutAlone };

struct Layer {
  const char* net;
  int in_channels, out_channels, size, kernel, stride;
  Role role = Role::CodesOut;
  // WithShortcut: the block's shortcut, 1x1 stride 2 from half the channels at twice the size.
  int shortcut_channels() const { return out_channels / 2; }
  std::string describe() const {
    const std::string conv = fmt::format("{} {}x{} {}->{} @{}x{} s{}", net, kernel, kernel, in_channels, out_channels,
                                         size, size, stride);
    if (role == Role::ShortcutAlone) return conv + " shortcut, alone";
    if (role == Role::WithShortcut) {
      return conv + fmt::format(" + shortcut 1x1 {}->{} @{}x{} s2", shortcut_channels(), out_channels, 2 * size,
                                2 * size);
    }
    return conv;
  }
};

// ResNet-20 at 32x32 (3x3 convs; the 1x1-conv shortcuts with codes out, as the other layers, alone, and
// inside the conv2 that adds them), ResNet-18 at 224 (likewise).
const Layer kLayers[] = {
    {"resnet20", 16, 16, 32, 3, 1},
    {"resnet20", 16, 32, 32, 3, 2},
    {"resnet20", 32, 32, 16, 3, 1},
    {"resnet20", 32, 64, 16, 3, 2},
    {"resnet20", 64, 64, 8, 3, 1},
    {"resnet20", 16, 32, 32, 1, 2},
    {"resnet20", 32, 64, 16, 1, 2},
    {"resnet20", 32, 32, 16, 3, 1, Role::WithShortcut},
    {"resnet20", 64, 64, 8, 3, 1, Role::WithShortcut},
    {"resnet20", 16, 32, 32, 1, 2, Role::ShortcutAlone},
    {"resnet20", 32, 64, 16, 1, 2, Role::ShortcutAlone},
    {"resnet18", 64, 64, 56, 3, 1},
    {"resnet18", 128, 128, 28, 3, 1},
    {"resnet18", 256, 256, 14, 3, 1},
    {"resnet18", 512, 512, 7, 3, 1},
    {"resnet18", 128, 128, 28, 3, 1, Role::WithShortcut},
    {"resnet18", 256, 256, 14, 3, 1, Role::WithShortcut},
    {"resnet18", 512, 512, 7, 3, 1, Role::WithShortcut},
};

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one, five;
  f >> one >> five;
  return one + " " + five;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  for (size_t p = 0; p < list.size();) {
    const size_t comma = list.find(',', p);
    items.push_back(list.substr(p, comma - p));
    p = comma == std::string::npos ? list.size() : comma + 1;
  }
  return items;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The layer inside a small network, so that it reads codes an engine op wrote and writes what the next
// op reads:
// - codes out: input -> 1x1 conv -> act quant -> the layer -> act quant (fused) -> 1x1 conv -> fc;
// - shortcut alone: input -> 1x1 conv -> act quant -> the layer; the same codes -> 1x1 conv of its shape
//   -> act quant -> 1x1 conv that adds its stream -> fc;
// - + shortcut: input -> 1x1 conv -> act quant -> the shortcut, and -> conv1 (3x3 stride 2) -> act quant
//   -> the layer (adds the shortcut) -> act quant (fused), and -> 1x1 conv that adds its stream -> fc.
class ApotLayer {
 public:
  ApotLayer(const Layer& l, int batch, int threads, Kernel kernel) : batch_(batch) {
    const LevelSetSpec w8{Scheme::Uniform, 8, 1, true}, w4{Scheme::APoT, 4, 2, true}, a4{Scheme::APoT, 4, 2, false};
    const bool pair = l.role == Role::WithShortcut;
    const int in_channels = pair ? l.shortcut_channels() : l.in_channels, size = pair ? 2 * l.size : l.size;
    deploy::test::ModelBuilder b(in_channels, size, size, 1);
    const deploy::test::Tensor stream = b.conv("stem", b.input(), in_channels, 1, 1, 0, w8, -1, true, false);
    const deploy::test::Tensor codes = b.act_quant(stream, a4, 8.0);
    deploy::test::Tensor out, next;
    if (l.role == Role::CodesOut) {
      out = b.conv("layer", codes, l.out_channels, l.kernel, l.stride, l.kernel / 2, w4, -1, true, false);
      next = b.conv("next", b.act_quant(out, a4, 8.0), 16, 1, 1, 0, w4, -1, true, false);
    } else if (l.role == Role::ShortcutAlone) {
      out = b.conv("layer", codes, l.out_channels, 1, l.stride, 0, w4, -1, false, false);
      const deploy::test::Tensor path = b.conv("path", codes, l.out_channels, 1, l.stride, 0, w4, -1, true, false);
      next = b.conv("next", b.act_quant(path, a4, 8.0), l.out_channels, 1, 1, 0, w4, out.buffer, true, false);
    } else {
      const deploy::test::Tensor shortcut = b.conv("shortcut", codes, l.out_channels, 1, 2, 0, w4, -1, false, false);
      const deploy::test::Tensor h =
          b.act_quant(b.conv("conv1", codes, l.out_channels, 3, 2, 1, w4, -1, true, false), a4, 8.0);
      out = b.conv("layer", h, l.out_channels, 3, 1, 1, w4, shortcut.buffer, true, false);
      next = b.conv("next", b.act_quant(out, a4, 8.0), l.out_channels, 1, 1, 0, w4, out.buffer, true, false);
    }
    b.avg_pool_linear("fc", next, 10, w8);
    IntegerModel model = b.take();
    model.weight_bits = 4;  // the body's; the stem's 8-bit weights read the input, as a first conv's do
    model.act_bits = 4;
    // Timed: the layer, the shortcut it computes and the quantiser of its output (0 s where fused).
    for (size_t i = 0; i < model.ops.size(); ++i) {
      if (const auto* conv = std::get_if<ConvOp>(&model.ops[i])) {
        if (conv->name == "layer" || conv->name == "shortcut") timed_.push_back(i);
      } else if (const auto* quant = std::get_if<ActQuantOp>(&model.ops[i]); quant && quant->input == out.buffer) {
        timed_.push_back(i);
      }
    }
    engine_ = std::make_unique<Engine>(std::move(model),
                                       EngineOptions{kernel, threads, l.role != Role::ShortcutAlone});
    input_ = apot::test::gaussian_samples(static_cast<size_t>(batch) * in_channels * size * size, 2);
    for (float& x : input_) x = std::clamp(x, -7.9f, 7.9f);
  }
  // Seconds of the timed ops in one engine run.
  double run() {
    engine_->run(input_.data(), batch_);
    double seconds = 0;
    for (const size_t i : timed_) seconds += engine_->op_seconds()[i];
    return seconds;
  }
  std::string_view kernel() const { return engine_->kernel_name(); }

 private:
  int batch_;
  std::vector<size_t> timed_;
  std::unique_ptr<Engine> engine_;
  std::vector<float> input_;
};

// One oneDNN convolution: u8 source, s8 weights, per-channel output scales, then a sum with what the
// destination holds (sum) and ReLU (relu); the destination in `dst_format` (null: oneDNN's choice).
class OnednnConv {
 public:
  OnednnConv(const dnnl::engine& engine, int batch, int in_channels, int out_channels, int size, int kernel,
             int stride, dnnl::memory::data_type dst_type, bool sum, bool relu,
             const dnnl::memory::desc* dst_format = nullptr) {
    using dnnl::memory;
    const int out = (size + 2 * (kernel / 2) - kernel) / stride + 1;
    const memory::dims src_dims = {batch, in_channels, size, size};
    const memory::dims wei_dims = {out_channels, in_channels, kernel, kernel};
    const memory::dims dst_dims = {batch, out_channels, out, out};
    const memory::dims strides = {stride, stride}, padding = {kernel / 2, kernel / 2};
    const auto any = memory::format_tag::any;
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src_dims, memory::data_type::u8, any), memory::desc(wei_dims, memory::data_type::s8, any),
        dst_format != nullptr ? *dst_format : memory::desc(dst_dims, dst_type, any), strides, padding, padding);
    dnnl::primitive_attr attr;
    std::vector<float> scales(static_cast<size_t>(out_channels));
    for (size_t c = 0; c < scales.size(); ++c) scales[c] = 0.01f + 0.001f * static_cast<float>(c % 7);
    attr.set_output_scales(1 << 1, scales);  // per output channel
    dnnl::post_ops ops;
    if (sum) ops.append_sum(1.0f);
    if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    impl_ = pd.impl_info_str();
    dst_desc_ = pd.dst_desc();
    conv_ = dnnl::convolution_forward(pd);

    // Plain NCHW / OIHW data reordered into the primitive's formats once.
    dnnl::stream stream(engine);
    std::mt19937 rng(3);
    memory user_src({src_dims, memory::data_type::u8, memory::format_tag::nchw}, engine);
    memory user_wei({wei_dims, memory::data_type::s8, memory::format_tag::oihw}, engine);
    auto* s = static_cast<uint8_t*>(user_src.get_data_handle());
    for (size_t i = 0; i < user_src.get_desc().get_size(); ++i) s[i] = static_cast<uint8_t>(rng() % 49);
    auto* w = static_cast<int8_t*>(user_wei.get_data_handle());
    for (size_t i = 0; i < user_wei.get_desc().get_size(); ++i)
      w[i] = static_cast<int8_t>(static_cast<int>(rng() % 21) - 10);
    src_ = memory(pd.src_desc(), engine);
    wei_ = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_src, src_).execute(stream, user_src, src_);
    dnnl::reorder(user_wei, wei_).execute(stream, user_wei, wei_);
    stream.wait();
    const auto* src = static_cast<const uint8_t*>(src_.get_data_handle());
    fresh_src_.assign(src, src + src_.get_desc().get_size());
  }
  const dnnl::memory::desc& dst_desc() const { return dst_desc_; }
  const std::string& impl() const { return impl_; }
  void refresh() { std::memcpy(src_.get_data_handle(), fresh_src_.data(), fresh_src_.size()); }
  void execute(dnnl::stream& stream, dnnl::memory& dst) {
    conv_.execute(stream, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst}});
  }

 private:
  dnnl::convolution_forward conv_;
  dnnl::memory src_, wei_;
  dnnl::memory::desc dst_desc_;
  std::vector<uint8_t> fresh_src_;
  std::string impl_;
};

// The layer's role in oneDNN: one convolution, or the shortcut and then conv2 adding into its output.
class OnednnLayer {
 public:
  OnednnLayer(const Layer& l, int batch, dnnl::memory::data_type dst_type, const dnnl::engine& engine)
      : stream_(engine) {
    using dt = dnnl::memory::data_type;
    if (l.role == Role::CodesOut) {
      convs_.emplace_back(engine, batch, l.in_channels, l.out_channels, l.size, l.kernel, l.stride, dst_type, false,
                          true);
    } else if (l.role == Role::ShortcutAlone) {
      convs_.emplace_back(engine, batch, l.in_channels, l.out_channels, l.size, 1, l.stride, dt::s32, false, false);
    } else {
      OnednnConv conv2(engine, batch, l.in_channels, l.out_channels, l.size, l.kernel, 1, dt::s32, true, true);
      convs_.emplace_back(engine, batch, l.shortcut_channels(), l.out_channels, 2 * l.size, 1, 2, dt::s32, false,
                          false, &conv2.dst_desc());
      convs_.push_back(std::move(conv2));
    }
    dst_ = dnnl::memory(convs_.back().dst_desc(), engine);
  }
  double run() {
    for (OnednnConv& c : convs_) c.refresh();
    const auto start = std::chrono::steady_clock::now();
    for (OnednnConv& c : convs_) c.execute(stream_, dst_);
    stream_.wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::string impl() const {
    std::string s;
    for (const OnednnConv& c : convs_) s += (s.empty() ? "" : " + ") + c.impl();
    return s;
  }

 private:
  dnnl::stream stream_;
  std::vector<OnednnConv> convs_;
  dnnl::memory dst_;
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  std::string filter, dst = "u8";
  std::vector<int> batches = {1, 64};
  int threads = 2;
  std::vector<Kernel> kernels;
  for (const Kernel k : supported_kernels()) {
    if (k != Kernel::ShiftAdd) kernels.push_back(k);
  }
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
      for (const std::string& b : split(value)) batches.push_back(std::stoi(b));
    } else if (flag == "--kernels") {
      kernels.clear();
      try {
        for (const std::string& k : split(value)) kernels.push_back(resolve(parse_kernel(k)));
      } catch (const std::exception& e) {
        fmt::print(stderr, "--kernels: {}\n", e.what());
        return 2;
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
      "apot: conv + requant + ReLU + act quant (deploy::Engine; + shortcut: the shortcut computed inside, its stream "
      "added, the stream kept too; shortcut alone: conv + requant -> int32 stream); onednn {}.{}.{}: u8 x s8 conv, "
      "scales + ReLU -> {} (+ shortcut: the shortcut -> s32, then conv2 + sum + ReLU into it; shortcut alone: -> "
      "s32); {} threads, interleaved, medians over >= {} s each\n",
      dnnl::version()->major, dnnl::version()->minor, dnnl::version()->patch, dst, threads, seconds);
  std::vector<std::string> lines;
  for (const Layer& l : kLayers) {
    for (const int batch : batches) {
      const std::string name = fmt::format("layer {} batch {}", l.describe(), batch);
      if (!filter.empty() && name.find(filter) == std::string::npos) continue;
      std::vector<std::unique_ptr<ApotLayer>> apot;
      for (const Kernel k : kernels) apot.push_back(std::make_unique<ApotLayer>(l, batch, threads, k));
      OnednnLayer onednn(l, batch, dst_type, engine);
      for (int i = 0; i < 3; ++i) {  // warm up
        for (auto& a : apot) a->run();
        onednn.run();
      }
      std::vector<std::vector<double>> a(apot.size());
      std::vector<double> o;
      double spent = 0;
      while ((spent < (1 + apot.size()) * seconds || o.size() < 7) && o.size() < 1000) {
        for (size_t k = 0; k < apot.size(); ++k) spent += a[k].emplace_back(apot[k]->run());
        spent += o.emplace_back(onednn.run());
      }
      const double to = median(o) * 1e3, fo = *std::min_element(o.begin(), o.end()) * 1e3;
      std::string line = fmt::format("{}: onednn {:.3f} ms", name, to);
      for (size_t k = 0; k < apot.size(); ++k) {
        const double ta = median(a[k]) * 1e3, fa = *std::min_element(a[k].begin(), a[k].end()) * 1e3;
        line += fmt::format("; {} {:.3f} ms, onednn/apot {:.2f} (fastest {:.2f})", apot[k]->kernel(), ta, to / ta,
                            fo / fa);
      }
      lines.push_back(line);
      fmt::print("{}   [{} reps; onednn {}]\n", line, o.size(), onednn.impl());
      std::fflush(stdout);
    }
  }
  fmt::print("\nsummary (onednn/apot >= 1: apot is faster); load average {}\n", load_average());
  for (const std::string& line : lines) fmt::print("{}\n", line);
}
