// Training progress on stderr: a live bar with loss, accuracy and ETA on a terminal; nothing per batch
// otherwise (the trainer logs a plain line per epoch).
#pragma once

#include <cstddef>

namespace apot::train {

class Progress {
 public:
  explicit Progress(bool live) : live_(live) {}
  void update(int epoch, int epochs, size_t batch, size_t batches, double loss, double accuracy, double elapsed_seconds);
  void finish();  // clears the bar before the epoch's line

 private:
  bool live_;
  bool shown_ = false;
};

}  // namespace apot::train
