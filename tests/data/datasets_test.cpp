#include "data/datasets.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fmt/format.h>

#include "tests/data/data_files.h"

namespace apot::data {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using fixtures::Bytes;
using fixtures::idx_bytes;
using fixtures::TempDir;
using fixtures::ThrowsAbout;

TEST(Datasets, KnownNames) { EXPECT_THAT(dataset_names(), ElementsAre("fashion-mnist", "mnist", "cifar10")); }

TEST(Datasets, UnknownNameListsTheKnownOnes) {
  const auto lists_known = ThrowsMessage<std::invalid_argument>(
      AllOf(HasSubstr("unknown dataset 'imagenet'"), HasSubstr("fashion-mnist, mnist, cifar10")));
  EXPECT_THAT([] { load_dataset("imagenet", "/tmp", true); }, lists_known);
  EXPECT_THAT([] { default_data_dir("imagenet"); }, lists_known);
  EXPECT_THAT([] { default_normalization("imagenet"); }, lists_known);
  EXPECT_THAT([] { default_augmentation("imagenet"); }, lists_known);
}

TEST(Datasets, Defaults) {
  EXPECT_EQ(default_data_dir("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(default_data_dir("mnist"), "");
  EXPECT_EQ(default_data_dir("cifar10"), "");

  EXPECT_THAT(default_normalization("fashion-mnist").mean, ElementsAre(0.2860f));
  EXPECT_THAT(default_normalization("fashion-mnist").std, ElementsAre(0.3530f));
  EXPECT_THAT(default_normalization("mnist").mean, ElementsAre(0.1307f));
  EXPECT_THAT(default_normalization("mnist").std, ElementsAre(0.3081f));
  EXPECT_THAT(default_normalization("cifar10").mean, ElementsAre(0.4914f, 0.4822f, 0.4465f));
  EXPECT_THAT(default_normalization("cifar10").std, ElementsAre(0.2470f, 0.2435f, 0.2616f));

  const AugmentOptions cifar = default_augmentation("cifar10");
  EXPECT_EQ(cifar.pad, 4);
  EXPECT_TRUE(cifar.random_crop);
  EXPECT_TRUE(cifar.horizontal_flip);
  for (const char* name : {"fashion-mnist", "mnist"}) {
    const AugmentOptions none = default_augmentation(name);
    EXPECT_EQ(none.pad, 0);
    EXPECT_FALSE(none.random_crop);
    EXPECT_FALSE(none.horizontal_flip);
  }
}

// The four IDX files, the training ones compressed and the test ones raw, as either may come.
void write_idx_dataset(const TempDir& dir) {
  fixtures::write_gzip(dir.file("train-images-idx3-ubyte.gz"), idx_bytes({6, 2, 2}, fixtures::pixel_pattern(6, 2, 2)));
  fixtures::write_gzip(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes({6}, fixtures::label_pattern(6)));
  fixtures::write_raw(dir.file("t10k-images-idx3-ubyte"), idx_bytes({3, 2, 2}, fixtures::pixel_pattern(3, 2, 2)));
  fixtures::write_raw(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({3}, {9, 8, 7}));
}

TEST(Datasets, LoadsIdxSplitsCompressedOrRaw) {
  TempDir dir;
  write_idx_dataset(dir);
  for (const char* name : {"fashion-mnist", "mnist"}) {
    SCOPED_TRACE(name);
    const ImageSet train = load_dataset(name, dir.path().string(), true);
    EXPECT_EQ(train.size(), 6u);
    EXPECT_EQ(train.pixels, fixtures::pixel_pattern(6, 2, 2));
    const ImageSet test = load_dataset(name, dir.path().string(), false);
    EXPECT_EQ(test.labels, (Bytes{9, 8, 7}));
  }
}

TEST(Datasets, MissingIdxFileNamesBothCandidates) {
  TempDir dir;
  write_idx_dataset(dir);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
  const std::string raw = dir.file("t10k-labels-idx1-ubyte");
  EXPECT_THAT([&] { load_dataset("mnist", dir.path().string(), false); },
              ThrowsAbout(raw, raw + ".gz", "mnist: neither"));
}

TEST(Datasets, LoadsCifar10FromItsDirectoryOrTheUnpackedArchive) {
  TempDir dir;
  const std::string unpacked = dir.file("cifar-10-batches-bin");
  for (int b = 1; b <= 5; ++b) {
    Bytes record(3073, static_cast<uint8_t>(b));
    record[0] = static_cast<uint8_t>(b);
    fixtures::write_raw(unpacked + "/data_batch_" + std::to_string(b) + ".bin", record);
  }
  Bytes test_records(2 * 3073, 0);
  fixtures::write_raw(unpacked + "/test_batch.bin", test_records);

  const ImageSet train = load_dataset("cifar10", dir.path().string(), true);
  EXPECT_EQ(train.labels, (Bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(train.pixels[3072 * 4], 5);
  EXPECT_EQ(load_dataset("cifar10", unpacked, true).labels, train.labels);
  EXPECT_EQ(load_dataset("cifar10", unpacked, false).size(), 2u);

  std::filesystem::remove(unpacked + "/data_batch_3.bin");
  EXPECT_THAT([&] { load_dataset("cifar10", dir.path().string(), true); },
              ThrowsAbout(unpacked + "/data_batch_3.bin", "cannot open"));
  EXPECT_THAT([&] { load_dataset("cifar10", dir.file("elsewhere"), false); },
              ThrowsAbout(dir.file("elsewhere"), "test_batch.bin is neither in"));
}

TEST(Datasets, DirectoryIsNeededWithoutADefault) {
  EXPECT_THAT([] { load_dataset("cifar10", "", true); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("cifar10: no data directory given")));
}

TEST(Datasets, SubsetCopiesARangeAndStopsAtTheEnd) {
  ImageSet set;
  set.channels = 1;
  set.height = 2;
  set.width = 2;
  set.num_classes = 10;
  set.pixels = fixtures::pixel_pattern(5, 2, 2);
  set.labels = fixtures::label_pattern(5);

  const ImageSet middle = subset(set, 1, 3);
  EXPECT_EQ(middle.channels, 1);
  EXPECT_EQ(middle.height, 2);
  EXPECT_EQ(middle.num_classes, 10);
  EXPECT_EQ(middle.labels, (Bytes{1, 2, 3}));
  EXPECT_EQ(middle.pixels, Bytes(set.pixels.begin() + 4, set.pixels.begin() + 16));

  EXPECT_EQ(subset(set, 3, 100).labels, (Bytes{3, 4}));
  EXPECT_EQ(subset(set, 5, 1).size(), 0u);
  EXPECT_THROW(subset(set, 6, 1), std::out_of_range);
}

// The system's Fashion-MNIST (package dataset-fashion-mnist), checked against facts about the files.
TEST(Datasets, RealFashionMnist) {
  if (!std::filesystem::exists(default_data_dir("fashion-mnist"))) GTEST_SKIP() << "no Fashion-MNIST installed";
  const ImageSet train = load_dataset("fashion-mnist", "", true);
  const ImageSet test = load_dataset("fashion-mnist", "", false);
  for (const ImageSet* set : {&train, &test}) {
    EXPECT_EQ(set->channels, 1);
    EXPECT_EQ(set->height, 28);
    EXPECT_EQ(set->width, 28);
    EXPECT_EQ(set->num_classes, 10);
    EXPECT_EQ(set->labels[0], 9);  // an ankle boot opens both splits
    // Balanced: 6000 and 1000 images of every class.
    std::vector<size_t> per_class(10);
    for (uint8_t label : set->labels) ++per_class.at(label);
    for (size_t n : per_class) EXPECT_EQ(n, set->size() / 10);
  }
  EXPECT_EQ(train.size(), 60000u);
  EXPECT_EQ(test.size(), 10000u);
  // The normalisation constant is the training set's mean.
  double sum = 0;
  for (uint8_t p : train.pixels) sum += p;
  EXPECT_NEAR(sum / train.pixels.size() / 255, default_normalization("fashion-mnist").mean[0], 1e-4);
}

TEST(Datasets, AugmentationSpecsParseAndPrintBack) {
  EXPECT_EQ(augmentation_name(parse_augmentation("default", "cifar10")), "crop4+flip");
  EXPECT_EQ(augmentation_name(parse_augmentation("default", "fashion-mnist")), "none");
  EXPECT_EQ(augmentation_name(parse_augmentation("none", "cifar10")), "none");
  const AugmentOptions a = parse_augmentation("crop2+flip", "fashion-mnist");
  EXPECT_EQ(a.pad, 2);
  EXPECT_TRUE(a.random_crop);
  EXPECT_TRUE(a.horizontal_flip);
  EXPECT_EQ(augmentation_name(parse_augmentation("flip+crop12", "mnist")), "crop12+flip");
  const AugmentOptions f = parse_augmentation("flip", "mnist");
  EXPECT_FALSE(f.random_crop);
  EXPECT_EQ(f.pad, 0);
  EXPECT_TRUE(f.horizontal_flip);
}

TEST(Datasets, BadAugmentationSpecsNameThePart) {
  for (const char* bad : {"", "crop", "crop0", "cropx", "crop123", "flip+flip", "crop2+crop3", "flip+", "+flip", "rotate",
                          "crop-2", "Flip"}) {
    try {
      parse_augmentation(bad, "fashion-mnist");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(fmt::format("augmentation '{}'", bad))) << bad;
    }
  }
}

}  // namespace
}  // namespace apot::data
