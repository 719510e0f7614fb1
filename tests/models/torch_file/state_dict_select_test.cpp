// Which tensors of a file are the state_dict: plain and ordered dicts, checkpoint dicts (with
// DataParallel's prefix and optimizer state), a named entry, a whole pickled model; and the errors.
#include "models/torch_file/state_dict_select.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/models/torch_file/torch_files.h"

namespace apot::models::torch_file {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::torch_file;

std::vector<std::string> names(const StateDictSelection& s) {
  std::vector<std::string> out;
  for (const auto& [name, t] : s.tensors) out.push_back(name);
  return out;
}

const std::vector<std::string> kNet = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                       "1.num_batches_tracked", "3.weight", "3.bias"};

StateDictSelection select(const std::string& name, const std::string& key = "") {
  return select_state_dict(TorchFile::read(torch_file(name)), key);
}

std::string error_of(const std::string& name, const std::string& key = "") {
  try {
    select(name, key);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SelectStateDict, CheckpointDictsGiveTheirStateDictWithoutThePrefix) {
  for (const char* name : {"checkpoint.pt", "checkpoint_legacy.pt"}) {
    const StateDictSelection s = select(name);
    EXPECT_EQ(names(s), kNet) << name;
    ASSERT_EQ(s.notes.size(), 2u);
    EXPECT_THAT(s.notes[0], HasSubstr("read the state_dict in entry 'state_dict' (9 tensors); ignored epoch, best_prec, optimizer"));
    EXPECT_THAT(s.notes[1], HasSubstr("dropped DataParallel's 'module.' prefix"));
  }
  EXPECT_EQ(names(select("model_state_dict.pt")), kNet);
}

TEST(SelectStateDict, WholeModelsGiveTheirParametersAndBuffers) {
  for (const char* name : {"whole_model.pt", "whole_model_legacy.pt"}) {
    const StateDictSelection s = select(name);
    EXPECT_EQ(names(s), kNet) << name;
    ASSERT_EQ(s.notes.size(), 1u);
    EXPECT_THAT(s.notes[0], HasSubstr("a pickled torch.nn.modules.container.Sequential"));
  }
}

TEST(SelectStateDict, AKeyChoosesTheEntry) {
  EXPECT_EQ(names(select("custom_key.pt", "ema")), kNet);
  EXPECT_THAT(select("custom_key.pt", "ema").notes, ElementsAre(HasSubstr("entry 'ema' (9 tensors); ignored raw, step")));
  EXPECT_THAT(error_of("custom_key.pt"), HasSubstr("entries ('ema', 'raw', 'step') are neither tensors nor a state_dict"));
  EXPECT_THAT(error_of("custom_key.pt"), HasSubstr("--checkpoint-key"));
  EXPECT_THAT(error_of("custom_key.pt", "nope"), HasSubstr("has no entry 'nope' (its entries: 'ema', 'raw', 'step')"));
  EXPECT_THAT(error_of("custom_key.pt", "step"), HasSubstr("entry 'step' is a pickle of builtins.int, not a state_dict"));
  EXPECT_THAT(error_of("views.pt", "x"), HasSubstr("has no entry 'x'"));
}

TEST(SelectStateDict, WhatIsNotAStateDictIsNamed) {
  EXPECT_THAT(error_of("list.pt"), HasSubstr("list.pt': holds a pickle of builtins.list, not a state_dict"));
  EXPECT_THAT(error_of("tensor.pt"), HasSubstr("holds a pickle of torch.Tensor, not a state_dict"));
  EXPECT_THAT(error_of("no_state_dict.pt"), HasSubstr("entries ('epoch', 'weights') are neither tensors"));
  EXPECT_THAT(error_of("nested_non_tensor.pt"), HasSubstr("entry 'note' of entry 'state_dict' is builtins.str, not a tensor"));
}

}  // namespace
}  // namespace apot::models::torch_file
