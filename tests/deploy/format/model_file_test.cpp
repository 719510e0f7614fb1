#include "deploy/format/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "deploy/format/crc32.h"
#include "deploy/format/validate.h"
#include "tests/support/model_difference.h"
#include "tests/support/resnet20_model.h"
#include "tests/support/tiny_model.h"

namespace apot::deploy {
namespace {

namespace fs = std::filesystem;
using test::ModelDiff;
using test::tiny_model;

constexpr size_t kHeaderSize = 24;

template <class T>
T read_le(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <class T>
void write_le(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// A file whose header again matches its payload (length and CRC), so a change to the payload reaches
// the parser instead of stopping at the checksum.
std::string reseal(std::string bytes) {
  write_le<uint32_t>(bytes, 12, crc32(std::string_view(bytes).substr(kHeaderSize)));
  write_le<uint64_t>(bytes, 16, bytes.size() - kHeaderSize);
  return bytes;
}

size_t metadata_size(const std::string& bytes) { return read_le<uint32_t>(bytes, kHeaderSize); }
std::string metadata(const std::string& bytes) { return bytes.substr(kHeaderSize + 4, metadata_size(bytes)); }
// Offset of op 0's tag: after the metadata and the op count.
size_t first_op(const std::string& bytes) { return kHeaderSize + 4 + metadata_size(bytes) + 4; }

std::string with_metadata(const std::string& bytes, const std::string& text) {
  std::string out = bytes.substr(0, kHeaderSize);
  out.append(4, '\0');
  write_le<uint32_t>(out, kHeaderSize, static_cast<uint32_t>(text.size()));
  out += text;
  out += bytes.substr(kHeaderSize + 4 + metadata_size(bytes));
  return reseal(out);
}

// The message of the std::invalid_argument that deserialize throws, or "" if it accepts the bytes;
// any other exception fails the test.
std::string load_error(const std::string& bytes, const std::string& source = "model.apot") {
  try {
    deserialize(bytes, source);
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(source + ": ", 0), 0u) << "message does not start with the source: " << message;
    return message;
  }
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(ModelFile, RoundTripIsExact) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const IntegerModel model = tiny_model(seed);
    EXPECT_EQ(ModelDiff::between(deserialize(serialize(model), "tiny"), model), "") << "seed " << seed;
  }
  for (int bits : {2, 3, 4, 8}) {
    const IntegerModel model = test::resnet20_model(bits);
    EXPECT_EQ(ModelDiff::between(deserialize(serialize(model), "resnet20"), model), "") << bits << " bits";
  }
}

TEST(ModelFile, RoundTripKeepsEveryValueExactly) {
  IntegerModel model = tiny_model();
  model.description = "apot w4 a4, k = 2 — “unicode”";
  model.reference_compat = true;
  model.input.scale = 1.0 / 3;  // not a short decimal
  model.input.mean = {-0.0};
  model.input.std = {5e-324};  // the smallest subnormal
  std::get<ConvOp>(model.ops[0]).name = std::string("odd\0name\xff", 9);  // op names are bytes, not text
  std::get<ConvOp>(model.ops[2]).weight_alpha.clear();
  std::get<ActQuantOp>(model.ops[1]).alpha = 0.1;
  std::get<AvgPoolLinearOp>(model.ops[6]).bias[0] = -1e300;
  const IntegerModel loaded = deserialize(serialize(model), "model");
  EXPECT_EQ(ModelDiff::between(loaded, model), "");
  EXPECT_TRUE(std::signbit(loaded.input.mean[0]));
}

TEST(ModelFile, WithoutNormalisation) {
  IntegerModel model = tiny_model();
  model.input.mean.clear();
  model.input.std.clear();
  EXPECT_EQ(ModelDiff::between(deserialize(serialize(model), "model"), model), "");
}

TEST(ModelFile, SerializeIsDeterministic) {
  EXPECT_EQ(serialize(tiny_model()), serialize(tiny_model()));
  EXPECT_NE(serialize(tiny_model(1)), serialize(tiny_model(2)));
}

TEST(ModelFile, HeaderLayout) {
  const std::string bytes = serialize(tiny_model());
  EXPECT_EQ(bytes.substr(0, 8), std::string("APOT\r\n\x1a\n", 8));
  EXPECT_EQ(read_le<uint32_t>(bytes, 8), kModelFormatVersion);
  EXPECT_EQ(kModelFormatVersion, 1u);
  EXPECT_EQ(read_le<uint32_t>(bytes, 12), crc32(std::string_view(bytes).substr(kHeaderSize)));
  EXPECT_EQ(read_le<uint64_t>(bytes, 16), bytes.size() - kHeaderSize);
  EXPECT_EQ(bytes[first_op(bytes)], 2);  // op 0 is a conv
}

TEST(ModelFile, MetadataIsJsonForPeople) {
  const std::string bytes = serialize(tiny_model());
  const nlohmann::json j = nlohmann::json::parse(metadata(bytes));
  EXPECT_EQ(j["arch"], "tiny");
  EXPECT_EQ(j["input"]["channels"], 1);
  EXPECT_EQ(j["input"]["std"][0], 0.25);
  EXPECT_EQ(j["frac_bits"], 16);
  EXPECT_EQ(j["buffer_count"], 7);
  // One entry per conv, with its input's and its weights' learned thresholds.
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["layers"][0]["name"], "conv1");
  EXPECT_FALSE(j["layers"][0].contains("act_alpha"));  // the first conv multiplies the input codes
  EXPECT_EQ(j["layers"][1]["name"], "layer1.0.conv1");
  EXPECT_EQ(j["layers"][1]["act_alpha"], 8.0);
  EXPECT_EQ(j["layers"][1]["weight_alpha"], std::get<ConvOp>(tiny_model().ops[2]).weight_alpha[0]);
  EXPECT_EQ(j["layers"][2]["act_alpha"], 4.0);
  EXPECT_EQ(j["layers"][2]["weight_alpha_range"].size(), 2u);  // per channel: its range only
}

// A 4-bit ResNet-20 (270k weights, 784 conv output channels) stays within b + 0.5 bits per weight.
TEST(ModelFile, SizeIsCloseToTheBitsOfTheWeights) {
  for (int bits : {2, 3, 4}) {
    const IntegerModel model = test::resnet20_model(bits);
    size_t weights = 0;
    for (const Op& op : model.ops) {
      if (const auto* conv = std::get_if<ConvOp>(&op)) weights += conv->codes.size();
      if (const auto* fc = std::get_if<AvgPoolLinearOp>(&op)) weights += fc->codes.size();
    }
    const size_t size = serialize(model).size();
    const double bits_per_weight = 8.0 * static_cast<double>(size) / static_cast<double>(weights);
    std::cout << "resnet20 " << bits << "-bit: " << weights << " weights, " << size << " bytes, " << bits_per_weight
              << " bits per weight\n";
    EXPECT_LE(bits_per_weight, bits + 0.5) << bits << " bits";
    if (bits == 4) {
      EXPECT_GT(weights, 270000u);
    }
  }
}

TEST(ModelFile, TooShortOrForeignFiles) {
  EXPECT_CONTAINS(load_error(""), "model.apot: file too short: 0 bytes, expected at least the 24-byte header");
  EXPECT_CONTAINS(load_error("APOT"), "file too short: 4 bytes");
  EXPECT_CONTAINS(load_error("hello world, not a model at all"), "model.apot: not an apot model file");
  EXPECT_CONTAINS(load_error("\x89PNG\r\n\x1a\n"), "not an apot model file");
  EXPECT_CONTAINS(load_error("PK"), "not an apot model file");
  // A text-mode transfer turned CR LF into LF.
  std::string bytes = serialize(tiny_model());
  bytes.erase(4, 1);
  EXPECT_CONTAINS(load_error(bytes), "not an apot model file");
}

TEST(ModelFile, UnsupportedVersion) {
  for (uint32_t version : {0u, 2u, 0xFFFFFFFFu}) {
    std::string bytes = serialize(tiny_model());
    write_le<uint32_t>(bytes, 8, version);
    EXPECT_CONTAINS(load_error(bytes), fmt::format("unsupported format version {}: this build reads version 1", version));
  }
}

TEST(ModelFile, LengthMismatch) {
  const std::string bytes = serialize(tiny_model());
  EXPECT_CONTAINS(load_error(bytes + "x"), "1 trailing bytes after the");
  EXPECT_CONTAINS(load_error(bytes.substr(0, bytes.size() - 1)), "truncated: the header gives a payload of");
  std::string huge = bytes;
  write_le<uint64_t>(huge, 16, ~uint64_t{0});
  EXPECT_CONTAINS(load_error(huge), "truncated: the header gives a payload of 18446744073709551615 bytes");
}

TEST(ModelFile, ChecksumMismatch) {
  std::string bytes = serialize(tiny_model());
  bytes[bytes.size() / 2] ^= 0x10;
  EXPECT_CONTAINS(load_error(bytes), "model.apot: corrupted: the payload's CRC-32 is 0x");
}

// Every prefix of a file is refused, by the header checks or, once the header is made to match, by the
// bounded reader: never a crash, a read past the end or a huge allocation (run under the sanitizers).
TEST(ModelFile, EveryTruncationIsAnError) {
  const std::string bytes = serialize(tiny_model());
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    const std::string cut = bytes.substr(0, n);
    EXPECT_NE(load_error(cut), "");
    if (n >= kHeaderSize) {
      const std::string error = load_error(reseal(cut));
      EXPECT_NE(error, "");
      if (n > kHeaderSize) {
        EXPECT_CONTAINS(error, "truncated at byte");
      }
    }
  }
}

TEST(ModelFile, EveryFlippedByteIsAnError) {
  const std::string bytes = serialize(tiny_model());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (const uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      ASSERT_NE(load_error(bad), "") << "byte " << i << " ^ " << int{mask};
    }
  }
}

// With the checksum made to match, a flipped byte reaches the parser and validate(): each result is an
// error or a model that validates (a weight code can turn into another valid code), never a crash.
TEST(ModelFile, FlippedBytesPastTheChecksumAreRefusedOrValid) {
  const std::string bytes = serialize(tiny_model());
  size_t refused = 0, accepted = 0;
  for (size_t i = kHeaderSize; i < bytes.size(); ++i) {
    for (const uint8_t mask : {0x01, 0x10, 0x80, 0xFF}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      try {
        const IntegerModel model = deserialize(reseal(bad), "model");
        EXPECT_NO_THROW(validate(model));
        ++accepted;
      } catch (const std::invalid_argument&) {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(accepted, 0u);
}

TEST(ModelFile, BadMetadata) {
  const std::string bytes = serialize(tiny_model());
  const nlohmann::json good = nlohmann::json::parse(metadata(bytes));
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = good;
    edit(j);
    return with_metadata(bytes, j.dump());
  };
  EXPECT_EQ(load_error(with_metadata(bytes, good.dump())), "");
  EXPECT_CONTAINS(load_error(with_metadata(bytes, "{not json")), "model.apot: the metadata is not valid JSON");
  EXPECT_CONTAINS(load_error(with_metadata(bytes, "[1, 2]")), "metadata top level: expected a JSON object, found array");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j.erase("frac_bits"); })), "metadata field 'frac_bits': missing");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"]["height"] = "8"; })),
                  "metadata field 'input.height': expected an integer, found string");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"]["height"] = 8.5; })), "expected an integer, found 8.5");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"]["width"] = 99999999999; })),
                  "metadata field 'input.width': 99999999999 does not fit in 32 bits");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["buffer_count"] = -99999999999; })), "does not fit in 32 bits");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["buffer_count"] = 18446744073709551615u; })), "does not fit in 32 bits");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"] = 3; })), "metadata field 'input': expected a JSON object, found number");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"]["mean"] = {"a"}; })),
                  "metadata field 'input.mean': expected a number, found string");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["reference_compat"] = 1; })), "expected true or false");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["arch"] = 5; })), "metadata field 'arch': expected a string");
  // Values of the right type that validate() refuses.
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["frac_bits"] = 40; })), "model.apot: model: frac_bits = 40, expected 0..30");
  EXPECT_CONTAINS(load_error(edited([](auto& j) { j["input"]["channels"] = 2; })), "model.apot: model: input.mean has 1 entries");
  // Keys this version does not know are allowed (docs/model-format.md, versioning).
  EXPECT_EQ(load_error(edited([](auto& j) { j["added_later"] = {1, 2}; })), "");
  EXPECT_EQ(load_error(edited([](auto& j) { j.erase("layers"); })), "");
}

TEST(ModelFile, BadOps) {
  const std::string bytes = serialize(tiny_model());
  const size_t op0 = first_op(bytes);
  // Op 0 is conv 'conv1': tag, name (u32 5 + "conv1"), input, output, residual, in_channels, out_channels,
  // kernel, stride, padding (i32 each), relu (u8), levels (4 x u8), codes (u32 count + packed).
  const size_t name = op0 + 1, kernel = name + 9 + 5 * 4, relu = kernel + 12, levels = relu + 1, codes = levels + 4;
  auto patched = [&](size_t offset, auto value) {
    std::string out = bytes;
    write_le(out, offset, value);
    return reseal(out);
  };
  EXPECT_CONTAINS(load_error(patched(op0, uint8_t{9})), "model.apot: op 0: unknown op tag 9, expected 1..4");
  EXPECT_CONTAINS(load_error(patched(name, ~uint32_t{0})), "truncated at byte");
  EXPECT_CONTAINS(load_error(patched(name, ~uint32_t{0})), "while reading op 0 (conv) name");
  EXPECT_CONTAINS(load_error(patched(codes, ~uint32_t{0})), "while reading op 0 (conv) codes");
  EXPECT_CONTAINS(load_error(patched(op0 - 4, ~uint32_t{0})), "while reading the op count");
  EXPECT_CONTAINS(load_error(patched(kHeaderSize, ~uint32_t{0})), "while reading metadata");
  EXPECT_CONTAINS(load_error(patched(relu, uint8_t{2})), "model.apot: op 0 (conv): relu = 2, expected 0 or 1");
  EXPECT_CONTAINS(load_error(patched(levels, uint8_t{3})), "op 0 (conv): levels.scheme = 3, expected 0 (uniform)");
  EXPECT_CONTAINS(load_error(patched(levels + 1, uint8_t{17})), "op 0 (conv): levels.bits = 17, expected 2..16");
  EXPECT_CONTAINS(load_error(patched(levels + 3, uint8_t{7})), "levels.signed = 7, expected 0 or 1");
  // Parsed, then refused by validate() with its own message.
  EXPECT_CONTAINS(load_error(patched(kernel, int32_t{2})),
                  "model.apot: op 0 (conv 'conv1'): codes has 36 entries, expected 16 (4 x 1 x 2 x 2)");
  EXPECT_CONTAINS(load_error(reseal(bytes + "xyz")), "3 unexpected bytes after the last op");
}

TEST(ModelFile, SerializeRefusesWhatWouldNotLoad) {
  IntegerModel model = tiny_model();
  std::get<ConvOp>(model.ops[0]).codes.pop_back();
  EXPECT_THROW(serialize(model), std::invalid_argument);
  model = tiny_model();
  model.arch = "bad \xff utf-8";
  try {
    serialize(model);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_CONTAINS(e.what(), "model: arch is not valid UTF-8 text");
  }
}

class ModelFileOnDisk : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "apot-model-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(ModelFileOnDisk, SaveLoadLeavesOnlyTheFile) {
  const std::string path = (dir_ / "tiny.apot").string();
  save_model(tiny_model(), path);
  EXPECT_EQ(files(), std::vector<std::string>{"tiny.apot"});
  EXPECT_EQ(ModelDiff::between(load_model(path), tiny_model()), "");
  save_model(tiny_model(2), path);  // over the old one
  EXPECT_EQ(files(), std::vector<std::string>{"tiny.apot"});
  EXPECT_EQ(ModelDiff::between(load_model(path), tiny_model(2)), "");
}

TEST_F(ModelFileOnDisk, FailedSaveKeepsTheOldFile) {
  const std::string path = (dir_ / "model.apot").string();
  save_model(tiny_model(), path);
  IntegerModel bad = tiny_model(2);
  bad.frac_bits = 99;
  try {
    save_model(bad, path);
    FAIL() << "saved an invalid model";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": model: frac_bits = 99", 0), 0u) << e.what();
  }
  EXPECT_EQ(files(), std::vector<std::string>{"model.apot"});
  EXPECT_EQ(ModelDiff::between(load_model(path), tiny_model()), "");
  // An I/O failure: the directory does not exist.
  EXPECT_THROW(save_model(tiny_model(), (dir_ / "missing" / "model.apot").string()), std::runtime_error);
  EXPECT_EQ(files(), std::vector<std::string>{"model.apot"});
}

TEST_F(ModelFileOnDisk, LoadErrorsNameThePath) {
  const std::string path = (dir_ / "model.apot").string();
  EXPECT_THROW(load_model(path), std::runtime_error);  // missing
  std::string bytes = serialize(tiny_model());
  bytes[bytes.size() - 1] ^= 1;
  write_file_atomically(path, bytes);
  try {
    load_model(path);
    FAIL() << "loaded a corrupted file";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": corrupted", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace apot::deploy
