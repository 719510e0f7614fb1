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

// Pixel v of a channel normalised with that channel's mean and std, in the float operations of
// ToTensor + Normalize: the exact value every batch holds (and the integer engine's input quantiser sees).
inline float normalise_pixel(int v, float mean, float std) { return (static_cast<float>(v) / 255.0f - mean) / std; }

}  // namespace apot::data
