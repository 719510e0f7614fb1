// read_state_dict / read_tensor on files PyTorch wrote: floating tensors become float32 (said in a
// note), integer ones keep their type, values as torch.load gives them; complex tensors are refused by name.
#include "models/torch_io.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/models/torch_file/torch_files.h"

namespace apot::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::torch_file;

TEST(ReadStateDict, FloatsBecomeFloat32AndIntegersKeepTheirType) {
  std::ifstream in(torch_file("expected.json"));
  const nlohmann::ordered_json want = nlohmann::ordered_json::parse(in)["dtypes_legacy.pt"];
  for (const char* name : {"dtypes_p2.pt", "dtypes_legacy.pt"}) {
    std::vector<std::string> notes;
    const StateDict state = read_state_dict(torch_file(name), "", &notes);
    EXPECT_THAT(notes, ElementsAre(HasSubstr("converted 1 bfloat16 and 1 float16 and 1 float64 tensors to float32")));
    ASSERT_EQ(state.size(), want.size());
    size_t i = 0;
    for (const auto& [entry, spec] : want.items()) {
      const auto& [got_name, tensor] = state[i++];
      SCOPED_TRACE(std::string(name) + ": " + entry);
      EXPECT_EQ(got_name, entry);
      const std::string dtype = spec["dtype"];
      const bool floating = dtype.rfind("float", 0) == 0 || dtype == "bfloat16";
      EXPECT_EQ(tensor.scalar_type(), floating ? torch::kFloat : dtype == "int64" ? torch::kLong
                                                               : dtype == "int32" ? torch::kInt
                                                               : dtype == "int16" ? torch::kShort
                                                               : dtype == "int8"  ? torch::kChar
                                                               : dtype == "uint8" ? torch::kByte
                                                                                  : torch::kBool);
      EXPECT_EQ(tensor.sizes().vec(), spec["shape"].get<std::vector<int64_t>>());
      const std::vector<double> values = spec["values"];
      const torch::Tensor expected = torch::tensor(values, torch::kDouble).reshape(tensor.sizes()).to(torch::kFloat);
      EXPECT_TRUE(tensor.to(torch::kFloat).equal(expected)) << tensor;
    }
  }
}

TEST(ReadStateDict, ComplexTensorsAreRefusedByName) {
  try {
    read_state_dict(torch_file("complex.pt"));
    ADD_FAILURE() << "read";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor 'w' has dtype complex64, which apot does not read"));
  }
}

TEST(ReadTensor, ReadsViewsInBothFormats) {
  const torch::Tensor base = torch::arange(24, torch::kFloat).reshape({4, 6});
  EXPECT_TRUE(read_tensor(torch_file("tensor.pt")).equal(base.t()));
  EXPECT_TRUE(read_tensor(torch_file("tensor_legacy.pt")).equal(base.t()));
  EXPECT_THROW(read_tensor(torch_file("views.pt")), std::runtime_error);
}

TEST(WriteStateDict, ReadsBack) {
  const StateDict state = {{"a", torch::randn({3, 2})}, {"b", torch::arange(4)}};
  const std::string path = (std::filesystem::temp_directory_path() / ("apot_written_" + std::to_string(::getpid()) + ".pt")).string();
  write_state_dict(state, path);
  const StateDict back = read_state_dict(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].first, "a");
  EXPECT_TRUE(back[0].second.equal(state[0].second));
  EXPECT_TRUE(back[1].second.equal(state[1].second));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace apot::models
