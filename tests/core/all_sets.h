// Every level set the core builds without data: each scheme, bit-width, sign and base bit-width.
#pragma once

#include <stdexcept>
#include <vector>

#include "core/levels.h"
#include "core/project.h"

namespace apot::test {

inline std::vector<LevelSet> all_sets() {
  std::vector<LevelSet> sets;
  for (bool is_signed : {false, true}) {
    for (int bits = 2; bits <= 8; ++bits) {
      const int m = bits - (is_signed ? 1 : 0);
      sets.push_back(LevelSet::uniform(bits, is_signed));
      sets.push_back(LevelSet::pot(bits, is_signed));
      for (int k = 1; k <= m; ++k) {
        try {
          sets.push_back(LevelSet::apot(bits, k, is_signed));
        } catch (const std::invalid_argument&) {
          // k so large that levels are not distinct in double: tested in levels_test.cpp
        }
      }
    }
  }
  return sets;
}

// The sets the float kernels accept (project.h says which they refuse and why; project_test checks it).
inline std::vector<LevelSet> projectable_sets() {
  std::vector<LevelSet> sets;
  for (LevelSet& set : all_sets()) {
    try {
      Projector{set};
      sets.push_back(std::move(set));
    } catch (const std::invalid_argument&) {
    }
  }
  return sets;
}

}  // namespace apot::test
