// An exported model (.apot, from `apot export`) on the integer engine: the first N Fashion-MNIST test
// images, each one's top-1 class beside its label.
//
//   run_model MODEL.apot [N=10]
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/batches.h"
#include "data/datasets.h"
#include "deploy/analysis/agreement.h"
#include "deploy/engine/engine.h"
#include "deploy/format/model_file.h"

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.apot [N=10]\n", argv[0]);
    return 2;
  }
  const size_t count = argc > 2 ? std::stoul(argv[2]) : 10;
  const apot::deploy::IntegerModel model = apot::deploy::load_model(argv[1]);
  apot::deploy::Engine engine(model);

  // The engine takes images normalised as in training, with the mean and std the model file carries.
  const apot::data::ImageSet test = apot::data::load_dataset("fashion-mnist", /*dir=*/"", /*train=*/false);
  if (model.in_channels != test.channels || model.height != test.height || model.width != test.width) {
    throw std::invalid_argument("the model does not take 1x28x28 images (Fashion-MNIST)");
  }
  const apot::data::Normalization norm{{model.input.mean.begin(), model.input.mean.end()},
                                       {model.input.std.begin(), model.input.std.end()}};
  std::vector<size_t> first(std::min(count, test.size()));
  std::iota(first.begin(), first.end(), size_t{0});
  std::vector<float> images(first.size() * test.image_bytes());
  std::vector<int64_t> labels(first.size());
  apot::data::fill_batch(test, first, 0, first.size(), norm, /*augment=*/{}, /*augment_seed=*/0, images.data(), labels.data());

  const std::vector<float> logits = engine.run(images.data(), static_cast<int64_t>(first.size()));
  for (size_t i = 0; i < first.size(); ++i) {
    const int top1 = apot::deploy::top1(logits.data() + i * model.num_classes, model.num_classes);
    std::printf("image %zu: class %d, label %d\n", i, top1, static_cast<int>(labels[i]));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "run_model: %s\n", e.what());
  return 1;
}
