// Epoch orders, sharding across ranks, and normalised, augmented float batches.
//
// Everything random here is a pure function of seeds and dataset indices, built only on generators whose
// output the C++ standard fixes (std::mt19937_64) or that are written out here (SplitMix64), so a run is
// reproducible across runs, thread counts, batch sizes and platforms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace apot::data {

// Training-time augmentation, torchvision's RandomCrop(size, padding=pad) and RandomHorizontalFlip().
// The CIFAR recipe is pad 4 with random crop and flip; Fashion-MNIST uses none. A pad without
// random_crop crops the centre, which is the image itself.
struct AugmentOptions {
  int pad = 0;
  bool random_crop = false;
  bool horizontal_flip = false;
};

// Mixes two 64-bit values into one seed with SplitMix64's bit mixer, so that nearby (seed, epoch) or
// (seed, index) pairs give unrelated streams. Use mix_seed(seed, epoch) as fill_batch's augment_seed so
// that every epoch augments differently.
uint64_t mix_seed(uint64_t a, uint64_t b);

// This rank's sample order for each epoch, as torch's DistributedSampler gives it: a permutation of
// 0..N-1 that depends only on (seed, epoch), padded by repeating its start so that every rank gets
// ceil(N / world_size) indices, then strided: rank r takes positions r, r + world_size, ...
// With drop_last nothing is repeated: the tail that does not divide evenly among the ranks is dropped,
// and so is each rank's last incomplete batch.
class BatchSampler {
 public:
  BatchSampler(size_t dataset_size, size_t batch_size, bool shuffle, uint64_t seed, int rank = 0,
               int world_size = 1, bool drop_last = false);

  // This rank's indices for the epoch; batch b is positions [b * batch_size, (b + 1) * batch_size).
  std::vector<size_t> epoch_indices(int epoch) const;
  // Indices per epoch on this rank: the size of epoch_indices(), the same in every epoch.
  size_t num_samples() const { return num_samples_; }
  // Batches per epoch on this rank (the last may be smaller unless drop_last); the same in every epoch,
  // the argument is there so a training loop may ask per epoch.
  size_t num_batches(int epoch = 0) const;
  size_t batch_size() const { return batch_size_; }

 private:
  size_t dataset_size_, batch_size_;
  bool shuffle_;
  uint64_t seed_;
  int rank_, world_size_;
  bool drop_last_;
  size_t num_samples_;
};

// One image's augmentation: crop offsets dx, dy in [0, 2 * pad] into the padded image, then a flip.
struct Augmentation {
  int dx = 0, dy = 0;
  bool flip = false;
};

// The augmentation of dataset image `index`: drawn from (augment_seed, index) alone, so it does not
// depend on threads or on where batch boundaries fall.
Augmentation draw_augmentation(const AugmentOptions& options, uint64_t augment_seed, size_t index);

// Crops a height x width window at (dx, dy) out of the image zero-padded by `pad` on every side, then
// mirrors it left-right if `flip` (crop then flip, torchvision's order). Planar uint8, channels x height
// x width in and out; padding is zero in pixel space, as torchvision pads the image before ToTensor.
void augment_image(const uint8_t* src, int channels, int height, int width, int pad, int dx, int dy,
                   bool flip, uint8_t* dst);

// Writes images indices[begin .. begin + count) as float NCHW, (pixel / 255 - mean[c]) / std[c] after
// augmentation, into out_images (count * image_bytes() floats), and their labels into out_labels.
// Throws std::out_of_range for a range outside `indices` or an index outside the set, and
// std::invalid_argument for a normalisation whose size differs from the channel count.
void fill_batch(const ImageSet& set, const std::vector<size_t>& indices, size_t begin, size_t count,
                const Normalization& norm, const AugmentOptions& augment, uint64_t augment_seed,
                float* out_images, int64_t* out_labels);

}  // namespace apot::data
