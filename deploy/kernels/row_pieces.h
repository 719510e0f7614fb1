// The pieces of a quantiser's run within one codes row each (RowEnds, deploy/kernels/layout.h), for the
// reference kernels and the ones that do not follow row ends themselves. Plain C++ for the scalar
// files only (acc_quantize.cpp, act_quantize.cpp): no ISA file includes it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "deploy/kernels/layout.h"

namespace apot::deploy {

// kernel(piece) for each piece of r (ActQuantRows or AccQuantRows): r's fields with its pixels, its
// codes and no row ends; move_in(piece, n) moves the piece's input on by n pixels.
template <class Rows, class Kernel, class MoveIn>
void for_each_row_piece(const Rows& r, Kernel&& kernel, MoveIn&& move_in) {
  const RowEnds& ends = r.row_ends;
  const int64_t bytes = r.type == CodeType::U8 ? 1 : 2;
  Rows piece = r;
  piece.row_ends = {};
  for (int64_t done = 0, n = ends.first > 0 ? ends.first : r.pixels; done < r.pixels;
       n = ends.width > 0 ? ends.width : r.pixels) {
    piece.pixels = std::min(n, r.pixels - done);
    kernel(piece);
    done += piece.pixels;
    move_in(piece, piece.pixels);
    piece.out = static_cast<char*>(piece.out) + (piece.pixels * r.out_stride + ends.skip) * bytes;
  }
}

}  // namespace apot::deploy
