// Writes a few valid .apot files into the directory given as the argument: the fuzzer's starting corpus.
#include <cstdio>
#include <string>

#include "core/atomic_file.h"
#include "deploy/format/model_file.h"
#include "tests/support/tiny_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  using apot::deploy::IntegerModel;
  const std::string dir = argv[1];
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    IntegerModel model = apot::deploy::test::tiny_model(seed);
    if (seed == 2) {  // no input normalisation
      model.input.mean.clear();
      model.input.std.clear();
    }
    if (seed == 3) std::get<apot::deploy::ConvOp>(model.ops[2]).residual = -1;
    apot::write_file_atomically(dir + "/tiny-" + std::to_string(seed) + ".apot", apot::deploy::serialize(model));
  }
  return 0;
}
