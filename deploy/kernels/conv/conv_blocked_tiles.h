// The tile loop of the blocked convolution (deploy/kernels/conv/conv_blocked.h), written once for every ISA file.
// Each ISA file instantiates it with its own microkernel type, declared in that file's anonymous
// namespace, so no function compiled with one file's instruction set can stand in for another's.
//
// Microkernel: In (code type), W (weight type), kTiling (a BlockedTiling), and
//   template <int M, int V> static void tile(const In* const* rows, const TileTap* taps, int ntaps,
//                                             int groups, int int16_sums, const W* weights, int32_t* acc);
// which leaves M rows of V x lanes accumulators in acc, and the ISA's element-wise kernels
//   static void requant(const RequantView&, const RequantRows&);
//   static void act_quantize(const ActQuantTable&, const ActQuantRows&);
//   static constexpr bool kAccQuant;  // and if true:
//   static void acc_quantize(const AccQuantTable&, const AccQuantRows&);
#pragma once

#include <cstdint>

#include "deploy/kernels/conv/conv_blocked.h"

namespace apot::deploy {

template <class Micro>
class TileLoop {
 public:
  using In = typename Micro::In;
  using W = typename Micro::W;

  static void run(const BlockedConvArgs& a, int64_t begin, int64_t end) {
    alignas(64) int32_t acc[kSpanValues];
    alignas(64) int32_t stream[kSpanValues];    // when the stream is not kept
    alignas(64) int32_t shortcut[kSpanValues];  // when the shortcut computes the residual
    // Items in the order image, block, tile: counted up from begin's rather than divided out per item.
    int64_t n = begin / (int64_t{a.blocks} * a.tiles_per_image);
    int block = static_cast<int>(begin / a.tiles_per_image % a.blocks);
    int tile = static_cast<int>(begin % a.tiles_per_image);
    for (int64_t item = begin; item < end;) {
      const int width = block_vectors(a, block) * Micro::kTiling.lanes, capacity = kSpanValues / width;
      // The image's next tiles join the span while they fit (at least one does).
      const Tile& first = a.tiles[tile];
      Span span{n, block, width, first.first, 0, first.y, first.x};
      int last = tile;
      while (item + (last - tile) < end && last < a.tiles_per_image && span.count + a.tiles[last].count <= capacity) {
        span.count += a.tiles[last++].count;
      }
      accumulate(a, n, block, tile, last, acc);
      const int64_t out = stream_offset(a, n, span.first, block);
      Residual residual{a.residual != nullptr ? a.residual + out : nullptr, a.out_stride};
      if (a.shortcut != nullptr) {
        a.shortcut_span(*a.shortcut, n, block, tile, last - tile, shortcut);
        residual = {shortcut, width};
      }
      epilogue(a, span, acc, stream, residual);
      item += last - tile;
      tile = last;
      if (tile == a.tiles_per_image) {
        tile = 0;
        if (++block == a.blocks) {
          block = 0;
          ++n;
        }
      }
    }
  }

  // The shortcut's side of run (BlockedConvArgs::shortcut): the stream of tiles [tile, tile + tiles),
  // requantised (no residual) into out, pixel stride the block's channels.
  static void span(const BlockedConvArgs& a, int64_t n, int block, int tile, int tiles, int32_t* out) {
    alignas(64) int32_t acc[kSpanValues];
    const int width = block_vectors(a, block) * Micro::kTiling.lanes;
    RequantRows r;
    r.acc = acc;
    r.acc_stride = width;
    r.out = out;
    r.out_stride = width;
    r.rows = accumulate(a, n, block, tile, tile + tiles, acc);
    r.channels = width;
    r.relu = a.relu;
    Micro::requant(offset(a.requant, first_channel(a, block)), r);
  }

 private:
  // `count` consecutive tiles of one image and channel block, of M pixels each; their accumulators one
  // after another from acc. residual / output: of the image's first pixel and the block's first channel.
  struct Run {
    const In* image = nullptr;
    const Tile* tiles = nullptr;
    int count = 0;
    const W* weights = nullptr;
    int32_t* acc = nullptr;
    const int32_t* residual = nullptr;
    const int32_t* output = nullptr;
  };
  using RunFn = void (*)(const BlockedConvArgs&, const Run&);

  // One call for a run of tiles, so the microkernel (inlined here) is entered once per run, not per tile.
  template <int M, int V>
  static void run_tiles(const BlockedConvArgs& a, const Run& r) {
    constexpr int width = V * Micro::kTiling.lanes;
    const In* rows[M];
    for (int t = 0; t < r.count; ++t) {
      const Tile& tile = r.tiles[t];
      for (int m = 0; m < M; ++m) rows[m] = r.image + a.pixel_offset[tile.first + m];
      // The residual this run's epilogue reads (written by another layer, perhaps long out of cache)
      // and the stream lines it writes (its stores would wait for them): fetched while the tile computes.
      const int64_t out = int64_t{tile.first} * a.out_stride;
      if (r.residual != nullptr) prefetch(r.residual + out, M, a.out_stride, width);
      if (r.output != nullptr) prefetch(r.output + out, M, a.out_stride, width);
      Micro::template tile<M, V>(rows, a.taps + tile.tap_begin, tile.taps, a.groups, a.int16_sums, r.weights,
                                 r.acc + t * M * width);
    }
  }

  // The accumulators of tiles [tile, last) of image n and channel block `block`, one pixel after
  // another from acc, a call for each run of tiles of one size (raster tiles have two sizes at most).
  // Returns their pixels.
  static int accumulate(const BlockedConvArgs& a, int64_t n, int block, int tile, int last, int32_t* acc) {
    static const Table table;
    const int vectors = block_vectors(a, block), width = vectors * Micro::kTiling.lanes;
    const int64_t out = stream_offset(a, n, 0, block);
    Run r;
    r.image = static_cast<const In*>(a.input) + n * a.in_image;
    r.weights = static_cast<const W*>(a.weights) + block * a.block_weights;
    r.residual = a.residual != nullptr ? a.residual + out : nullptr;
    r.output = a.output != nullptr ? a.output + out : nullptr;
    int pixels = 0;
    while (tile < last) {
      const int m = a.tiles[tile].count;
      int k = 1;
      while (tile + k < last && a.tiles[tile + k].count == m) ++k;
      r.tiles = a.tiles + tile;
      r.count = k;
      r.acc = acc + pixels * width;
      table.fn[vectors][m](a, r);
      pixels += k * m;
      tile += k;
    }
    return pixels;
  }

  static int block_vectors(const BlockedConvArgs& a, int block) {
    return block + 1 == a.blocks ? a.last_block_vectors : a.block_vectors;
  }

  // The accumulators of up to kSpanValues / width consecutive output pixels (perhaps over several rows)
  // of one image and channel block: several tiles share one epilogue, whose per-call work (the
  // parameters and tables it loads, the code addresses) would otherwise weigh on small tiles.
  static constexpr int kSpanValues = 2048;
  static_assert(kSpanValues >= kMaxTilePixels * kMaxTileChannels);
  struct Span {
    int64_t n = 0;
    int block = 0, width = 0;  // width: the block's channels (vectors x lanes)
    int first = 0, count = 0;
    int y = 0, x = 0;  // of the first pixel
  };

  // Where a span's epilogue reads its residual: none (null), the stored stream, or the shortcut's span.
  struct Residual {
    const int32_t* values = nullptr;
    int64_t stride = 0;
  };

  // Requantisation and the fused quantisers (or the codes straight from the accumulators) of a span.
  static void epilogue(const BlockedConvArgs& a, const Span& s, const int32_t* acc, int32_t* stream,
                       const Residual& residual) {
    const int channel = first_channel(a, s.block);
    const int channels = a.out_channels - channel < s.width ? a.out_channels - channel : s.width;
    if constexpr (Micro::kAccQuant) {
      if (a.acc_quant) {
        for (int q = 0; q < a.quantizer_count; ++q) {
          const FusedActQuant& fused = a.quantizers[q];
          const ActQuantRows codes = fused_rows(fused, s.n, s.y, s.x, s.count, channel, channels, acc, s.width);
          AccQuantRows rows;
          rows.acc = acc;
          rows.acc_stride = s.width;
          rows.out = codes.out;
          rows.out_stride = codes.out_stride;
          rows.type = codes.type;
          rows.pixels = s.count;
          rows.channel = channel;
          rows.channels = channels;
          rows.row_ends = codes.row_ends;
          Micro::acc_quantize(*fused.acc, rows);
        }
        return;
      }
    }
    const int64_t out = stream_offset(a, s.n, s.first, s.block);
    RequantRows r;
    r.acc = acc;
    r.acc_stride = s.width;
    r.residual = residual.values;
    r.residual_stride = residual.stride;
    r.out = a.output != nullptr ? a.output + out : stream;
    r.out_stride = a.output != nullptr ? a.out_stride : s.width;
    r.rows = s.count;
    r.channels = s.width;
    r.relu = a.relu;
    Micro::requant(offset(a.requant, channel), r);
    for (int q = 0; q < a.quantizer_count; ++q) {
      Micro::act_quantize(*a.quantizers[q].table,
                          fused_rows(a.quantizers[q], s.n, s.y, s.x, s.count, channel, channels, r.out, r.out_stride));
    }
  }

  static int first_channel(const BlockedConvArgs& a, int block) {
    return block * a.block_vectors * Micro::kTiling.lanes;
  }
  // Of pixel `first` of image n and the block's first channel, in the stream (and the residual).
  static int64_t stream_offset(const BlockedConvArgs& a, int64_t n, int first, int block) {
    return n * a.out_image + int64_t{first} * a.out_stride + first_channel(a, block);
  }

  // The requant parameters of the channels from `channels` (a multiple of the lanes) on. Here, not in
  // requant.h, so that this file calls no inline function of a shared header: compiled once per
  // instruction set, such a function could be merged by the linker into the other ISA's code.
  static RequantView offset(const RequantView& v, int channels) {
    return {v.multiplier + channels, v.round + channels, v.shift + channels, v.bias + channels,
            v.lanes8 + channels / 8, v.unsaturated};
  }

  // Every cache line of `rows` rows of `width` int32 (row stride `stride`). (A write hint would make no
  // PREFETCHW without -mprfchw; with it, no faster here.)
  static void prefetch(const int32_t* p, int rows, int64_t stride, int width) {
    for (int i = 0; i < rows; ++i) {
      for (int c = 0; c < width; c += 16) __builtin_prefetch(p + i * stride + c);
    }
  }

  // run_tiles<M, V> for every V <= max_vectors and M <= tile_pixels[V].
  struct Table {
    RunFn fn[5][kMaxTilePixels + 1] = {};
    Table() { fill<1, 1>(); }
    template <int V, int M>
    void fill() {
      if constexpr (V <= Micro::kTiling.max_vectors) {
        if constexpr (M <= Micro::kTiling.tile_pixels[V]) {
          static_assert(M * V * Micro::kTiling.lanes <= kMaxTilePixels * kMaxTileChannels);
          fn[V][M] = &run_tiles<M, V>;
          fill<V, M + 1>();
        } else {
          fill<V + 1, 1>();
        }
      }
    }
  };
};

}  // namespace apot::deploy
