// The integer engine (deploy/engine/engine.h) on small hand-built models: every kernel family and thread count
// gives the same logits, bit for bit; they equal an independent double-precision evaluation of the
// model's maths where that evaluation is exact; the shift-add kernel counts one shift and one add per
// nonzero weight term and output position; bad input is refused with a clear message.
#include "deploy/engine/engine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/codec.h"
#include "tests/support/integer_model_builder.h"
#include "tests/support/resnet20_model.h"
#include "tests/support/tiny_model.h"

namespace apot::deploy::test {
namespace {

const LevelSetSpec kW8{Scheme::Uniform, 8, 1, true};
const LevelSetSpec kW4{Scheme::APoT, 4, 2, true};
const LevelSetSpec kW8Apot{Scheme::APoT, 8, 2, true};
const LevelSetSpec kA4{Scheme::APoT, 4, 2, false};
const LevelSetSpec kA8{Scheme::APoT, 8, 2, false};

// 8-bit first conv on the input codes, 4-bit APoT activations and weights, a residual block, max pool,
// a stride-2 stage with a 1x1 shortcut whose 8-bit APoT weights make its 4-bit input codes int16 for
// both readers, 8-bit activations into 8-bit APoT weights (int16 codes), and the average pool + 8-bit fc.
IntegerModel block_model(int channels, int size, uint32_t seed) {
  ModelBuilder b(channels, size, size, seed);
  const Tensor stem = b.conv("conv1", b.input(), 8, 3, 1, 1, kW8, -1, /*relu=*/true, false);
  const Tensor c1 = b.conv("layer1.0.conv1", b.act_quant(stem, kA4, 8.0), 8, 3, 1, 1, kW4, -1, true, false);
  const Tensor c2 = b.conv("layer1.0.conv2", b.act_quant(c1, kA4, 8.0), 8, 3, 1, 1, kW4, stem.buffer, true, false);
  const Tensor pooled = b.max_pool(c2, 3, 2, 1);
  const Tensor q = b.act_quant(pooled, kA4, 4.0);
  const Tensor down = b.conv("layer2.0.downsample.0", q, 16, 1, 2, 0, kW8Apot, -1, false, /*per_channel_alpha=*/true);
  const Tensor c3 = b.conv("layer2.0.conv1", q, 16, 3, 2, 1, kW4, -1, true, false);
  const Tensor c4 = b.conv("layer2.0.conv2", b.act_quant(c3, kA8, 8.0), 16, 3, 1, 1, kW8Apot, down.buffer, true, false);
  b.avg_pool_linear("fc", c4, 10, kW8);
  IntegerModel model = b.take();
  model.weight_bits = 4;
  model.act_bits = 4;
  return model;
}

// Power-of-two multipliers: every requant is then exact in double (the product keeps the accumulator's
// 31 significant bits), so the independent evaluation below is exact.
IntegerModel exact_model(IntegerModel model) {
  for (Op& op : model.ops) {
    if (auto* conv = std::get_if<ConvOp>(&op)) {
      for (int32_t& m : conv->requant.multiplier) m = 1 << 30;
    }
  }
  return model;
}

std::vector<float> random_input(const IntegerModel& m, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(batch) * m.in_channels * m.height * m.width);
  for (float& v : x) v = std::clamp(normal(rng), -7.9f, 7.9f);
  return x;
}

// The model's maths in double, NCHW, one image at a time, written from deploy/format/integer_model.h alone.
std::vector<float> evaluate(const IntegerModel& model, const float* input, int64_t batch) {
  struct Value {
    int c = 0, h = 0, w = 0;
    std::vector<double> v;
    double& at(int ch, int y, int x) { return v[(static_cast<size_t>(ch) * h + y) * w + x]; }
  };
  const auto integers = [](const LevelSetSpec& spec, const std::vector<WeightCode>& codes) {
    const LevelSet set = spec.make();
    std::vector<double> w;
    for (const WeightCode code : codes) w.push_back(static_cast<double>(decode(set, code).integer));
    return w;
  };
  const auto sat = [](double v) { return std::clamp(v, -2147483648.0, 2147483647.0); };
  std::vector<float> logits;
  for (int64_t n = 0; n < batch; ++n) {
    std::vector<Value> buf(static_cast<size_t>(model.buffer_count));
    Value& in = buf[0];
    in = {model.in_channels, model.height, model.width, {}};
    const float* image = input + n * model.in_channels * model.height * model.width;
    for (int i = 0; i < model.in_channels * model.height * model.width; ++i) {
      in.v.push_back(std::clamp(std::round(image[i] / model.input.scale), -32767.0, 32767.0));
    }
    for (const Op& op : model.ops) {
      if (const auto* a = std::get_if<ActQuantOp>(&op)) {
        Value out = buf[a->input];
        for (double& x : out.v) {
          size_t j = 0;
          while (j < a->thresholds.size() && x >= a->thresholds[j]) ++j;
          x = a->values[j];
        }
        buf[a->output] = out;
      } else if (const auto* c = std::get_if<ConvOp>(&op)) {
        Value& x = buf[c->input];
        const std::vector<double> w = integers(c->levels, c->codes);
        Value out{c->out_channels,
                  (x.h + 2 * c->padding - c->kernel) / c->stride + 1,
                  (x.w + 2 * c->padding - c->kernel) / c->stride + 1,
                  {}};
        out.v.assign(static_cast<size_t>(out.c) * out.h * out.w, 0);
        for (int co = 0; co < out.c; ++co)
          for (int oy = 0; oy < out.h; ++oy)
            for (int ox = 0; ox < out.w; ++ox) {
              double acc = 0;
              for (int ci = 0; ci < x.c; ++ci)
                for (int kh = 0; kh < c->kernel; ++kh)
                  for (int kw = 0; kw < c->kernel; ++kw) {
                    const int y = oy * c->stride - c->padding + kh, xx = ox * c->stride - c->padding + kw;
                    if (y >= 0 && xx >= 0 && y < x.h && xx < x.w) {
                      acc +=
                          x.at(ci, y, xx) * w[((static_cast<size_t>(co) * x.c + ci) * c->kernel + kh) * c->kernel + kw];
                    }
                  }
              const double m = c->requant.multiplier[co];
              EXPECT_EQ(std::exp2(std::round(std::log2(m))), m) << "exact only for power-of-two multipliers";
              const int s = c->requant.shift[co];
              double y = s == 0 ? acc * m : std::floor(std::ldexp(acc * m, -s) + 0.5);
              y = sat(y + c->requant.bias[co]);
              if (c->residual >= 0) y = sat(y + buf[c->residual].at(co, oy, ox));
              if (c->relu) y = std::max(y, 0.0);
              out.at(co, oy, ox) = y;
            }
        buf[c->output] = out;
      } else if (const auto* p = std::get_if<MaxPoolOp>(&op)) {
        Value& x = buf[p->input];
        Value out{x.c,
                  (x.h + 2 * p->padding - p->kernel) / p->stride + 1,
                  (x.w + 2 * p->padding - p->kernel) / p->stride + 1,
                  {}};
        out.v.assign(static_cast<size_t>(out.c) * out.h * out.w, -1e300);
        for (int ch = 0; ch < out.c; ++ch)
          for (int oy = 0; oy < out.h; ++oy)
            for (int ox = 0; ox < out.w; ++ox)
              for (int kh = 0; kh < p->kernel; ++kh)
                for (int kw = 0; kw < p->kernel; ++kw) {
                  const int y = oy * p->stride - p->padding + kh, xx = ox * p->stride - p->padding + kw;
                  if (y >= 0 && xx >= 0 && y < x.h && xx < x.w)
                    out.at(ch, oy, ox) = std::max(out.at(ch, oy, ox), x.at(ch, y, xx));
                }
        buf[p->output] = out;
      } else {
        const auto& l = std::get<AvgPoolLinearOp>(op);
        Value& x = buf[l.input];
        const std::vector<double> w = integers(l.levels, l.codes);
        for (int o = 0; o < l.out_features; ++o) {
          double acc = 0;
          for (int ch = 0; ch < x.c; ++ch) {
            double sum = 0;
            for (int i = 0; i < x.h * x.w; ++i) sum += x.v[static_cast<size_t>(ch) * x.h * x.w + i];
            acc += sum * w[static_cast<size_t>(o) * x.c + ch];
          }
          EXPECT_LT(std::abs(acc), std::ldexp(1.0, 53)) << "the double evaluation is exact below 2^53";
          logits.push_back(static_cast<float>(acc * l.scale[o] + l.bias[o]));
        }
      }
    }
  }
  return logits;
}

std::vector<float> run(const IntegerModel& model, Kernel kernel, int threads, const std::vector<float>& x,
                       int64_t batch, bool fuse = true) {
  Engine engine(model, EngineOptions{kernel, threads, fuse});
  return engine.run(x.data(), batch);
}

TEST(Engine, EveryKernelAndThreadCountGivesTheSameLogits) {
  struct Case {
    std::string name;
    IntegerModel model;
    int64_t batch;
  };
  std::vector<Case> cases;
  cases.push_back({"tiny 1x8x8", tiny_model(3), 3});
  cases.push_back({"block 1x8x8", block_model(1, 8, 4), 2});
  cases.push_back({"block 3x16x16", block_model(3, 16, 5), 5});
  cases.push_back({"block 3x13x13", block_model(3, 13, 6), 2});
  cases.push_back({"resnet20 4-bit", resnet20_model(4, 7), 2});
  cases.push_back({"resnet20 3-bit", resnet20_model(3, 8), 1});
  for (const Case& c : cases) {
    const std::vector<float> x = random_input(c.model, c.batch, 9);
    const std::vector<float> expected = run(c.model, Kernel::Scalar, 1, x, c.batch, /*fuse=*/false);
    ASSERT_EQ(expected.size(), static_cast<size_t>(c.batch * c.model.num_classes));
    for (const Kernel kernel : supported_kernels()) {
      for (const int threads : {1, 2, 3}) {
        for (const bool fuse : {true, false}) {
          if (kernel == Kernel::ShiftAdd && (threads == 3 || !fuse) && c.name.find("resnet") == 0) continue;  // slow
          EXPECT_EQ(run(c.model, kernel, threads, x, c.batch, fuse), expected)
              << c.name << ", " << to_string(kernel) << " kernel, " << threads << " threads"
              << (fuse ? "" : ", unfused");
        }
      }
    }
  }
}

// With a SIMD kernel each 1x1 downsampling shortcut runs inside the conv2 that adds its stream, and
// each activation quantiser inside the convolution before it: those ops have no time of their own.
TEST(Engine, RunsShortcutsAndQuantisersInsideTheirConvolutions) {
  const IntegerModel model = resnet20_model(4, 16);
  const std::vector<float> x = random_input(model, 1, 17);
  for (const Kernel kernel : supported_kernels()) {
    const bool simd = kernel == Kernel::Avx2 || kernel == Kernel::Avx512Vnni;
    for (const bool fuse : {true, false}) {
      Engine engine(model, EngineOptions{kernel, 1, fuse});
      engine.run(x.data(), 1);
      int shortcuts = 0;
      for (size_t i = 0; i < model.ops.size(); ++i) {
        const double seconds = engine.op_seconds()[i];
        const std::string what =
            fmt::format("op {} with the {} kernel{}", i, to_string(kernel), fuse ? "" : ", unfused");
        if (const auto* conv = std::get_if<ConvOp>(&model.ops[i])) {
          const bool shortcut = conv->name.find("downsample") != std::string::npos;
          shortcuts += shortcut;
          EXPECT_EQ(seconds == 0, shortcut && fuse && simd) << what << " (" << conv->name << ")";
        } else if (std::holds_alternative<ActQuantOp>(model.ops[i])) {
          EXPECT_EQ(seconds == 0, fuse) << what << " (activation quantiser)";
        }
      }
      EXPECT_EQ(shortcuts, 2);
    }
  }
}

TEST(Engine, EqualsAnExactDoubleEvaluation) {
  for (const auto& [model, batch] : {std::pair{exact_model(block_model(3, 12, 11)), 3},
                                     {exact_model(block_model(1, 9, 12)), 2},
                                     {exact_model(tiny_model(13)), 4}}) {
    const std::vector<float> x = random_input(model, batch, 10);
    const std::vector<float> expected = evaluate(model, x.data(), batch);
    for (const Kernel kernel : supported_kernels()) {
      EXPECT_EQ(run(model, kernel, 2, x, batch), expected) << to_string(kernel);
    }
  }
}

TEST(Engine, ImagesAreIndependentAndBuffersAreReused) {
  const IntegerModel model = block_model(3, 16, 14);
  const std::vector<float> x = random_input(model, 4, 15);
  Engine engine(model);
  const std::vector<float> all = engine.run(x.data(), 4);
  const size_t image = static_cast<size_t>(3 * 16 * 16), classes = 10;
  for (int64_t n = 3; n >= 0; --n) {  // smaller batches after the larger one, then larger again
    const std::vector<float> one = engine.run(x.data() + n * image, 1);
    EXPECT_EQ(one, std::vector<float>(all.begin() + n * classes, all.begin() + (n + 1) * classes)) << "image " << n;
  }
  EXPECT_EQ(engine.run(x.data(), 4), all);
}

TEST(Engine, ShiftAddCountsOneShiftAndOneAddPerTermAndOutput) {
  const IntegerModel model = block_model(3, 12, 16);
  const int64_t batch = 3;
  const std::vector<float> x = random_input(model, batch, 17);
  Engine engine(model, EngineOptions{Kernel::ShiftAdd, 2});
  engine.run(x.data(), batch);
  ASSERT_EQ(engine.op_counts().size(), model.ops.size());
  ShiftAddCounts total;
  // Output sizes of every buffer, followed through the program.
  std::vector<std::pair<int, int>> size(static_cast<size_t>(model.buffer_count));
  size[0] = {model.height, model.width};
  for (size_t i = 0; i < model.ops.size(); ++i) {
    int64_t expected = 0;
    if (const auto* c = std::get_if<ConvOp>(&model.ops[i])) {
      const LevelSet set = c->levels.make();
      int64_t terms = 0;
      for (const uint8_t code : c->codes) terms += static_cast<int64_t>(decode(set, code).exponents.size());
      const auto [h, w] = size[c->input];
      const int oh = (h + 2 * c->padding - c->kernel) / c->stride + 1,
                ow = (w + 2 * c->padding - c->kernel) / c->stride + 1;
      size[c->output] = {oh, ow};
      expected = terms * batch * oh * ow;
    } else if (const auto* a = std::get_if<ActQuantOp>(&model.ops[i])) {
      size[a->output] = size[a->input];
    } else if (const auto* p = std::get_if<MaxPoolOp>(&model.ops[i])) {
      const auto [h, w] = size[p->input];
      size[p->output] = {(h + 2 * p->padding - p->kernel) / p->stride + 1,
                         (w + 2 * p->padding - p->kernel) / p->stride + 1};
    }
    EXPECT_EQ(engine.op_counts()[i].shifts, expected) << "op " << i;
    EXPECT_EQ(engine.op_counts()[i].adds, expected) << "op " << i;
    total += engine.op_counts()[i];
  }
  EXPECT_GT(total.shifts, 0);
  EXPECT_EQ(engine.counts(), total);
  // Other kernels count nothing.
  Engine scalar(model, EngineOptions{Kernel::Scalar, 1});
  scalar.run(x.data(), batch);
  EXPECT_EQ(scalar.counts(), ShiftAddCounts{});
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing '" << part << "'";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// With 2 threads the error crosses a parallel region; with 1 there is none (Engine runs it inline).
TEST(Engine, RefusesBadInput) {
  const IntegerModel model = block_model(3, 8, 18);  // scale 1/4096: |x| <= 7.99976
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    Engine engine(model, EngineOptions{Kernel::Auto, threads});
    std::vector<float> x = random_input(model, 2, 19);
    expect_error([&] { engine.run(x.data(), 0); }, "batch = 0, expected >= 1");
    expect_error([&] { engine.run(x.data(), -3); }, "batch = -3");
    expect_error([&] { engine.run(nullptr, 1); }, "null");
    x[1 * 3 * 64 + 2 * 64 + 5 * 8 + 6] = std::nanf("");
    expect_error([&] { engine.run(x.data(), 2); }, "input[1][2][5][6] = nan is not a number");
    x[1 * 3 * 64 + 2 * 64 + 5 * 8 + 6] = 9.0f;
    expect_error([&] { engine.run(x.data(), 2); }, "input[1][2][5][6] = 9 is out of range");
    x[1 * 3 * 64 + 2 * 64 + 5 * 8 + 6] = 0.0f;
    EXPECT_EQ(engine.run(x.data(), 2).size(), 20u);  // usable after an error
  }
}

TEST(Engine, RefusesBadModelsAndOptions) {
  IntegerModel model = block_model(1, 8, 20);
  std::get<ConvOp>(model.ops[2]).requant.shift[0] = 63;
  expect_error([&] { Engine e(model); }, "requant.shift[0] = 63");
  expect_error([&] { Engine e(block_model(1, 8, 20), EngineOptions{Kernel::Auto, -1}); }, "threads = -1");
}

TEST(Engine, ReportsItsKernelAndThreads) {
  const IntegerModel model = tiny_model(21);
  Engine engine(model, EngineOptions{Kernel::Auto, 0});
  EXPECT_EQ(engine.kernel(), resolve(Kernel::Auto));
  EXPECT_EQ(engine.kernel_name(), to_string(engine.kernel()));
  EXPECT_GE(engine.threads(), 1);
  EXPECT_EQ(engine.num_classes(), 3);
  const std::vector<float> x = random_input(model, 1, 22);
  engine.run(x.data(), 1);
  EXPECT_EQ(engine.op_seconds().size(), model.ops.size());
  Engine shift_add(model, EngineOptions{Kernel::ShiftAdd, 1});
  EXPECT_EQ(shift_add.kernel_name(), "shift-add");
}

}  // namespace
}  // namespace apot::deploy::test
