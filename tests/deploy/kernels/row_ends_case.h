// A quantiser's run over the row ends of bordered codes rows (RowEnds, deploy/kernels/layout.h), for the tests
// that hold one call over the run to a call per row piece (acc_quantize_test, act_quantize_test).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "deploy/kernels/layout.h"

namespace apot::deploy::test {

// `pixels` pixels in raster order from column x of row 0 of `layout`.
struct RowEndsCase {
  CodesLayout layout;
  int x = 0, pixels = 0;

  RowEnds ends() const { return layout.row_ends(x); }
  int64_t first_codes() const { return layout.pixel(0, x); }  // elements
  // f(first pixel of the piece, its pixels, the element offset of its codes) for each row piece.
  template <class F>
  void for_each_piece(F&& f) const {
    for (int done = 0; done < pixels;) {
      const int column = (x + done) % layout.width, count = std::min(layout.width - column, pixels - done);
      f(done, count, layout.pixel((x + done) / layout.width, column));
      done += count;
    }
  }
};

// The codes image of run.layout (0xAB where nothing is written) that quantise(rows) writes over `run`:
// one call over the row ends (`whole`) or a call per row piece without them. `rows` comes with its
// input at the run's first pixel, its input stride and channels; move_in(rows, n) moves its input on
// by n pixels.
template <class Rows, class MoveIn, class Quantise>
std::vector<uint8_t> quantised(const RowEndsCase& run, Rows rows, bool whole, MoveIn&& move_in,
                               Quantise&& quantise) {
  const int64_t bytes = run.layout.element_bytes();
  std::vector<uint8_t> codes(static_cast<size_t>(run.layout.image_elements() * bytes), 0xAB);
  rows.out_stride = run.layout.stride;
  rows.type = run.layout.type;
  if (whole) {
    rows.pixels = run.pixels;
    rows.row_ends = run.ends();
    rows.out = codes.data() + run.first_codes() * bytes;
    quantise(rows);
    return codes;
  }
  run.for_each_piece([&](int first, int count, int64_t at) {
    Rows piece = rows;
    move_in(piece, first);
    piece.pixels = count;
    piece.out = codes.data() + at * bytes;
    quantise(piece);
  });
  return codes;
}

}  // namespace apot::deploy::test
