#include "deploy/engine/engine.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <stdexcept>
#include <tuple>
#include <variant>

#include "core/codec.h"
#include "deploy/engine/input_quant.h"
#include "deploy/engine/pooling.h"
#include "deploy/format/validate.h"
#include "deploy/kernels/kernel_table.h"
#include "deploy/kernels/layout.h"

namespace apot::deploy {

namespace {

// Zeroed, 64-byte aligned bytes that only grow: the zeros are the codes' borders and channel padding,
// which no op writes.
class Storage {
 public:
  void ensure(int64_t bytes) {
    if (bytes <= size_) return;
    const size_t rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
    data_.reset(static_cast<unsigned char*>(std::aligned_alloc(64, rounded)));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_.get(), 0, rounded);
    size_ = bytes;
  }
  unsigned char* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char[], Free> data_;
  int64_t size_ = 0;
};

struct Buffer {
  BufferKind kind = BufferKind::Codes;
  bool stored = true;   // false: a stream only fused quantisers read, never written
  CodesLayout codes;    // kind Codes
  int32_t max_abs = 0;  // kind Codes: the largest |value| it can hold (deploy/format/validate.h)
  StreamLayout stream;  // kind Stream
  Storage storage;

  int64_t image_bytes() const {
    return kind == BufferKind::Codes ? codes.image_elements() * codes.element_bytes()
                                     : stream.image_elements() * int64_t{sizeof(int32_t)};
  }
  int32_t* stream_data() const { return reinterpret_cast<int32_t*>(storage.data()); }
};

struct ActQuantStep {
  int input = 0, output = 0;
  ActQuantTable table;
  bool fused = false;  // runs in the epilogue of the convolution that writes its input
};
struct ConvStep {
  int input = 0, output = 0, residual = -1;
  std::unique_ptr<ConvKernel> kernel;
  std::vector<size_t> fused;                        // the ActQuantSteps in its epilogue
  std::vector<std::unique_ptr<AccQuantTable>> acc;  // theirs on the accumulators (null: two steps)
  std::vector<FusedActQuant> quantizers;            // theirs, pointing at this run's buffers
  int shortcut = -1;       // the step whose stream (this one's residual) it computes span by span, if any
  bool in_reader = false;  // a shortcut computed by the convolution that adds its stream
};
struct MaxPoolStep {
  int input = 0, output = 0;
  MaxPoolShape shape;
};
struct LinearStep {
  int input = 0;
  std::vector<int32_t> weights;
  std::vector<double> scale, bias;
};
using Step = std::variant<ActQuantStep, ConvStep, MaxPoolStep, LinearStep>;

// The level sets the model's specs name, each built once.
class LevelSets {
 public:
  const LevelSet& get(const LevelSetSpec& spec) {
    const auto key = std::make_tuple(spec.scheme, spec.bits, spec.k, spec.is_signed);
    auto it = sets_.find(key);
    if (it == sets_.end()) it = sets_.emplace(key, spec.make()).first;
    return it->second;
  }

 private:
  std::map<std::tuple<Scheme, int, int, bool>, LevelSet> sets_;
};

std::vector<int32_t> decode_integers(const LevelSet& set, const std::vector<WeightCode>& codes) {
  std::vector<int32_t> integers(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) integers[i] = static_cast<int32_t>(decode(set, codes[i]).integer);
  return integers;
}

}  // namespace

class Engine::Impl {
 public:
  Impl(const IntegerModel& model, EngineOptions options) {
    const std::vector<BufferShape> shapes = validate(model);
    if (options.threads < 0) {
      throw std::invalid_argument(fmt::format("threads = {}, expected >= 1 or 0 for all cores", options.threads));
    }
    kernel_ = resolve(options.kernel);
    isa_ = isa_of(kernel_);
    threads_ = options.threads > 0 ? options.threads : omp_get_num_procs();
    classes_ = model.num_classes;
    in_channels_ = model.in_channels;
    height_ = model.height;
    width_ = model.width;
    input_scale_ = model.input.scale;
    plan_buffers(model, shapes);
    for (const Op& op : model.ops) steps_.push_back(std::visit([this](const auto& o) { return prepare(o); }, op));
    if (options.fuse) {
      const std::vector<std::vector<size_t>> readers = buffer_readers(model);
      fuse_act_quant(model, readers);
      fuse_shortcuts(readers);
    }
    op_counts_.resize(steps_.size());
    op_seconds_.resize(steps_.size());
    thread_counts_.resize(static_cast<size_t>(threads_));
    thread_errors_.resize(static_cast<size_t>(threads_));
  }

  std::vector<float> run(const float* input, int64_t batch) {
    if (batch < 1) throw std::invalid_argument(fmt::format("batch = {}, expected >= 1", batch));
    if (input == nullptr) throw std::invalid_argument("the input is null");
    for (Buffer& b : buffers_) {
      if (b.stored) b.storage.ensure(batch * b.image_bytes());
    }
    std::vector<float> logits(static_cast<size_t>(batch * classes_));
    last_batch_ = batch;

    const Buffer& in = buffers_[0];
    const int64_t image_floats = int64_t{in_channels_} * height_ * width_;
    parallel_for(batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        quantize_input(input + n * image_floats, n, input_scale_, in.codes,
                       reinterpret_cast<int16_t*>(in.storage.data()) + n * in.codes.image_elements());
      }
    });
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (runs_inside_another(steps_[i])) {
        op_counts_[i] = {};
        op_seconds_[i] = 0;
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      op_counts_[i] = std::visit([&](auto& step) { return execute(step, batch, logits.data()); }, steps_[i]);
      op_seconds_[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return logits;
  }

  Kernel kernel() const { return kernel_; }
  int threads() const { return threads_; }
  int num_classes() const { return classes_; }
  const std::vector<ShiftAddCounts>& op_counts() const { return op_counts_; }
  const std::vector<double>& op_seconds() const { return op_seconds_; }

  std::vector<int32_t> buffer_values(int index) const {
    if (index < 0 || static_cast<size_t>(index) >= buffers_.size()) {
      throw std::out_of_range(fmt::format("buffer {}: the model has buffers 0 to {}", index, buffers_.size() - 1));
    }
    const Buffer& b = buffers_[static_cast<size_t>(index)];
    if (last_batch_ == 0) throw std::logic_error("buffer_values: the engine has not run yet");
    if (!b.stored) {
      throw std::logic_error(fmt::format("buffer {} is a stream only fused ops read, never stored: run with fuse = false",
                                         index));
    }
    const bool codes = b.kind == BufferKind::Codes;
    const int channels = codes ? b.codes.channels : b.stream.channels;
    const int height = codes ? b.codes.height : b.stream.height, width = codes ? b.codes.width : b.stream.width;
    std::vector<int32_t> values(static_cast<size_t>(last_batch_ * channels * height * width));
    size_t i = 0;
    for (int64_t n = 0; n < last_batch_; ++n) {
      for (int c = 0; c < channels; ++c) {
        for (int y = 0; y < height; ++y) {
          for (int x = 0; x < width; ++x, ++i) {
            if (!codes) {
              values[i] = b.stream_data()[n * b.stream.image_elements() + (int64_t{y} * width + x) * b.stream.stride + c];
              continue;
            }
            const int64_t at = n * b.codes.image_elements() + b.codes.pixel(y, x) + c;
            values[i] = b.codes.type == CodeType::U8 ? b.storage.data()[at]
                                                     : reinterpret_cast<const int16_t*>(b.storage.data())[at];
          }
        }
      }
    }
    return values;
  }

 private:
  // Layouts: each codes buffer keeps the zero border its widest-padded reader needs, and is uint8 when
  // every value fits (activation levels up to 255; the input codes are signed), every reader's weights
  // fit int8 (u8 x s8 products), and for avx2 their int16 pair sums cannot saturate (avx2_u8_exact).
  void plan_buffers(const IntegerModel& model, const std::vector<BufferShape>& shapes) {
    std::vector<int> border(shapes.size(), 0);
    std::vector<bool> uint8(shapes.size(), false);
    for (size_t b = 1; b < shapes.size(); ++b) {
      uint8[b] = shapes[b].kind == BufferKind::Codes && shapes[b].max_abs <= 255;
    }
    for (const Op& op : model.ops) {
      if (const auto* conv = std::get_if<ConvOp>(&op)) {
        const size_t b = static_cast<size_t>(conv->input);
        border[b] = std::max(border[b], conv->padding);
        int32_t max_weight = 0;
        for (const int32_t w : decode_integers(levels_.get(conv->levels), conv->codes)) {
          if (w < -128 || w > 127) uint8[b] = false;
          max_weight = std::max(max_weight, std::abs(w));
        }
        const BlockedConvIsa* u8 = isa_kernels(isa_).conv_u8;
        if (u8 != nullptr && u8->int16_pair_sums && !avx2_u8_exact(shapes[b].max_abs, max_weight)) uint8[b] = false;
      }
    }
    buffers_.resize(shapes.size());
    for (size_t b = 0; b < shapes.size(); ++b) {
      const BufferShape& s = shapes[b];
      Buffer& buffer = buffers_[b];
      buffer.kind = s.kind;
      buffer.max_abs = s.max_abs;
      if (s.kind == BufferKind::Codes) {
        buffer.codes =
            CodesLayout::make(uint8[b] ? CodeType::U8 : CodeType::S16, s.channels, s.height, s.width, border[b]);
      } else {
        buffer.stream = StreamLayout::make(s.channels, s.height, s.width);
      }
    }
  }

  // Every activation quantiser reading a convolution's output moves into that convolution's epilogue
  // (its input is final once the convolution ran, and its codes are read only later); the stream is
  // then stored only if another kind of op reads it.
  // The ops that read each buffer, as their input or as a residual.
  std::vector<std::vector<size_t>> buffer_readers(const IntegerModel& model) const {
    std::vector<std::vector<size_t>> readers(buffers_.size());
    for (size_t i = 0; i < model.ops.size(); ++i) {
      std::visit([&](const auto& op) { readers[static_cast<size_t>(op.input)].push_back(i); }, model.ops[i]);
      if (const auto* conv = std::get_if<ConvOp>(&model.ops[i]); conv != nullptr && conv->residual >= 0) {
        readers[static_cast<size_t>(conv->residual)].push_back(i);
      }
    }
    return readers;
  }

  void fuse_act_quant(const IntegerModel& model, const std::vector<std::vector<size_t>>& readers) {
    for (size_t i = 0; i < model.ops.size(); ++i) {
      auto* conv = std::get_if<ConvStep>(&steps_[i]);
      if (conv == nullptr) continue;
      bool stored = false;
      for (const size_t j : readers[static_cast<size_t>(conv->output)]) {
        if (auto* quant = std::get_if<ActQuantStep>(&steps_[j])) {
          quant->fused = true;
          conv->fused.push_back(j);
        } else {
          stored = true;
        }
      }
      buffers_[static_cast<size_t>(conv->output)].stored = stored;
      // Without a residual or a kept stream, the quantisers can move onto the accumulators.
      const auto& op = std::get<ConvOp>(model.ops[i]);
      const StreamLayout& out = buffers_[static_cast<size_t>(conv->output)].stream;
      for (const size_t j : conv->fused) {
        const ActQuantTable& table = std::get<ActQuantStep>(steps_[j]).table;
        conv->acc.push_back(!stored && op.residual < 0 && AccQuantTable::supports(table)
                                ? std::make_unique<AccQuantTable>(op.requant.multiplier.data(), op.requant.shift.data(),
                                                                  op.requant.bias.data(), op.relu, out.channels,
                                                                  out.stride, table)
                                : nullptr);
      }
    }
  }

  // A convolution whose stream only one other convolution reads, as its residual (the 1x1 downsampling
  // shortcut of a residual block), is computed by that convolution span by span, where the kernel can
  // (ConvKernel::computes_residual): its stream is then never stored. Its input codes are still there
  // when the reader runs, as every buffer is written once (deploy/format/validate.h).
  void fuse_shortcuts(const std::vector<std::vector<size_t>>& readers) {
    std::vector<int> writer(buffers_.size(), -1);  // the convolution writing each buffer
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (const auto* conv = std::get_if<ConvStep>(&steps_[i])) {
        writer[static_cast<size_t>(conv->output)] = static_cast<int>(i);
      }
    }
    for (auto& step : steps_) {
      auto* conv = std::get_if<ConvStep>(&step);
      if (conv == nullptr || conv->residual < 0) continue;
      const size_t r = static_cast<size_t>(conv->residual);
      const int w = writer[r];
      auto* shortcut = w >= 0 ? &std::get<ConvStep>(steps_[static_cast<size_t>(w)]) : nullptr;
      if (shortcut == nullptr || shortcut->residual >= 0 || readers[r].size() != 1 ||
          !conv->kernel->computes_residual(*shortcut->kernel)) {
        continue;
      }
      conv->shortcut = w;
      shortcut->in_reader = true;
      buffers_[r].stored = false;
    }
  }

  Step prepare(const ActQuantOp& op) {
    return ActQuantStep{op.input, op.output,
                        ActQuantTable(op.thresholds.data(), op.values.data(), static_cast<int>(op.values.size()))};
  }

  Step prepare(const ConvOp& op) {
    const ConvShape shape =
        ConvShape::make(buffers_[op.input].codes, op.out_channels, op.kernel, op.stride, op.padding);
    ConvLayer layer =
        ConvLayer::from_codes(shape, levels_.get(op.levels), op.codes.data(), op.requant.multiplier.data(),
                              op.requant.shift.data(), op.requant.bias.data(), op.relu);
    layer.max_input = buffers_[op.input].max_abs;
    ConvStep step;
    step.input = op.input;
    step.output = op.output;
    step.residual = op.residual;
    step.kernel = make_conv_kernel(kernel_, layer);
    return step;
  }

  Step prepare(const MaxPoolOp& op) {
    return MaxPoolStep{op.input, op.output,
                       MaxPoolShape::make(buffers_[op.input].stream, op.kernel, op.stride, op.padding)};
  }

  Step prepare(const AvgPoolLinearOp& op) {
    return LinearStep{op.input, decode_integers(levels_.get(op.levels), op.codes), op.scale, op.bias};
  }

  // Fused into the epilogue of a convolution (an activation quantiser) or computed by its reader (a
  // shortcut): it has no run of its own.
  static bool runs_inside_another(const Step& step) {
    if (const auto* quant = std::get_if<ActQuantStep>(&step)) return quant->fused;
    if (const auto* conv = std::get_if<ConvStep>(&step)) return conv->in_reader;
    return false;
  }

  ShiftAddCounts execute(const ActQuantStep& step, int64_t batch, float*) {
    const Buffer& in = buffers_[step.input];
    const Buffer& out = buffers_[step.output];
    const int height = in.stream.height, width = in.stream.width;
    // Each thread's rows of an image in one call, over the codes' row ends.
    parallel_for(batch * height, [&](int64_t begin, int64_t end, int) {
      for (int64_t row = begin; row < end;) {
        const int64_t n = row / height, rows = std::min(end, (n + 1) * height) - row;
        const int y = static_cast<int>(row % height);
        ActQuantRows r;
        r.in = in.stream_data() + n * in.stream.image_elements() + int64_t{y} * width * in.stream.stride;
        r.in_stride = in.stream.stride;
        r.out =
            out.storage.data() + (n * out.codes.image_elements() + out.codes.pixel(y, 0)) * out.codes.element_bytes();
        r.out_stride = out.codes.stride;
        r.type = out.codes.type;
        r.pixels = rows * width;
        r.channels = in.stream.channels;
        r.row_ends = out.codes.row_ends(0);
        isa_kernels(isa_).act_quantize(step.table, r);
        row += rows;
      }
    });
    return {};
  }

  ShiftAddCounts execute(ConvStep& step, int64_t batch, float*) {
    step.quantizers.clear();
    for (size_t k = 0; k < step.fused.size(); ++k) {
      const auto& quant = std::get<ActQuantStep>(steps_[step.fused[k]]);
      const Buffer& codes = buffers_[static_cast<size_t>(quant.output)];
      step.quantizers.push_back({&quant.table, codes.codes, codes.storage.data(), step.acc[k].get()});
    }
    const Buffer& out = buffers_[step.output];
    ConvCall call;
    call.input = buffers_[step.input].storage.data();
    if (step.shortcut >= 0) {
      const auto& shortcut = std::get<ConvStep>(steps_[static_cast<size_t>(step.shortcut)]);
      call.residual_conv = shortcut.kernel.get();
      call.residual_input = buffers_[shortcut.input].storage.data();
    } else if (step.residual >= 0) {
      call.residual = buffers_[step.residual].stream_data();
    }
    call.output = out.stored ? out.stream_data() : nullptr;
    call.quantizers = step.quantizers.data();
    call.quantizer_count = static_cast<int>(step.quantizers.size());
    call.batch = batch;
    std::fill(thread_counts_.begin(), thread_counts_.end(), ShiftAddCounts{});
    parallel_for(step.kernel->work_items(batch), [&](int64_t begin, int64_t end, int thread) {
      step.kernel->run(call, begin, end, &thread_counts_[thread]);
    });
    ShiftAddCounts total;
    for (const ShiftAddCounts& c : thread_counts_) total += c;
    return total;
  }

  ShiftAddCounts execute(const MaxPoolStep& step, int64_t batch, float*) {
    const int32_t* in = buffers_[step.input].stream_data();
    int32_t* out = buffers_[step.output].stream_data();
    parallel_for(batch * step.shape.out.height,
                 [&](int64_t begin, int64_t end, int) { max_pool(step.shape, in, out, begin, end); });
    return {};
  }

  ShiftAddCounts execute(const LinearStep& step, int64_t batch, float* logits) {
    const Buffer& in = buffers_[step.input];
    AvgPoolLinear op;
    op.in = in.stream;
    op.out_features = classes_;
    op.weights = step.weights.data();
    op.scale = step.scale.data();
    op.bias = step.bias.data();
    parallel_for(batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        avg_pool_linear(op, in.stream_data() + n * in.stream.image_elements(), logits + n * classes_);
      }
    });
    return {};
  }

  // f(begin, end, thread) on contiguous shares of [0, items), one per thread. The first exception (by
  // thread) is rethrown after the parallel region: none may leave it.
  template <class F>
  void parallel_for(int64_t items, F&& f) {
    if (items <= 0) return;
    const int threads = static_cast<int>(std::min<int64_t>(threads_, items));
    if (threads == 1) {  // no parallel region: at batch 1 its setup weighs on layers of a few microseconds
      f(0, items, 0);
      return;
    }
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), count = omp_get_num_threads();
      try {
        f(items * t / count, items * (t + 1) / count, t);
      } catch (...) {
        thread_errors_[static_cast<size_t>(t)] = std::current_exception();
      }
    }
    for (std::exception_ptr& e : thread_errors_) {
      if (e) {
        const std::exception_ptr first = e;
        std::fill(thread_errors_.begin(), thread_errors_.end(), nullptr);
        std::rethrow_exception(first);
      }
    }
  }

  Kernel kernel_ = Kernel::Scalar;
  Isa isa_ = Isa::Scalar;
  int threads_ = 1;
  int classes_ = 0, in_channels_ = 0, height_ = 0, width_ = 0;
  double input_scale_ = 1;
  int64_t last_batch_ = 0;
  LevelSets levels_;
  std::vector<Buffer> buffers_;
  std::vector<Step> steps_;
  std::vector<ShiftAddCounts> op_counts_, thread_counts_;
  std::vector<double> op_seconds_;
  std::vector<std::exception_ptr> thread_errors_;
};

Engine::Engine(const IntegerModel& model, EngineOptions options) : impl_(std::make_unique<Impl>(model, options)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

std::vector<float> Engine::run(const float* input_nchw, int64_t batch) { return impl_->run(input_nchw, batch); }
Kernel Engine::kernel() const { return impl_->kernel(); }
std::string_view Engine::kernel_name() const { return to_string(impl_->kernel()); }
int Engine::threads() const { return impl_->threads(); }
int Engine::num_classes() const { return impl_->num_classes(); }
const std::vector<ShiftAddCounts>& Engine::op_counts() const { return impl_->op_counts(); }
const std::vector<double>& Engine::op_seconds() const { return impl_->op_seconds(); }
std::vector<int32_t> Engine::buffer_values(int buffer) const { return impl_->buffer_values(buffer); }

ShiftAddCounts Engine::counts() const {
  ShiftAddCounts total;
  for (const ShiftAddCounts& c : impl_->op_counts()) total += c;
  return total;
}

}  // namespace apot::deploy
