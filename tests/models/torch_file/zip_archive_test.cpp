// The zip reader on torch.save's archives (stored entries) and zipfile's (deflated), and on damage:
// a changed byte fails the CRC, a cut archive has no end record, offsets beyond the bytes are refused.
#include "models/torch_file/zip_archive.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/models/torch_file/torch_files.h"

namespace apot::models::torch_file {
namespace {

using ::testing::HasSubstr;

std::string bytes_of(const std::string& name) {
  std::ifstream in(test::torch_file(name), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string error_of(const std::string& bytes, const std::string& entry) {
  try {
    ZipArchive(bytes, "z").read(entry);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ZipArchive, StoredAndDeflatedEntriesReadTheSame) {
  const std::string stored = bytes_of("views.pt"), deflated = bytes_of("views_deflated.pt");
  ASSERT_TRUE(ZipArchive::looks_like_zip(stored));
  const ZipArchive a(stored, "views.pt"), b(deflated, "views_deflated.pt");
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) EXPECT_EQ(a.read(name), b.read(name)) << name;
  EXPECT_LT(deflated.size(), stored.size());
}

TEST(ZipArchive, DamageIsNamed) {
  const std::string stored = bytes_of("views.pt");
  const ZipArchive zip(stored, "z");
  std::string storage_entry;
  for (const std::string& name : zip.names()) {
    if (name.find("/data/") != std::string::npos) storage_entry = name;
  }
  ASSERT_FALSE(storage_entry.empty());
  // The storage holds 0..23 as float32: flip a bit of the value 1.0 (bytes 00 00 80 3f).
  std::string damaged = stored;
  const size_t at = damaged.find(std::string("\x00\x00\x80\x3f", 4));
  ASSERT_NE(at, std::string::npos);
  damaged[at + 3] ^= 1;
  EXPECT_THAT(error_of(damaged, storage_entry), HasSubstr("fails its CRC-32 check"));
  EXPECT_THAT(error_of(stored.substr(0, stored.size() - 30), storage_entry), HasSubstr("no zip end record"));
  EXPECT_THAT(error_of(stored, "missing"), HasSubstr("no entry 'missing'"));
  EXPECT_THAT(error_of("PK\x03\x04", "x"), HasSubstr("too short"));
  // The central directory's offset (in the ZIP64 end record torch.save writes) pointed past the end.
  std::string moved = stored;
  const size_t end64 = moved.rfind(std::string("PK\x06\x06", 4));
  ASSERT_NE(end64, std::string::npos);
  moved[end64 + 48 + 6] = '\x7f';
  EXPECT_THAT(error_of(moved, storage_entry), HasSubstr("lies beyond its"));
}

}  // namespace
}  // namespace apot::models::torch_file
