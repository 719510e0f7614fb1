#include "data/idx.h"

#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/data/data_files.h"

namespace apot::data {
namespace {

using fixtures::Bytes;
using fixtures::idx_bytes;
using fixtures::TempDir;
using fixtures::ThrowsAbout;

constexpr uint32_t kCount = 5, kRows = 4, kCols = 3;

// A directory with an image file and a label file; each test spoils one of them.
class Idx : public ::testing::Test {
 protected:
  Idx()
      : pixels_(fixtures::pixel_pattern(kCount, kRows, kCols)),
        labels_(fixtures::label_pattern(kCount)),
        images_bytes_(idx_bytes({kCount, kRows, kCols}, pixels_)),
        labels_bytes_(idx_bytes({kCount}, labels_)) {}

  std::string images() const { return dir_.file("images"); }
  std::string labels() const { return dir_.file("labels"); }
  // Writes both files, compressed or not, and returns what reading them does.
  std::function<void()> reading(bool gzip = false, int num_classes = 10) {
    write(images(), images_bytes_, gzip);
    write(labels(), labels_bytes_, gzip);
    return [this, num_classes] { read_idx(images(), labels(), num_classes); };
  }
  static void write(const std::string& path, const Bytes& bytes, bool gzip) {
    gzip ? fixtures::write_gzip(path, bytes) : fixtures::write_raw(path, bytes);
  }

  TempDir dir_;
  Bytes pixels_, labels_, images_bytes_, labels_bytes_;
};

TEST_F(Idx, RoundTripsRawAndGzip) {
  for (bool images_gzip : {false, true}) {
    for (bool labels_gzip : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "gzip images " << images_gzip << ", labels " << labels_gzip);
      write(images(), images_bytes_, images_gzip);
      write(labels(), labels_bytes_, labels_gzip);
      const ImageSet set = read_idx(images(), labels());
      EXPECT_EQ(set.channels, 1);
      EXPECT_EQ(set.height, static_cast<int>(kRows));
      EXPECT_EQ(set.width, static_cast<int>(kCols));
      EXPECT_EQ(set.num_classes, 10);
      EXPECT_EQ(set.size(), kCount);
      EXPECT_EQ(set.image_bytes(), kRows * kCols);
      EXPECT_EQ(set.pixels, pixels_);
      EXPECT_EQ(set.labels, labels_);
    }
  }
}

TEST_F(Idx, EmptySetIsValid) {
  images_bytes_ = idx_bytes({0, kRows, kCols}, {});
  labels_bytes_ = idx_bytes({0}, {});
  reading()();
  EXPECT_EQ(read_idx(images(), labels()).size(), 0u);
}

TEST_F(Idx, MissingFilesAreNamed) {
  fixtures::write_raw(labels(), labels_bytes_);
  EXPECT_THAT([&] { read_idx(images(), labels()); }, ThrowsAbout(images(), "cannot open", "No such file"));
  fixtures::write_raw(images(), images_bytes_);
  EXPECT_THAT([&] { read_idx(images(), dir_.file("no-labels")); },
              ThrowsAbout(dir_.file("no-labels"), "cannot open"));
}

TEST_F(Idx, BadMagicPrintsExpectedAndFoundInHex) {
  images_bytes_ = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THAT(reading(), ThrowsAbout(images(), "bad magic", "expected 0x00000803", "found 0x504b0304"));
}

TEST_F(Idx, SwappedFilesAreABadMagic) {
  std::swap(images_bytes_, labels_bytes_);
  EXPECT_THAT(reading(), ThrowsAbout(images(), "bad magic", "expected 0x00000803", "found 0x00000801"));
}

TEST_F(Idx, WrongDataTypeIsNamed) {
  labels_bytes_ = idx_bytes({kCount}, Bytes(4 * kCount), /*type=*/0x0D);
  EXPECT_THAT(reading(true), ThrowsAbout(labels(), "wrong data type", "expected uint8", "found float32", "0x00000d01"));
}

TEST_F(Idx, TruncatedHeaderIsReported) {
  images_bytes_.resize(10);
  EXPECT_THAT(reading(), ThrowsAbout(images(), "truncated header", "expected 16 bytes, found 10"));
  images_bytes_.resize(2);
  EXPECT_THAT(reading(), ThrowsAbout(images(), "truncated header", "expected 16 bytes, found 2"));
}

TEST_F(Idx, TruncatedDataIsReported) {
  images_bytes_.pop_back();
  for (bool gzip : {false, true}) {
    EXPECT_THAT(reading(gzip), ThrowsAbout(images(), "truncated", "expected 60 bytes", "found 59"));
  }
  images_bytes_.push_back(0);
  labels_bytes_.resize(labels_bytes_.size() - 3);
  EXPECT_THAT(reading(), ThrowsAbout(labels(), "truncated", "expected 5 bytes", "found 2"));
}

TEST_F(Idx, CountMismatchNamesBothFiles) {
  labels_bytes_ = idx_bytes({kCount + 1}, fixtures::label_pattern(kCount + 1));
  EXPECT_THAT(reading(), ThrowsAbout(images(), labels(), "count mismatch", "5 images", "6 labels"));
}

TEST_F(Idx, TrailingGarbageIsReported) {
  images_bytes_.push_back(0);
  for (bool gzip : {false, true}) EXPECT_THAT(reading(gzip), ThrowsAbout(images(), "trailing garbage"));
  images_bytes_.pop_back();
  labels_bytes_.push_back(0);
  EXPECT_THAT(reading(), ThrowsAbout(labels(), "trailing garbage"));
}

TEST_F(Idx, LabelOutOfRangeNamesItsIndex) {
  labels_bytes_.back() = 10;
  EXPECT_THAT(reading(), ThrowsAbout(labels(), "label 10 at index 4", "expected 0..9"));
  EXPECT_EQ(read_idx(images(), labels(), /*num_classes=*/11).labels.back(), 10);
  EXPECT_THROW(read_idx(images(), labels(), 0), std::invalid_argument);
}

TEST_F(Idx, CorruptedGzipIsReported) {
  write(images(), images_bytes_, true);
  Bytes gz = fixtures::read_raw(images());
  gz[gz.size() - 8] ^= 1;  // the trailer's CRC-32
  fixtures::write_raw(images(), gz);
  write(labels(), labels_bytes_, false);
  EXPECT_THAT([&] { read_idx(images(), labels()); }, ThrowsAbout(images(), "corrupted gzip stream"));
}

// A header that claims a terabyte must fail on the data actually there, not on an allocation.
TEST_F(Idx, AbsurdHeaderDoesNotAllocate) {
  constexpr uint32_t kHuge = 1000000;
  images_bytes_ = idx_bytes({kHuge, 1000, 1000}, Bytes(100));
  labels_bytes_ = idx_bytes({kHuge}, Bytes(100));
  for (bool gzip : {false, true}) {
    EXPECT_THAT(reading(gzip), ThrowsAbout(images(), "truncated", "expected 1000000000000 bytes", "found 100"));
  }
  images_bytes_ = idx_bytes({0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF}, Bytes(100));
  labels_bytes_ = idx_bytes({0xFFFFFFFF}, Bytes(100));
  EXPECT_THAT(reading(), ThrowsAbout(images(), "more than any file holds"));
}

TEST_F(Idx, EmptyImagesAreImpossible) {
  images_bytes_ = idx_bytes({kCount, 0, kCols}, {});
  EXPECT_THAT(reading(), ThrowsAbout(images(), "image size 0 x 3"));
}

}  // namespace
}  // namespace apot::data
