#include "train/batch.h"

namespace apot::train {

Batch make_batch(const data::ImageSet& set, const std::vector<size_t>& indices, size_t begin, size_t count,
                 const data::Normalization& norm, const data::AugmentOptions& augment, uint64_t augment_seed) {
  Batch b{torch::empty({static_cast<int64_t>(count), set.channels, set.height, set.width}),
          torch::empty({static_cast<int64_t>(count)}, torch::kLong)};
  data::fill_batch(set, indices, begin, count, norm, augment, augment_seed, b.images.data_ptr<float>(),
                   b.labels.data_ptr<int64_t>());
  return b;
}

}  // namespace apot::train
