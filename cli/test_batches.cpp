#include "cli/test_batches.h"

#include <numeric>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "cli/shared_flags.h"
#include "data/datasets.h"

namespace apot::cli {

void for_each_test_batch(const deploy::IntegerModel& model, const std::string& dataset, const std::string& data_dir,
                         size_t limit, int64_t batch_size,
                         const std::function<void(const float*, const int64_t*, int64_t)>& fn) {
  if (batch_size < 1) throw std::invalid_argument("--batch-size must be >= 1");
  data::ImageSet set = data::load_dataset(dataset, data_dir, /*train=*/false);
  if (limit) set = data::subset(set, 0, limit);
  if (set.channels != model.in_channels || set.height != model.height || set.width != model.width ||
      set.num_classes != model.num_classes) {
    throw std::invalid_argument(fmt::format("{} has {}x{}x{} images of {} classes; the model takes {}x{}x{} and has {} classes",
                                            dataset, set.channels, set.height, set.width, set.num_classes,
                                            model.in_channels, model.height, model.width, model.num_classes));
  }
  if (model.input.mean.empty()) throw std::invalid_argument("the model carries no input normalisation: feed it tensors (--input)");
  const data::Normalization norm{std::vector<float>(model.input.mean.begin(), model.input.mean.end()),
                                 std::vector<float>(model.input.std.begin(), model.input.std.end())};
  std::vector<size_t> order(set.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<float> images(static_cast<size_t>(batch_size) * set.image_bytes());
  std::vector<int64_t> labels(static_cast<size_t>(batch_size));
  for (size_t begin = 0; begin < set.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t count = std::min(static_cast<size_t>(batch_size), set.size() - begin);
    data::fill_batch(set, order, begin, count, norm, data::AugmentOptions{}, 0, images.data(), labels.data());
    fn(images.data(), labels.data(), static_cast<int64_t>(count));
  }
}

void EngineInputFlags::add_to(CLI::App& c) {
  add_model_file_flag(c, model)->required();
  add_input_file_flag(c, input);
  data.add_to(c);
  add_test_limit_flag(c, test_limit);
  deprecated_alias(c, "--limit", "--test-limit");
  c.add_option("--batch-size", batch_size, "test images per batch")->capture_default_str()->check(at_least_one());
}

void EngineInputFlags::for_each_test_batch(const deploy::IntegerModel& m,
                                           const std::function<void(const float*, const int64_t*, int64_t)>& fn) const {
  cli::for_each_test_batch(m, data.dataset, data.data_dir, test_limit, batch_size, fn);
}

}  // namespace apot::cli
