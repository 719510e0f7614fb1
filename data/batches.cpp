#include "data/batches.h"

#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace apot::data {

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function (Steele, Lea and Flood, 2014): a bijection that scrambles every input bit.
uint64_t scramble(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// SplitMix64: seeding costs nothing, so every image can have its own generator (mt19937_64 would fill
// 312 words of state per image).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t operator()() { return scramble(state_ += kGolden); }

 private:
  uint64_t state_;
};

static_assert(std::mt19937_64::min() == 0 && std::mt19937_64::max() == std::numeric_limits<uint64_t>::max());

// Uniform integer in [0, bound) from 64-bit draws, by rejection so it is unbiased: the first
// 2^64 mod bound draw values would otherwise be over-represented. A fixed formula, unlike
// std::uniform_int_distribution, whose algorithm each standard library chooses.
template <class Rng>
uint64_t uniform_below(Rng& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t draw = rng();
    if (draw >= threshold) return draw % bound;
  }
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) { return scramble(a + kGolden * 3 + scramble(b + kGolden)); }

BatchSampler::BatchSampler(size_t dataset_size, size_t batch_size, bool shuffle, uint64_t seed, int rank,
                           int world_size, bool drop_last)
    : dataset_size_(dataset_size),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      rank_(rank),
      world_size_(world_size),
      drop_last_(drop_last) {
  if (batch_size == 0) throw std::invalid_argument("BatchSampler: batch size 0, expected at least 1");
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw std::invalid_argument(fmt::format("BatchSampler: rank {} of world size {}, expected 0 <= rank < world size",
                                            rank, world_size));
  }
  const size_t world = static_cast<size_t>(world_size);
  num_samples_ = drop_last ? dataset_size / world : (dataset_size + world - 1) / world;
  if (drop_last) num_samples_ -= num_samples_ % batch_size;
}

std::vector<size_t> BatchSampler::epoch_indices(int epoch) const {
  std::vector<size_t> order(dataset_size_);
  std::iota(order.begin(), order.end(), size_t{0});
  if (shuffle_) {
    // Fisher-Yates, drawing from a generator whose output the standard fixes (std::shuffle's use of it is
    // not fixed).
    std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(epoch)));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
  }
  const size_t world = static_cast<size_t>(world_size_);
  std::vector<size_t> mine;
  mine.reserve(num_samples_);
  // Position p of the padded order is order[p mod N]: the padding repeats the start, as often as needed.
  for (size_t p = static_cast<size_t>(rank_); mine.size() < num_samples_; p += world) {
    mine.push_back(order[p % dataset_size_]);
  }
  return mine;
}

size_t BatchSampler::num_batches(int /*epoch*/) const { return (num_samples_ + batch_size_ - 1) / batch_size_; }

Augmentation draw_augmentation(const AugmentOptions& options, uint64_t augment_seed, size_t index) {
  SplitMix64 rng(mix_seed(augment_seed, index));
  Augmentation a;
  a.dx = a.dy = options.pad;
  if (options.random_crop && options.pad > 0) {
    const uint64_t positions = 2 * static_cast<uint64_t>(options.pad) + 1;
    a.dy = static_cast<int>(uniform_below(rng, positions));
    a.dx = static_cast<int>(uniform_below(rng, positions));
  }
  if (options.horizontal_flip) a.flip = (rng() >> 63) != 0;
  return a;
}

void augment_image(const uint8_t* src, int channels, int height, int width, int pad, int dx, int dy,
                   bool flip, uint8_t* dst) {
  if (channels < 1 || height < 1 || width < 1 || pad < 0 || dx < 0 || dy < 0 || dx > 2 * pad || dy > 2 * pad) {
    throw std::invalid_argument(fmt::format(
        "augment_image: image {} x {} x {}, pad {}, offsets ({}, {}): expected positive sizes and offsets in "
        "0..2 * pad",
        channels, height, width, pad, dx, dy));
  }
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < height; ++y) {
      uint8_t* out = dst + (static_cast<size_t>(c) * height + y) * width;
      const int sy = y + dy - pad;
      if (sy < 0 || sy >= height) {
        std::memset(out, 0, width);
        continue;
      }
      const uint8_t* row = src + (static_cast<size_t>(c) * height + sy) * width;
      for (int x = 0; x < width; ++x) {
        const int sx = (flip ? width - 1 - x : x) + dx - pad;
        out[x] = sx >= 0 && sx < width ? row[sx] : 0;
      }
    }
  }
}

void fill_batch(const ImageSet& set, const std::vector<size_t>& indices, size_t begin, size_t count,
                const Normalization& norm, const AugmentOptions& augment, uint64_t augment_seed,
                float* out_images, int64_t* out_labels) {
  if (begin > indices.size() || count > indices.size() - begin) {
    throw std::out_of_range(
        fmt::format("fill_batch: positions {}..{} of {} indices", begin, begin + count, indices.size()));
  }
  const size_t channels = static_cast<size_t>(set.channels);
  if (norm.mean.size() != channels || norm.std.size() != channels) {
    throw std::invalid_argument(fmt::format("fill_batch: normalisation has {} means and {} stds, expected {} each",
                                            norm.mean.size(), norm.std.size(), channels));
  }
  for (float s : norm.std) {
    if (!(s > 0)) throw std::invalid_argument(fmt::format("fill_batch: std {}, expected > 0", s));
  }
  if (augment.pad < 0) throw std::invalid_argument(fmt::format("fill_batch: pad {}, expected >= 0", augment.pad));

  // Every normalised value is one of 256 per channel: a table computes each once.
  std::vector<float> table(channels * 256);
  for (size_t c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) table[c * 256 + v] = normalise_pixel(v, norm.mean[c], norm.std[c]);
  }
  const size_t image_bytes = set.image_bytes();
  const size_t plane = static_cast<size_t>(set.height) * static_cast<size_t>(set.width);
  std::vector<uint8_t> augmented(image_bytes);
  for (size_t j = 0; j < count; ++j) {
    const size_t index = indices[begin + j];
    if (index >= set.size()) {
      throw std::out_of_range(
          fmt::format("fill_batch: index {} at position {} is outside the set of {} images", index, begin + j,
                      set.size()));
    }
    const Augmentation a = draw_augmentation(augment, augment_seed, index);
    augment_image(set.pixels.data() + index * image_bytes, set.channels, set.height, set.width, augment.pad, a.dx,
                  a.dy, a.flip, augmented.data());
    float* out = out_images + j * image_bytes;
    for (size_t c = 0; c < channels; ++c) {
      const float* row = table.data() + c * 256;
      for (size_t i = c * plane; i < (c + 1) * plane; ++i) out[i] = row[augmented[i]];
    }
    out_labels[j] = set.labels[index];
  }
}

}  // namespace apot::data
