// How closely two models' logits agree: what `apot verify` reports for the fake-quant model (LibTorch)
// against the integer engine, or for either against logits saved elsewhere.
#pragma once

#include <cstdint>
#include <vector>

namespace apot::deploy {

struct Agreement {
  int64_t images = 0;
  int64_t same_top1 = 0;
  int64_t labelled = 0;                // images counted with a label
  int64_t a_correct = 0, b_correct = 0;
  double max_logit_diff = 0;           // max |a - b| over all logits
  double max_abs_logit = 0;            // max |a|, the scale max_logit_diff compares with
  std::vector<int64_t> disagreeing;    // indices of the first images whose top-1 differs (at most 20)

  // Adds `batch` images of `classes` logits each, a and b row-major; labels may be null.
  void add(const float* a, const float* b, int64_t batch, int classes, const int64_t* labels = nullptr);
  double agreement_percent() const { return images ? 100.0 * static_cast<double>(same_top1) / static_cast<double>(images) : 0; }
};

// The index of the largest logit (the first of equal ones, as torch.argmax).
int top1(const float* logits, int classes);

}  // namespace apot::deploy
