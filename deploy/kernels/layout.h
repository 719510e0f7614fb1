// How the integer engine stores its buffers (deploy/format/integer_model.h defines them as NCHW; this is the
// memory behind them). Both kinds are NHWC, so that a convolution reads the channels of one input pixel
// as a contiguous vector and writes all output channels of one pixel at once.
// - Codes: int16, or uint8 where every value fits (the u8 x s8 kernels), with a zero border of `border`
//   pixels around each image so that padded convolutions read zeros instead of testing bounds, and the
//   channels of a pixel padded with zeros to a multiple of kCodeChannelAlign (one 4-byte dot product).
// - Streams: int32, channels padded to a multiple of kStreamChannelAlign (one 512-bit vector); the padding
//   holds zeros.
#pragma once

#include <cstdint>

namespace apot::deploy {

enum class CodeType { U8, S16 };

inline constexpr int kCodeChannelAlign = 4;
inline constexpr int kStreamChannelAlign = 16;

constexpr int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

// A quantiser's run of consecutive output pixels over the ends of bordered codes rows (CodesLayout::
// border), in one kernel call: after the first `first` pixels and then every `width`, the next pixel's
// codes lie `skip` elements further on. first 0: the run has no row end. One call for a span of rows
// spares the kernels' setup per row.
struct RowEnds {
  int64_t first = 0, width = 0, skip = 0;
};

struct CodesLayout {
  CodeType type = CodeType::S16;
  int channels = 0, height = 0, width = 0;
  int border = 0;  // zero pixels on every side
  int stride = 0;  // elements per pixel: channels rounded up to kCodeChannelAlign

  static CodesLayout make(CodeType type, int channels, int height, int width, int border) {
    return {type, channels, height, width, border, round_up(channels, kCodeChannelAlign)};
  }
  int padded_width() const { return width + 2 * border; }
  int padded_height() const { return height + 2 * border; }
  int64_t image_elements() const { return int64_t{padded_height()} * padded_width() * stride; }
  // Element offset of pixel (y, x) of an image; y, x in -border .. size + border - 1.
  int64_t pixel(int y, int x) const { return (int64_t{y + border} * padded_width() + (x + border)) * stride; }
  int element_bytes() const { return type == CodeType::U8 ? 1 : 2; }
  // The row ends of a run of pixels from column x of a row.
  RowEnds row_ends(int x) const { return {width - x, width, int64_t{2} * border * stride}; }
};

struct StreamLayout {
  int channels = 0, height = 0, width = 0;
  int stride = 0;  // int32 per pixel: channels rounded up to kStreamChannelAlign

  static StreamLayout make(int channels, int height, int width) {
    return {channels, height, width, round_up(channels, kStreamChannelAlign)};
  }
  int64_t pixels() const { return int64_t{height} * width; }
  int64_t image_elements() const { return pixels() * stride; }
};

}  // namespace apot::deploy
