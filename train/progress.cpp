#include "train/progress.h"

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace apot::train {

void Progress::update(int epoch, int epochs, size_t batch, size_t batches, double loss, double accuracy,
                      double elapsed_seconds) {
  if (!live_) return;
  constexpr int kWidth = 24;
  const double done = static_cast<double>(batch) / static_cast<double>(batches);
  const int filled = static_cast<int>(done * kWidth);
  const double eta = done > 0 ? elapsed_seconds * (1 - done) / done : 0;
  fmt::print(stderr, "\repoch {}/{} [{}{}] {:3.0f}%  loss {:.4f}  acc {:.2f}%  ETA {:.0f}s ", epoch, epochs,
             std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(kWidth - filled), '.'),
             100 * done, loss, accuracy, eta);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::finish() {
  if (!shown_) return;
  fmt::print(stderr, "\r\033[K");
  shown_ = false;
}

}  // namespace apot::train
