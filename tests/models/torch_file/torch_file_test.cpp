// TorchFile reads what PyTorch's own torch.save wrote (zip with pickle protocols 2, 4 and 5, legacy,
// deflated entries, views sharing a storage) byte for byte as torch.load sees it; files that are wrong
// get errors naming the file and the fault.
#include "models/torch_file/torch_file.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/torch_file/state_dict_select.h"
#include "tests/models/torch_file/torch_files.h"

namespace apot::models::torch_file {
namespace {

using ::testing::HasSubstr;
using test::torch_file;

nlohmann::ordered_json expected() {
  std::ifstream in(torch_file("expected.json"));
  return nlohmann::ordered_json::parse(in);
}

// The tensor's elements as doubles, decoded from its contiguous bytes.
std::vector<double> values(const TorchFile& file, const Tensor& t) {
  const std::string bytes = file.contiguous_bytes(t);
  const DType dtype = file.dtype(t);
  const size_t size = static_cast<size_t>(traits(dtype).size);
  std::vector<double> out;
  for (size_t at = 0; at < bytes.size(); at += size) {
    const char* p = bytes.data() + at;
    auto get = [p](auto v) { std::memcpy(&v, p, sizeof v); return v; };
    switch (dtype) {
      case DType::Float64: out.push_back(get(double{})); break;
      case DType::Float32: out.push_back(get(float{})); break;
      case DType::Float16: {  // IEEE half: sign, 5-bit exponent, 10-bit mantissa
        const uint16_t h = get(uint16_t{});
        const int exponent = h >> 10 & 31, mantissa = h & 1023;
        const double magnitude = exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
        out.push_back(h & 0x8000 ? -magnitude : magnitude);
        break;
      }
      case DType::BFloat16: {
        const uint32_t bits = static_cast<uint32_t>(get(uint16_t{})) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        out.push_back(f);
        break;
      }
      case DType::Int64: out.push_back(static_cast<double>(get(int64_t{}))); break;
      case DType::Int32: out.push_back(get(int32_t{})); break;
      case DType::Int16: out.push_back(get(int16_t{})); break;
      case DType::Int8: out.push_back(get(int8_t{})); break;
      case DType::UInt8: case DType::Bool: out.push_back(get(uint8_t{})); break;
      default: ADD_FAILURE() << "unexpected dtype " << traits(dtype).name;
    }
  }
  return out;
}

void expect_holds(const TorchFile& file, const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                  const nlohmann::ordered_json& want) {
  ASSERT_EQ(tensors.size(), want.size()) << file.name();
  size_t i = 0;
  for (const auto& [name, spec] : want.items()) {
    SCOPED_TRACE(file.name() + ": " + name);
    const auto& [got_name, tensor] = tensors[i++];
    EXPECT_EQ(got_name, name);
    EXPECT_EQ(traits(file.dtype(*tensor)).name, spec["dtype"].get<std::string>());
    EXPECT_EQ(tensor->sizes, spec["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(values(file, *tensor), spec["values"].get<std::vector<double>>());
  }
}

TEST(TorchFile, ReadsEveryFileAsTorchLoadDoes) {
  const nlohmann::ordered_json all = expected();
  ASSERT_GE(all.size(), 15u);
  for (const auto& [name, want] : all.items()) {
    const TorchFile file = TorchFile::read(torch_file(name));
    EXPECT_EQ(file.format(), name.find("legacy") != std::string::npos ? "legacy" : "zip") << name;
    if (file.root()->kind == Object::Kind::Tensor) {  // torch.save(tensor)
      expect_holds(file, {{"", &file.tensor(*file.root())}}, want);
    } else {
      expect_holds(file, select_state_dict(file, "").tensors, want);
    }
  }
}

TEST(TorchFile, ViewsShareTheirStorage) {
  for (const char* name : {"views.pt", "views_legacy.pt"}) {
    const TorchFile file = TorchFile::read(torch_file(name));
    const auto tensors = select_state_dict(file, "").tensors;
    ASSERT_EQ(tensors.size(), 6u);
    for (const auto& [tensor_name, t] : tensors) EXPECT_EQ(t->storage, tensors[0].second->storage) << name << ": " << tensor_name;
    EXPECT_EQ(tensors[2].second->offset, 2);  // column = base[:, 2]
    EXPECT_EQ(tensors[2].second->strides, std::vector<int64_t>({6}));
  }
}

TEST(TorchFile, WrongFilesNameTheFault) {
  const std::pair<const char*, const char*> cases[] = {
      {"bad_beyond_storage.pt", "that its storage '0' of 4 elements does not hold"},
      {"bad_strides.pt", "strides [3, 1], offset 0) that its storage '0' of 4 elements does not hold"},
      {"bad_numel_mismatch.pt", "storage '0' holds 3 elements, its tensors' pickle says 4"},
      {"bad_unlisted_storage.pt", "storage '0' is used but missing from the file"},
      {"bad_magic.pt", "is a pickle of builtins.int, not a file torch.save writes"},
      {"bad_protocol.pt", "legacy protocol version 1000"},
      {"plain_pickle.pt", "is a pickle of builtins.dict, not a file torch.save writes"},
      {"torchscript.pt", "is a TorchScript archive (torch.jit.save)"},
      {"expected.json", "is not a file torch.save writes (neither a zip archive nor a pickle"},
  };
  for (const auto& [name, message] : cases) {
    try {
      TorchFile::read(torch_file(name));
      ADD_FAILURE() << name << " was read";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(message)) << name;
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
  EXPECT_THROW(TorchFile::read(test::torch_files_dir()), std::runtime_error);
  EXPECT_THROW(TorchFile::read(torch_file("no such file")), std::runtime_error);
  EXPECT_THROW(TorchFile::parse("", "empty"), std::runtime_error);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every prefix of a file, and every single-byte change of its first kilobyte, ends in a clean error or
// a file whose tensors lie inside their storages: never a crash (the fuzzer goes further).
TEST(TorchFile, DamagedFilesFailCleanly) {
  for (const char* name : {"checkpoint.pt", "checkpoint_legacy.pt", "views_deflated.pt"}) {
    const std::string bytes = file_bytes(torch_file(name));
    int errors = 0;
    for (size_t cut = 0; cut < bytes.size(); cut += 1 + cut / 16) {
      try {
        TorchFile::parse(std::string_view(bytes).substr(0, cut), name);
      } catch (const std::runtime_error&) {
        ++errors;
      }
    }
    EXPECT_GT(errors, 0) << name;
    for (size_t at = 0; at < std::min<size_t>(bytes.size(), 1024); ++at) {
      std::string damaged = bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
      try {
        const TorchFile file = TorchFile::parse(damaged, name);
        if (file.root()->kind == Object::Kind::Dict) {
          for (const auto& [n, t] : select_state_dict(file, "").tensors) file.contiguous_bytes(*t);
        }
      } catch (const std::runtime_error&) {
      }
    }
  }
}

}  // namespace
}  // namespace apot::models::torch_file
