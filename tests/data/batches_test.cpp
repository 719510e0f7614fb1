#include "data/batches.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/data/data_files.h"

namespace apot::data {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using fixtures::Bytes;

std::vector<size_t> iota(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), size_t{0});
  return v;
}

std::vector<size_t> sorted(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(BatchSampler, RejectsImpossibleArguments) {
  EXPECT_THROW(BatchSampler(10, 0, true, 1), std::invalid_argument);
  EXPECT_THROW(BatchSampler(10, 4, true, 1, /*rank=*/2, /*world_size=*/2), std::invalid_argument);
  EXPECT_THROW(BatchSampler(10, 4, true, 1, -1, 2), std::invalid_argument);
  EXPECT_THROW(BatchSampler(10, 4, true, 1, 0, 0), std::invalid_argument);
}

TEST(BatchSampler, WithoutShuffleKeepsTheOrder) {
  const BatchSampler sampler(10, 4, /*shuffle=*/false, 1);
  EXPECT_EQ(sampler.epoch_indices(0), iota(10));
  EXPECT_EQ(sampler.epoch_indices(7), iota(10));
}

TEST(BatchSampler, EachEpochIsAPermutation) {
  const BatchSampler sampler(1000, 32, true, 42);
  EXPECT_EQ(sampler.num_samples(), 1000u);
  EXPECT_EQ(sampler.num_batches(), 32u);
  std::set<std::vector<size_t>> epochs;
  for (int epoch = 0; epoch < 5; ++epoch) {
    const std::vector<size_t> indices = sampler.epoch_indices(epoch);
    EXPECT_EQ(sorted(indices), iota(1000));
    EXPECT_NE(indices, iota(1000));
    epochs.insert(indices);
  }
  EXPECT_EQ(epochs.size(), 5u);  // every epoch differs
  EXPECT_NE(BatchSampler(1000, 32, true, 43).epoch_indices(0), sampler.epoch_indices(0));
}

TEST(BatchSampler, DependsOnlyOnSeedAndEpoch) {
  const BatchSampler a(500, 10, true, 7), b(500, 64, true, 7);
  EXPECT_EQ(a.epoch_indices(3), a.epoch_indices(3));
  EXPECT_EQ(a.epoch_indices(3), b.epoch_indices(3));  // the batch size does not enter
}

// Pins the order itself: it must be the same on every platform and standard library, so a change here
// changes every recorded run.
TEST(BatchSampler, OrderIsPinned) {
  EXPECT_THAT(BatchSampler(10, 4, true, 1).epoch_indices(0), ElementsAre(4, 9, 3, 7, 8, 6, 5, 1, 0, 2));
  EXPECT_THAT(BatchSampler(10, 4, true, 1).epoch_indices(1), ElementsAre(8, 6, 0, 3, 7, 5, 4, 9, 1, 2));
}

// Fisher-Yates with an unbiased draw puts every index first equally often.
TEST(BatchSampler, ShuffleIsUniform) {
  constexpr int kEpochs = 20000;
  const BatchSampler sampler(10, 1, true, 5);
  std::vector<int> first(10), last(10);
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    const std::vector<size_t> indices = sampler.epoch_indices(epoch);
    ++first[indices.front()];
    ++last[indices.back()];
  }
  // Expected 2000 each, standard deviation 42: 6 sigma.
  for (int n : first) EXPECT_NEAR(n, kEpochs / 10, 250);
  for (int n : last) EXPECT_NEAR(n, kEpochs / 10, 250);
}

TEST(BatchSampler, TwoRanksSplitAnEvenSet) {
  const BatchSampler rank0(100, 8, true, 3, 0, 2), rank1(100, 8, true, 3, 1, 2);
  for (int epoch = 0; epoch < 3; ++epoch) {
    const std::vector<size_t> a = rank0.epoch_indices(epoch), b = rank1.epoch_indices(epoch);
    EXPECT_EQ(a.size(), 50u);
    EXPECT_EQ(b.size(), 50u);
    std::vector<size_t> both = a;
    both.insert(both.end(), b.begin(), b.end());
    EXPECT_EQ(sorted(both), iota(100));  // disjoint and complete
  }
  EXPECT_EQ(rank0.num_batches(), 7u);
}

// As DistributedSampler: the world-1 order, padded with its start to a multiple of the world size,
// then rank r takes every world_size-th index from position r.
TEST(BatchSampler, RanksStrideThePaddedOrder) {
  for (size_t n : {10u, 2u, 7u}) {
    const std::vector<size_t> order = BatchSampler(n, 4, true, 9).epoch_indices(2);
    std::vector<size_t> padded = order;
    while (padded.size() % 3 != 0 || padded.size() < 3) padded.push_back(order[padded.size() % n]);
    for (int rank = 0; rank < 3; ++rank) {
      SCOPED_TRACE(::testing::Message() << "n " << n << ", rank " << rank);
      const BatchSampler sampler(n, 4, true, 9, rank, 3);
      std::vector<size_t> expected;
      for (size_t p = rank; p < padded.size(); p += 3) expected.push_back(padded[p]);
      EXPECT_EQ(sampler.epoch_indices(2), expected);
      EXPECT_EQ(sampler.num_samples(), (n + 2) / 3);
    }
  }
}

TEST(BatchSampler, DropLastDropsTheUnevenTailAndTheLastPartialBatch) {
  // 10 over 3 ranks: 3 each without padding, then batches of 2 leave 2.
  std::set<size_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const BatchSampler sampler(10, 2, true, 4, rank, 3, /*drop_last=*/true);
    EXPECT_EQ(sampler.num_samples(), 2u);
    EXPECT_EQ(sampler.num_batches(), 1u);
    for (size_t i : sampler.epoch_indices(0)) EXPECT_TRUE(seen.insert(i).second) << "index " << i << " twice";
  }
  EXPECT_EQ(BatchSampler(10, 4, false, 0).num_batches(), 3u);
  EXPECT_EQ(BatchSampler(10, 4, false, 0, 0, 1, true).num_batches(), 2u);
  EXPECT_EQ(BatchSampler(10, 4, false, 0, 0, 1, true).epoch_indices(0), iota(8));
}

TEST(BatchSampler, EmptySetHasNoBatches) {
  const BatchSampler sampler(0, 4, true, 1, 1, 2);
  EXPECT_TRUE(sampler.epoch_indices(0).empty());
  EXPECT_EQ(sampler.num_batches(), 0u);
}

// The obvious way: build the padded image, cut the window out, mirror it.
Bytes reference_augment(const Bytes& src, int channels, int height, int width, int pad, int dx, int dy, bool flip) {
  const int ph = height + 2 * pad, pw = width + 2 * pad;
  Bytes padded(static_cast<size_t>(channels) * ph * pw, 0);
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        padded[(c * ph + y + pad) * pw + x + pad] = src[(c * height + y) * width + x];
  Bytes out(src.size());
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const int cx = flip ? width - 1 - x : x;
        out[(c * height + y) * width + x] = padded[(c * ph + y + dy) * pw + cx + dx];
      }
  return out;
}

TEST(AugmentImage, MatchesPadCropFlipDoneTheObviousWay) {
  const int channels = 2, height = 5, width = 6;
  const Bytes src = fixtures::pixel_pattern(1, channels * height, width);
  for (int pad : {0, 1, 3, 7}) {
    for (int dy = 0; dy <= 2 * pad; ++dy) {
      for (int dx = 0; dx <= 2 * pad; ++dx) {
        for (bool flip : {false, true}) {
          Bytes dst(src.size(), 0xAA);
          augment_image(src.data(), channels, height, width, pad, dx, dy, flip, dst.data());
          ASSERT_EQ(dst, reference_augment(src, channels, height, width, pad, dx, dy, flip))
              << "pad " << pad << ", dx " << dx << ", dy " << dy << ", flip " << flip;
        }
      }
    }
  }
}

TEST(AugmentImage, FlipMirrorsEachRow) {
  const Bytes src = {1, 2, 3, 4, 5, 6};  // one channel, 2 x 3
  Bytes dst(6);
  augment_image(src.data(), 1, 2, 3, 0, 0, 0, true, dst.data());
  EXPECT_THAT(dst, ElementsAre(3, 2, 1, 6, 5, 4));
  augment_image(src.data(), 1, 2, 3, 1, 0, 2, false, dst.data());  // window at the bottom left
  EXPECT_THAT(dst, ElementsAre(0, 4, 5, 0, 0, 0));
}

TEST(AugmentImage, RejectsOffsetsOutsideThePaddedImage) {
  Bytes img(4), dst(4);
  EXPECT_THROW(augment_image(img.data(), 1, 2, 2, 1, 3, 0, false, dst.data()), std::invalid_argument);
  EXPECT_THROW(augment_image(img.data(), 1, 2, 2, 1, 0, -1, false, dst.data()), std::invalid_argument);
  EXPECT_THROW(augment_image(img.data(), 1, 2, 2, -1, 0, 0, false, dst.data()), std::invalid_argument);
}

TEST(DrawAugmentation, OffsetsCoverZeroToTwicePadAndHalfAreFlipped) {
  const AugmentOptions options{/*pad=*/4, /*random_crop=*/true, /*horizontal_flip=*/true};
  std::vector<int> dx_count(9), dy_count(9);
  int flips = 0;
  constexpr int kImages = 9000;
  for (size_t index = 0; index < kImages; ++index) {
    const Augmentation a = draw_augmentation(options, 77, index);
    ASSERT_GE(a.dx, 0);
    ASSERT_LE(a.dx, 8);
    ASSERT_GE(a.dy, 0);
    ASSERT_LE(a.dy, 8);
    ++dx_count[a.dx];
    ++dy_count[a.dy];
    flips += a.flip;
  }
  for (int n : dx_count) EXPECT_NEAR(n, kImages / 9, 200);
  for (int n : dy_count) EXPECT_NEAR(n, kImages / 9, 200);
  EXPECT_NEAR(flips, kImages / 2, 300);
}

TEST(DrawAugmentation, NoneWithoutOptions) {
  for (size_t index = 0; index < 100; ++index) {
    const Augmentation none = draw_augmentation({}, 1, index);
    EXPECT_EQ(none.dx, 0);
    EXPECT_EQ(none.dy, 0);
    EXPECT_FALSE(none.flip);
    const Augmentation centre = draw_augmentation({/*pad=*/4, false, false}, 1, index);
    EXPECT_EQ(centre.dx, 4);
    EXPECT_EQ(centre.dy, 4);
  }
}

TEST(DrawAugmentation, DependsOnSeedAndIndex) {
  const AugmentOptions options{4, true, true};
  int differ_by_seed = 0, differ_by_index = 0;
  for (size_t index = 0; index < 100; ++index) {
    const Augmentation a = draw_augmentation(options, 1, index), b = draw_augmentation(options, 1, index);
    EXPECT_EQ(a.dx, b.dx);
    EXPECT_EQ(a.dy, b.dy);
    EXPECT_EQ(a.flip, b.flip);
    const Augmentation other_seed = draw_augmentation(options, mix_seed(1, 1), index);
    const Augmentation next = draw_augmentation(options, 1, index + 1);
    differ_by_seed += a.dx != other_seed.dx || a.dy != other_seed.dy || a.flip != other_seed.flip;
    differ_by_index += a.dx != next.dx || a.dy != next.dy || a.flip != next.flip;
  }
  EXPECT_GT(differ_by_seed, 90);
  EXPECT_GT(differ_by_index, 90);
}

// Three-channel 4 x 5 images with distinct pixels, labels 0..9 cycling.
ImageSet small_set(size_t count) {
  ImageSet set;
  set.channels = 3;
  set.height = 4;
  set.width = 5;
  set.num_classes = 10;
  set.pixels = fixtures::pixel_pattern(count, 3 * 4, 5);
  set.labels = fixtures::label_pattern(count);
  return set;
}

const Normalization kNorm{{0.1f, 0.5f, 0.9f}, {0.2f, 0.3f, 0.4f}};

float normalised(uint8_t pixel, int c) { return (pixel / 255.0f - kNorm.mean[c]) / kNorm.std[c]; }

TEST(FillBatch, WithoutAugmentationIsPlainNormalisation) {
  const ImageSet set = small_set(8);
  const std::vector<size_t> indices = {5, 2, 7, 0};
  const size_t image = set.image_bytes(), plane = 20;
  // No options; a random crop of zero padding; padding cropped at the centre.
  for (const AugmentOptions& options : {AugmentOptions{}, AugmentOptions{0, true, false},
                                        AugmentOptions{3, false, false}}) {
    std::vector<float> images(3 * image);
    std::vector<int64_t> labels(3);
    fill_batch(set, indices, 1, 3, kNorm, options, 123, images.data(), labels.data());
    EXPECT_THAT(labels, ElementsAre(2, 7, 0));
    for (size_t j = 0; j < 3; ++j) {
      for (size_t i = 0; i < image; ++i) {
        const int c = static_cast<int>(i / plane);
        ASSERT_EQ(images[j * image + i], normalised(set.pixels[indices[1 + j] * image + i], c)) << j << " " << i;
      }
    }
  }
}

TEST(FillBatch, AppliesTheDrawnAugmentationAndPadsWithNormalisedZero) {
  ImageSet set = small_set(50);
  std::fill(set.pixels.begin(), set.pixels.end(), 255);  // the padding is the only zero
  const AugmentOptions options{/*pad=*/2, true, true};
  const std::vector<size_t> indices = iota(50);
  const size_t image = set.image_bytes();
  std::vector<float> images(50 * image);
  std::vector<int64_t> labels(50);
  fill_batch(set, indices, 0, 50, kNorm, options, 9, images.data(), labels.data());
  int padded_images = 0;
  for (size_t j = 0; j < 50; ++j) {
    const Augmentation a = draw_augmentation(options, 9, j);
    Bytes expected(image);
    augment_image(set.pixels.data() + j * image, 3, 4, 5, 2, a.dx, a.dy, a.flip, expected.data());
    for (size_t i = 0; i < image; ++i) {
      const int c = static_cast<int>(i / 20);
      ASSERT_EQ(images[j * image + i], normalised(expected[i], c)) << j << " " << i;
    }
    padded_images += std::count(expected.begin(), expected.end(), 0) > 0;
  }
  EXPECT_GT(padded_images, 30);  // most windows take some padding
  EXPECT_EQ(normalised(0, 1), -0.5f / 0.3f);
}

// Image j's augmentation comes from (seed, index), so cutting the epoch into other batches changes nothing.
TEST(FillBatch, DoesNotDependOnBatchBoundaries) {
  const ImageSet set = small_set(30);
  const std::vector<size_t> indices = BatchSampler(30, 7, true, 2).epoch_indices(0);
  const AugmentOptions options{3, true, true};
  const size_t image = set.image_bytes();
  std::vector<float> whole(30 * image), pieces(30 * image);
  std::vector<int64_t> whole_labels(30), piece_labels(30);
  fill_batch(set, indices, 0, 30, kNorm, options, 5, whole.data(), whole_labels.data());
  for (size_t begin = 0; begin < 30; begin += 7) {
    const size_t count = std::min<size_t>(7, 30 - begin);
    fill_batch(set, indices, begin, count, kNorm, options, 5, pieces.data() + begin * image,
               piece_labels.data() + begin);
  }
  EXPECT_EQ(whole, pieces);
  EXPECT_EQ(whole_labels, piece_labels);
}

TEST(FillBatch, RejectsBadRangesIndicesAndNormalisations) {
  const ImageSet set = small_set(4);
  std::vector<float> images(10 * set.image_bytes());
  std::vector<int64_t> labels(10);
  const std::vector<size_t> indices = {0, 1, 2, 3, 4};
  auto fill = [&](size_t begin, size_t count, const Normalization& norm) {
    fill_batch(set, indices, begin, count, norm, {}, 0, images.data(), labels.data());
  };
  EXPECT_NO_THROW(fill(0, 4, kNorm));
  EXPECT_THROW(fill(3, 3, kNorm), std::out_of_range);
  EXPECT_THROW(fill(6, 0, kNorm), std::out_of_range);
  EXPECT_THROW(fill(0, 5, kNorm), std::out_of_range);  // index 4 is outside the set of 4
  EXPECT_THROW(fill(0, 1, Normalization{{0.5f}, {0.5f}}), std::invalid_argument);
  EXPECT_THROW(fill(0, 1, Normalization{{0.1f, 0.1f, 0.1f}, {0.2f, 0.f, 0.2f}}), std::invalid_argument);
}

}  // namespace
}  // namespace apot::data
