#include "study/integer_accuracy.h"

#include <numeric>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "data/batches.h"
#include "deploy/analysis/agreement.h"

namespace apot::study {

IntegerAccuracy integer_accuracy(const deploy::IntegerModel& model, const data::ImageSet& test, const data::Normalization& norm,
                                 const deploy::EngineOptions& options, int64_t batch_size) {
  if (test.channels != model.in_channels || test.height != model.height || test.width != model.width ||
      test.num_classes != model.num_classes) {
    throw std::invalid_argument(fmt::format("the test set has {}x{}x{} images of {} classes; the model takes {}x{}x{} and has {}",
                                            test.channels, test.height, test.width, test.num_classes, model.in_channels,
                                            model.height, model.width, model.num_classes));
  }
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size {}: expected >= 1", batch_size));
  deploy::Engine engine(model, options);
  std::vector<size_t> order(test.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t batch = static_cast<size_t>(batch_size);
  std::vector<float> images(batch * test.image_bytes());
  std::vector<int64_t> labels(batch);
  int64_t correct = 0;
  for (size_t begin = 0; begin < test.size(); begin += batch) {
    const size_t count = std::min(batch, test.size() - begin);
    data::fill_batch(test, order, begin, count, norm, data::AugmentOptions{}, /*augment_seed=*/0, images.data(), labels.data());
    const std::vector<float> logits = engine.run(images.data(), static_cast<int64_t>(count));
    for (size_t i = 0; i < count; ++i) {
      correct += deploy::top1(logits.data() + i * static_cast<size_t>(model.num_classes), model.num_classes) == labels[i];
    }
  }
  IntegerAccuracy r;
  r.images = static_cast<int64_t>(test.size());
  r.accuracy = r.images ? 100.0 * static_cast<double>(correct) / static_cast<double>(r.images) : 0;
  r.kernel = std::string(engine.kernel_name());
  return r;
}

}  // namespace apot::study
