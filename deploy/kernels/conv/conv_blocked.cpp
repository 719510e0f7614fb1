// The plain C++ side of the blocked convolution (deploy/kernels/conv/conv_blocked.h): the weights repacked once into
// the order the tiles read them, the input offsets of every output pixel and tap, and the split of a
// call into (image, channel block, pixel tile) items. The ISA files do the arithmetic.
#include "deploy/kernels/conv/conv_blocked.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "deploy/kernels/conv/conv_kernel.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

struct IsaEntry {
  BlockedTiling tiling;
  BlockedRunFn run;
  BlockedSpanFn span;
  int int16_sums = 0;
};

IsaEntry entry_for(Kernel family, const ConvLayer& layer) {
  const IsaKernels& row = isa_kernels(isa_of(family));
  const BlockedConvIsa* conv = layer.shape.in.type == CodeType::U8 ? row.conv_u8 : row.conv_s16;
  if (family == Kernel::ShiftAdd || conv == nullptr) {
    throw std::invalid_argument(fmt::format("the {} kernel is not a blocked SIMD convolution", to_string(family)));
  }
  if (!conv->int16_pair_sums) return {conv->tiling, conv->run, conv->span};
  const int sums = avx2_u8_int16_sums(layer);
  if (sums == 0) {
    int32_t max_weight = 0;
    for (const int32_t w : layer.weights) max_weight = std::max(max_weight, std::abs(w));
    const int32_t max_input = layer.max_input > 0 ? layer.max_input : 255;
    throw std::invalid_argument(fmt::format("the {} convolution on uint8 codes adds pairs of products in int16: "
                                            "codes up to {} and weights up to {} would saturate it",
                                            to_string(family), max_input, max_weight));
  }
  return {conv->tiling, conv->run, conv->span, sums};
}

class BlockedConv final : public ConvKernel {
 public:
  BlockedConv(Kernel family, const ConvLayer& layer)
      : family_(family),
        shape_(layer.shape),
        entry_(entry_for(family, layer)),
        requant_(layer.multiplier.data(), layer.shift.data(), layer.bias.data(), layer.shape.out.channels,
                 layer.shape.out.stride, acc_ranges(layer).data()),
        relu_(layer.relu) {
    const BlockedTiling& t = entry_.tiling;
    const ConvShape& s = shape_;
    const int vectors = s.out.stride / t.lanes;
    block_vectors_ = std::min(t.max_vectors, vectors);
    blocks_ = (vectors + block_vectors_ - 1) / block_vectors_;
    last_block_vectors_ = vectors - (blocks_ - 1) * block_vectors_;
    groups_ = s.in.stride / t.group;
    for (int oy = 0; oy < s.out.height; ++oy) {
      for (int ox = 0; ox < s.out.width; ++ox) {
        pixel_offset_.push_back(s.in.pixel(oy * s.stride - s.padding, ox * s.stride - s.padding));
      }
    }
    plan_tiles(t.tile_pixels[block_vectors_]);
    block_weights_ = int64_t{s.taps()} * groups_ * block_vectors_ * t.lanes * t.group;
    if (t.weight_bytes == 1) {
      weights8_ = pack<int8_t>(layer.weights);
    } else {
      weights16_ = pack<int16_t>(layer.weights);
    }
  }

  Kernel family() const override { return family_; }
  int64_t work_items(int64_t batch) const override { return batch * blocks_ * static_cast<int64_t>(tiles_.size()); }

  void run(const ConvCall& call, int64_t begin, int64_t end, ShiftAddCounts*) const override {
    BlockedConvArgs a = args(call), shortcut;
    if (call.residual_conv != nullptr) {
      // One that computes_residual admitted: a BlockedConv of this family, shape, tiles and blocks.
      const auto* conv = dynamic_cast<const BlockedConv*>(call.residual_conv);
      if (conv == nullptr) throw std::invalid_argument("the residual convolution is not a blocked SIMD convolution");
      ConvCall c;
      c.input = call.residual_input;
      c.batch = call.batch;
      shortcut = conv->args(c);
      a.shortcut = &shortcut;
      a.shortcut_span = conv->entry_.span;
    }
    entry_.run(a, begin, end);
  }

  // Same family, output shape, channel blocks and tiles, so that a span of this one's tiles is a span
  // of the shortcut's. (Its requant then runs without a residual: the caller checks it has none.)
  bool computes_residual(const ConvKernel& kernel) const override {
    const auto* s = dynamic_cast<const BlockedConv*>(&kernel);
    if (s == nullptr || s->family_ != family_ || s->tiles_.size() != tiles_.size()) return false;
    const StreamLayout &mine = shape_.out, &theirs = s->shape_.out;
    if (mine.channels != theirs.channels || mine.height != theirs.height || mine.width != theirs.width ||
        mine.stride != theirs.stride || s->blocks_ != blocks_ || s->block_vectors_ != block_vectors_ ||
        s->last_block_vectors_ != last_block_vectors_) {
      return false;
    }
    for (size_t i = 0; i < tiles_.size(); ++i) {
      if (tiles_[i].first != s->tiles_[i].first || tiles_[i].count != s->tiles_[i].count) return false;
    }
    return true;
  }

 private:
  BlockedConvArgs args(const ConvCall& call) const {
    BlockedConvArgs a;
    a.input = call.input;
    a.in_image = shape_.in.image_elements();
    a.pixel_offset = pixel_offset_.data();
    a.tiles = tiles_.data();
    a.tiles_per_image = static_cast<int>(tiles_.size());
    a.taps = taps_.data();
    a.groups = groups_;
    a.int16_sums = entry_.int16_sums;
    a.weights = weights8_.empty() ? static_cast<const void*>(weights16_.data()) : weights8_.data();
    a.block_weights = block_weights_;
    a.block_vectors = block_vectors_;
    a.last_block_vectors = last_block_vectors_;
    a.blocks = blocks_;
    a.requant = requant_.view();
    a.relu = relu_;
    a.residual = call.residual;
    a.output = call.output;
    a.out_image = shape_.out.image_elements();
    a.out_stride = shape_.out.stride;
    a.out_width = shape_.out.width;
    a.out_channels = shape_.out.channels;
    a.quantizers = call.quantizers;
    a.quantizer_count = call.quantizer_count;
    a.acc_quant = call.output == nullptr && call.residual == nullptr && call.residual_conv == nullptr &&
                  call.quantizer_count > 0;
    for (int q = 0; q < call.quantizer_count; ++q) a.acc_quant = a.acc_quant && call.quantizers[q].acc != nullptr;
    return a;
  }

  // The tiles of one image: its pixels in raster order cut into near-equal pieces of at most max_pixels,
  // across row ends (a tile's pixels each read their own window, so they need not share a row; tiles of
  // row pieces would be short on ResNet-20's 8-pixel rows: 4 where 6 fit), each tile with the taps that
  // reach the input for at least one of its pixels (the others read only the zero border).
  void plan_tiles(int max_pixels) {
    const ConvShape& s = shape_;
    const int width = s.out.width, height = s.out.height;
    const auto add_tile = [&](int first, int count) {
      Tile tile{first, count, first / width, first % width, static_cast<int>(taps_.size()), 0};
      for (int kh = 0; kh < s.kernel; ++kh) {
        for (int kw = 0; kw < s.kernel; ++kw) {
          bool live = false;
          for (int p = first; p < first + count && !live; ++p) {
            const int y = p / width * s.stride - s.padding + kh, x = p % width * s.stride - s.padding + kw;
            live = y >= 0 && y < s.in.height && x >= 0 && x < s.in.width;
          }
          if (live) {
            taps_.push_back({s.in.pixel(kh, kw) - s.in.pixel(0, 0), kh * s.kernel + kw});
            ++tile.taps;
          }
        }
      }
      tiles_.push_back(tile);
    };
    const int pixels = width * height, pieces = (pixels + max_pixels - 1) / max_pixels;
    for (int i = 0, first = 0; i < pieces; ++i) {
      const int count = pixels / pieces + (i < pixels % pieces ? 1 : 0);
      add_tile(first, count);
      first += count;
    }
  }

  // [block][tap][group][vectors x lanes][group], zeros for the padded input and output channels.
  template <class W>
  std::vector<W> pack(const std::vector<int32_t>& weights) const {
    const BlockedTiling& t = entry_.tiling;
    const ConvShape& s = shape_;
    std::vector<W> packed(static_cast<size_t>(blocks_ * block_weights_), 0);
    for (int block = 0; block < blocks_; ++block) {
      const int width = (block + 1 == blocks_ ? last_block_vectors_ : block_vectors_) * t.lanes;
      W* out = packed.data() + block * block_weights_;
      for (int tap = 0; tap < s.taps(); ++tap) {
        for (int g = 0; g < groups_; ++g) {
          for (int lane = 0; lane < width; ++lane) {
            for (int j = 0; j < t.group; ++j, ++out) {
              const int co = block * block_vectors_ * t.lanes + lane, ci = g * t.group + j;
              if (co >= s.out.channels || ci >= s.in.channels) continue;
              const int32_t w = weights[(static_cast<size_t>(co) * s.in.channels + ci) * s.taps() + tap];
              if (w < std::numeric_limits<W>::min() || w > std::numeric_limits<W>::max()) {
                throw std::invalid_argument(fmt::format(
                    "weight [{}][{}] tap {} = {} does not fit the {}-bit weights of the {} kernel for {} codes", co, ci,
                    tap, w, 8 * sizeof(W), to_string(family_), s.in.type == CodeType::U8 ? "uint8" : "int16"));
              }
              *out = static_cast<W>(w);
            }
          }
        }
      }
    }
    return packed;
  }

  Kernel family_;
  ConvShape shape_;
  IsaEntry entry_;
  RequantTable requant_;
  bool relu_;
  int block_vectors_ = 0, last_block_vectors_ = 0, blocks_ = 0;
  int groups_ = 0;
  int64_t block_weights_ = 0;
  std::vector<int64_t> pixel_offset_;
  std::vector<Tile> tiles_;
  std::vector<TileTap> taps_;
  std::vector<int8_t> weights8_;
  std::vector<int16_t> weights16_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv_blocked(Kernel family, const ConvLayer& layer) {
  return std::make_unique<BlockedConv>(family, layer);
}

}  // namespace apot::deploy
