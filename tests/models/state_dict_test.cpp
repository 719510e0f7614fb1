// Strict loading: entries that would make every later layer NaN are refused by name.
#include "models/state_dict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/network.h"

namespace apot::models {
namespace {

TEST(LoadStateDict, NegativeVariancesAndNonFiniteValuesAreNamed) {
  auto net = make_network("resnet20", NetworkOptions{});
  StateDict state = state_dict_of(*net);
  for (auto& [name, tensor] : state) {
    if (name == "layer2.0.bn1.running_var") tensor = -torch::ones_like(tensor);
  }
  try {
    load_state_dict(*net, state, "x.pt");
    ADD_FAILURE() << "loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("x.pt: entry 'layer2.0.bn1.running_var' holds a negative variance (-1)"));
  }
  state = state_dict_of(*make_network("resnet20", NetworkOptions{}));
  state[0].second = state[0].second.clone().fill_(NAN);
  EXPECT_THROW(load_state_dict(*net, state, "x.pt"), std::runtime_error);
}

}  // namespace
}  // namespace apot::models
