#include "data/cifar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/data/data_files.h"

namespace apot::data {
namespace {

using fixtures::Bytes;
using fixtures::TempDir;
using fixtures::ThrowsAbout;

constexpr size_t kImage = 3 * 32 * 32;
constexpr size_t kRecord = 1 + kImage;

// CIFAR-10 records for `labels`, with images from fixtures::pixel_pattern starting at image `first`.
Bytes records(const Bytes& labels, size_t first = 0) {
  const Bytes pixels = fixtures::pixel_pattern(first + labels.size(), 3 * 32, 32);
  Bytes out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.push_back(labels[r]);
    const auto image = pixels.begin() + (first + r) * kImage;
    out.insert(out.end(), image, image + kImage);
  }
  return out;
}

TEST(Cifar10, ConcatenatesFilesInOrder) {
  TempDir dir;
  fixtures::write_raw(dir.file("a.bin"), records({3, 9, 0}));
  fixtures::write_gzip(dir.file("b.bin"), records({7, 1}, 3));
  const ImageSet set = read_cifar10({dir.file("a.bin"), dir.file("b.bin")});
  EXPECT_EQ(set.channels, 3);
  EXPECT_EQ(set.height, 32);
  EXPECT_EQ(set.width, 32);
  EXPECT_EQ(set.num_classes, 10);
  EXPECT_EQ(set.labels, (Bytes{3, 9, 0, 7, 1}));
  EXPECT_EQ(set.pixels, fixtures::pixel_pattern(5, 3 * 32, 32));
}

TEST(Cifar10, RecordIsRedGreenBluePlanes) {
  TempDir dir;
  Bytes record(kRecord);
  record[0] = 4;
  record[1] = 10;                  // red (0, 0)
  record[1 + 1024 + 33] = 20;      // green (1, 1)
  record[1 + 2048 + 1023] = 30;    // blue (31, 31)
  fixtures::write_raw(dir.file("one.bin"), record);
  const ImageSet set = read_cifar10({dir.file("one.bin")});
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set.labels[0], 4);
  EXPECT_EQ(set.pixels[0], 10);
  EXPECT_EQ(set.pixels[(1 * 32 + 1) * 32 + 1], 20);
  EXPECT_EQ(set.pixels[(2 * 32 + 31) * 32 + 31], 30);
}

TEST(Cifar10, SizeNotAMultipleOfTheRecordIsNamed) {
  TempDir dir;
  Bytes bytes = records({1, 2});
  bytes.resize(bytes.size() + 5);
  fixtures::write_raw(dir.file("odd.bin"), bytes);
  EXPECT_THAT([&] { read_cifar10({dir.file("odd.bin")}); },
              ThrowsAbout(dir.file("odd.bin"), "size 6151 bytes", "3073"));
  fixtures::write_raw(dir.file("empty.bin"), {});
  EXPECT_THAT([&] { read_cifar10({dir.file("empty.bin")}); }, ThrowsAbout(dir.file("empty.bin"), "size 0 bytes"));
}

TEST(Cifar10, LabelAboveNineIsNamed) {
  TempDir dir;
  fixtures::write_raw(dir.file("good.bin"), records({1, 2}));
  fixtures::write_raw(dir.file("bad.bin"), records({9, 10, 0}));
  EXPECT_THAT([&] { read_cifar10({dir.file("good.bin"), dir.file("bad.bin")}); },
              ThrowsAbout(dir.file("bad.bin"), "label 10 in record 1", "expected 0..9"));
}

TEST(Cifar10, MissingFileIsNamed) {
  TempDir dir;
  fixtures::write_raw(dir.file("good.bin"), records({1}));
  EXPECT_THAT([&] { read_cifar10({dir.file("good.bin"), dir.file("data_batch_2.bin")}); },
              ThrowsAbout(dir.file("data_batch_2.bin"), "cannot open", "No such file"));
  EXPECT_THROW(read_cifar10({}), std::invalid_argument);
}

}  // namespace
}  // namespace apot::data
