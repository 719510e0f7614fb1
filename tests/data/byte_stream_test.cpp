#include "data/byte_stream.h"

#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/data/data_files.h"

namespace apot::data {
namespace {

using fixtures::Bytes;
using fixtures::TempDir;
using fixtures::ThrowsAbout;

// Bytes that compress poorly, so that a gzip file spans many of the reader's input buffers.
Bytes noise(size_t size) {
  Bytes bytes(size);
  uint32_t state = 12345;
  for (uint8_t& b : bytes) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::function<void()> reading(const std::string& path) {
  return [path] { read_file(path); };
}

TEST(ByteStream, ReadsARawFile) {
  TempDir dir;
  const Bytes content = noise(300000);
  fixtures::write_raw(dir.file("data.bin"), content);
  EXPECT_FALSE(ByteStream(dir.file("data.bin")).gzip());
  EXPECT_EQ(read_file(dir.file("data.bin")), content);
}

TEST(ByteStream, DetectsGzipByContentNotByName) {
  TempDir dir;
  const Bytes content = noise(1 << 20);
  fixtures::write_gzip(dir.file("packed.bin"), content);
  fixtures::write_raw(dir.file("plain.gz"), content);
  EXPECT_TRUE(ByteStream(dir.file("packed.bin")).gzip());
  EXPECT_EQ(read_file(dir.file("packed.bin")), content);
  EXPECT_FALSE(ByteStream(dir.file("plain.gz")).gzip());
  EXPECT_EQ(read_file(dir.file("plain.gz")), content);
}

TEST(ByteStream, ReadsInPiecesAndKnowsItsEnd) {
  TempDir dir;
  const Bytes content = noise(100000);
  fixtures::write_raw(dir.file("raw"), content);
  fixtures::write_gzip(dir.file("gz"), content);
  for (const char* name : {"raw", "gz"}) {
    SCOPED_TRACE(name);
    ByteStream in(dir.file(name));
    Bytes got;
    EXPECT_EQ(in.read(10, got), 10u);
    EXPECT_FALSE(in.at_end());
    EXPECT_FALSE(in.at_end());  // asking twice consumes nothing
    EXPECT_EQ(in.read(70000, got), 70000u);
    EXPECT_EQ(in.read(1000000, got), 29990u);  // a bound, not a size: only what is there
    EXPECT_TRUE(in.at_end());
    EXPECT_EQ(in.read(5, got), 0u);
    EXPECT_EQ(got, content);
  }
}

TEST(ByteStream, EmptyFileIsEmpty) {
  TempDir dir;
  fixtures::write_raw(dir.file("empty"), {});
  fixtures::write_gzip(dir.file("empty.gz"), {});
  EXPECT_TRUE(read_file(dir.file("empty")).empty());
  EXPECT_TRUE(read_file(dir.file("empty.gz")).empty());
}

TEST(ByteStream, ConcatenatedGzipMembersReadAsOneStream) {
  TempDir dir;
  const Bytes first = noise(5000), second = {1, 2, 3};
  fixtures::write_gzip(dir.file("a.gz"), first);
  fixtures::write_gzip(dir.file("b.gz"), second);
  Bytes both = fixtures::read_raw(dir.file("a.gz"));
  const Bytes b = fixtures::read_raw(dir.file("b.gz"));
  both.insert(both.end(), b.begin(), b.end());
  fixtures::write_raw(dir.file("ab.gz"), both);
  Bytes expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(read_file(dir.file("ab.gz")), expected);
}

TEST(ByteStream, MissingFileIsNamed) {
  TempDir dir;
  const std::string path = dir.file("nothing-here.gz");
  EXPECT_THAT(reading(path), ThrowsAbout(path, "cannot open", "No such file"));
}

TEST(ByteStream, DirectoryIsNotAFile) {
  TempDir dir;
  EXPECT_THAT(reading(dir.path().string()), ThrowsAbout(dir.path().string(), "is a directory"));
}

class CorruptGzip : public ::testing::Test {
 protected:
  void SetUp() override {
    fixtures::write_gzip(dir_.file("good.gz"), noise(200000));
    bytes_ = fixtures::read_raw(dir_.file("good.gz"));
    ASSERT_GT(bytes_.size(), 200000u);
  }
  std::function<void()> reading_after_writing(const Bytes& bytes) {
    fixtures::write_raw(bad(), bytes);
    return reading(bad());
  }
  std::string bad() const { return dir_.file("bad.gz"); }

  TempDir dir_;
  Bytes bytes_;
};

TEST_F(CorruptGzip, BadChecksumIsReported) {
  bytes_[bytes_.size() - 8] ^= 0xFF;  // the trailer's CRC-32
  EXPECT_THAT(reading_after_writing(bytes_), ThrowsAbout(bad(), "corrupted gzip stream", "incorrect data check"));
}

TEST_F(CorruptGzip, InvalidBlockIsReported) {
  bytes_[10] |= 0x06;  // the first deflate block, after the 10-byte header: block type 3 does not exist
  EXPECT_THAT(reading_after_writing(bytes_), ThrowsAbout(bad(), "corrupted gzip stream", "invalid block type"));
}

TEST_F(CorruptGzip, UnknownCompressionMethodIsReported) {
  bytes_[2] = 7;  // 8 is deflate, the only method gzip defines
  EXPECT_THAT(reading_after_writing(bytes_), ThrowsAbout(bad(), "corrupted gzip stream"));
}

TEST_F(CorruptGzip, TruncationIsReported) {
  for (size_t keep : {bytes_.size() - 4, bytes_.size() / 2, size_t{12}}) {
    SCOPED_TRACE(keep);
    EXPECT_THAT(reading_after_writing(Bytes(bytes_.begin(), bytes_.begin() + keep)),
                ThrowsAbout(bad(), "truncated gzip stream"));
  }
}

TEST_F(CorruptGzip, TrailingGarbageIsReported) {
  for (const Bytes& tail : {Bytes{0}, Bytes{0x1f}, Bytes{'h', 'e', 'l', 'l', 'o'}}) {
    Bytes bytes = bytes_;
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    EXPECT_THAT(reading_after_writing(bytes), ThrowsAbout(bad(), "trailing garbage"));
  }
}

}  // namespace
}  // namespace apot::data
