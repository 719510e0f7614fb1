// The reference implementation's ResNet-20 state_dicts (../shared/testdata/reference-resnet20, random
// weights, saved by torch.save) give its logits on its input batch, in reference-compatible mode.
#include <gtest/gtest.h>

#include "models/network.h"
#include "models/state_dict.h"
#include "models/torch_io.h"
#include "tests/models/reference_agreement.h"

namespace apot::models {
namespace {

const std::string kDir = std::string(APOT_TESTDATA_DIR) + "/reference-resnet20/";

class ReferenceLogits : public ::testing::TestWithParam<int> {};

TEST_P(ReferenceLogits, MatchTheReference) {
  const int bits = GetParam();
  NetworkOptions options;
  options.quant.weight_bits = bits;
  options.quant.act_bits = bits;
  options.quant.reference_compat = true;
  auto net = make_network("resnet20", options);
  const std::string prefix = kDir + "res20_" + std::to_string(bits) + "bit";
  load_state_dict(*net, read_state_dict(prefix + ".pt"), prefix + ".pt");
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = net->forward(read_tensor(kDir + "input.pt"));
  const torch::Tensor expected = read_tensor(prefix + "_logits.pt");
  test::expect_reference_logits(logits, expected, std::to_string(bits) + "-bit logits");
}

INSTANTIATE_TEST_SUITE_P(Bits, ReferenceLogits, ::testing::Values(2, 3, 4, 32));

}  // namespace
}  // namespace apot::models
