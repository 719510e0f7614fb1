// The in-memory form every loader in data/ produces and every batcher consumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace apot::data {

// uint8 images, N x C x H x W (planar, row-major), as stored on disk: normalisation and augmentation
// happen per batch (batches.h), so a dataset costs one byte per pixel in memory.
struct ImageSet {
  int channels = 0, height = 0, width = 0, num_classes = 0;
  std::vector<uint8_t> pixels;  // size() * image_bytes()
  std::vector<uint8_t> labels;  // size(), each in 0..num_classes-1

  size_t size() const { return labels.size(); }
  size_t image_bytes() const {
    return static_cast<size_t>(channels) * static_cast<size_t>(height) * static_cast<size_t>(width);
  }
};

// Per-channel mean and standard deviation in pixel/255 units, as torchvision's Normalize takes them.
struct Normalization {
  std::vector<float> mean, std;
};

}  // namespace apot::data
