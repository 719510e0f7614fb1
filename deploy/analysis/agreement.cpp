#include "deploy/analysis/agreement.h"

#include <algorithm>
#include <cmath>

namespace apot::deploy {

int top1(const float* logits, int classes) {
  return static_cast<int>(std::max_element(logits, logits + classes) - logits);
}

void Agreement::add(const float* a, const float* b, int64_t batch, int classes, const int64_t* labels) {
  constexpr size_t kMaxListed = 20;
  for (int64_t i = 0; i < batch; ++i) {
    const float* ra = a + i * classes;
    const float* rb = b + i * classes;
    const int ta = top1(ra, classes), tb = top1(rb, classes);
    if (ta == tb) {
      ++same_top1;
    } else if (disagreeing.size() < kMaxListed) {
      disagreeing.push_back(images);
    }
    if (labels) {
      ++labelled;
      a_correct += ta == labels[i];
      b_correct += tb == labels[i];
    }
    for (int c = 0; c < classes; ++c) {
      max_logit_diff = std::max(max_logit_diff, std::fabs(static_cast<double>(ra[c]) - rb[c]));
      max_abs_logit = std::max(max_abs_logit, std::fabs(static_cast<double>(ra[c])));
    }
    ++images;
  }
}

}  // namespace apot::deploy
