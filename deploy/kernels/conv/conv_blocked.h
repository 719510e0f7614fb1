// The SIMD convolutions (avx2, avx512-vnni): an implicit GEMM over the padded NHWC codes, without im2col.
// Output pixels are taken in tiles of up to M consecutive pixels in raster order (across row ends),
// output channels in blocks of V vectors; a tile keeps its M x V accumulators in registers while it
// walks the taps and the input channels, four bytes (uint8) or two int16 of one input pixel at a time:
// one broadcast and V weight loads feed M x V dot-product instructions (vpdpbusd / vpdpwssd / vpmaddwd
// + vpaddd; AVX2 on uint8 codes: vpmaddubsw + vpaddw, widened to int32 only when the int16 sums could
// next overflow, conv_kernel.h avx2_u8_int16_sums). Taps that fall in the padding for every pixel of a
// tile are skipped (at the top and bottom borders). The weights are repacked once per layer to exactly
// the order the tile reads them, and the requantisation (and any fused activation quantiser) runs on a
// span of consecutive tiles of one image and channel block while their accumulators are in L1
// (deploy/kernels/requant/requant.h).
//
// This header holds what the plain C++ side (conv_blocked.cpp: packing, offsets, work split) and the ISA
// files (conv_avx2.cpp, conv_avx512.cpp) agree on: data only. The ISA files call no inline function
// of a shared header: a copy compiled for one instruction set could be merged by the linker into the
// callers of another (and run on a CPU without it).
#pragma once

#include <cstdint>

#include "deploy/kernels/conv/conv_kernel.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

// Register tiling of one kernel: output channels per vector (lanes), the widest block (in vectors), and
// for each block width V the pixels per tile M: as many accumulators as the registers hold beside the V
// weight vectors and the broadcast. Input channels are consumed `group` at a time (one 32-bit lane).
struct BlockedTiling {
  int lanes = 0;
  int max_vectors = 0;
  int tile_pixels[5] = {};  // by V = 1 .. max_vectors; M never grows with V
  int group = 0;            // input channels per 32-bit lane: 4 (uint8), 2 (int16)
  int weight_bytes = 0;     // 1 (int8 weights beside uint8 codes) or 2
};

inline constexpr int kMaxTilePixels = 16;
inline constexpr int kMaxTileChannels = 64;

// A tap a tile walks: its input offset from the window's first tap (elements), and its index
// (kh x kernel + kw), which selects its weights.
struct TileTap {
  int64_t offset = 0;
  int index = 0;
};

// A tile: `count` consecutive output pixels of an image from `first` (at row y, column x), and its taps.
struct Tile {
  int first = 0, count = 0;
  int y = 0, x = 0;
  int tap_begin = 0, taps = 0;  // into BlockedConvArgs::taps
};

struct BlockedConvArgs;
// The stream of tiles [tile, tile + tiles) of image n and channel block `block` (consecutive pixels),
// requantised with the call's ReLU and no residual into out (pixel stride: the block's channels).
using BlockedSpanFn = void (*)(const BlockedConvArgs& a, int64_t n, int block, int tile, int tiles, int32_t* out);

// One call's work as the ISA files read it. Element offsets are in units of the input's code type.
struct BlockedConvArgs {
  const void* input = nullptr;            // first image
  int64_t in_image = 0;                   // elements per input image
  const int64_t* pixel_offset = nullptr;  // per output pixel of an image: its window's first tap
  const Tile* tiles = nullptr;            // of one image
  int tiles_per_image = 0;
  const TileTap* taps = nullptr;
  int groups = 0;                 // input channel groups per tap (padded channels / group)
  int int16_sums = 0;             // avx2 on uint8 codes: groups whose pair sums int16 adds exactly
  const void* weights = nullptr;  // packed: [block][tap][group][V x lanes][group]
  int64_t block_weights = 0;      // weight elements per block
  int block_vectors = 0, last_block_vectors = 0, blocks = 0;
  RequantView requant;
  bool relu = false;
  const int32_t* residual = nullptr;
  // Or the residual computed for each span of tiles while it is in L1: by the shortcut convolution with
  // these arguments (the same output shape, tiles and channel blocks) and its ISA file's span function.
  const BlockedConvArgs* shortcut = nullptr;
  BlockedSpanFn shortcut_span = nullptr;
  int32_t* output = nullptr;  // null: only the fused quantisers read the stream
  int64_t out_image = 0;      // int32 per output image
  int out_stride = 0;         // int32 per output pixel
  int out_width = 0, out_channels = 0;
  const FusedActQuant* quantizers = nullptr;
  int quantizer_count = 0;
  // No residual, no stream kept, and every quantiser has its AccQuantTable: the codes come from the
  // accumulators directly (ISA files with an acc_quantize kernel).
  bool acc_quant = false;
};

// Items are (image, block, tile), tiles fastest, as conv_blocked.cpp counts them.
using BlockedRunFn = void (*)(const BlockedConvArgs& a, int64_t begin, int64_t end);

// One instruction set's blocked convolution on one code type, defined in its conv_<isa>.cpp and listed
// in the kernel table (deploy/kernels/kernel_table.h).
struct BlockedConvIsa {
  BlockedTiling tiling;
  BlockedRunFn run;
  BlockedSpanFn span;
  // u8 x s8 pair sums added in int16 (AVX2's vpmaddubsw): exact only for the layers whose codes and
  // weights avx2_u8_int16_sums admits (conv_kernel.h).
  bool int16_pair_sums;
};

}  // namespace apot::deploy
