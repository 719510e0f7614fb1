// A quantiser's run over the row ends of bordered codes rows (RowEnds, deploy/layout.h), for the tests
// that hold one call over the run to a call per row piece (acc_quantize_test, act_quantize_test).
#pragma once

#include <algorithm>
#include <cstdint>

#include "deploy/layout.h"

namespace apot::deploy::test {

// `pixels` pixels in raster order from column x of row 0 of `layout`.
struct RowEndsCase {
  CodesLayout layout;
  int x = 0, pixels = 0;

  RowEnds ends() const { return {layout.width - x, layout.width, int64_t{2} * layout.border * layout.stride}; }
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

}  // namespace apot::deploy::test
