// The datasets the tool knows by name: where their files are, how to normalise and augment them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/batches.h"
#include "data/dataset.h"

namespace apot::data {

// "fashion-mnist", "mnist", "cifar10": the names every function here accepts. The others throw
// std::invalid_argument listing these.
const std::vector<std::string>& dataset_names();

// Loads the training or the test split from `dir` (default_data_dir(name) where `dir` is empty).
// MNIST and Fashion-MNIST: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each raw or with .gz. CIFAR-10: data_batch_1.bin .. data_batch_5.bin or
// test_batch.bin, in `dir` or in dir/cifar-10-batches-bin as the archive unpacks.
ImageSet load_dataset(const std::string& name, const std::string& dir, bool train);

// Where a system package puts the dataset: /usr/share/datasets/fashion-mnist for fashion-mnist
// (Debian's dataset-fashion-mnist), empty for the datasets without one.
std::string default_data_dir(const std::string& name);

// The training set's per-channel statistics, the values the usual recipes normalise with.
Normalization default_normalization(const std::string& name);

// What every image of the dataset looks like, known without loading it (to build the network first).
struct DatasetShape {
  int channels = 0, height = 0, width = 0, classes = 0;
};
DatasetShape dataset_shape(const std::string& name);

// The usual training augmentation: pad 4, random crop and flip for CIFAR-10, none for the MNISTs.
AugmentOptions default_augmentation(const std::string& name);

// A training augmentation by name, as `apot train --augment` takes it: "default" (the dataset's,
// above), "none", or "+"-joined parts "cropP" (pad P pixels with zeros, crop back at a random offset)
// and "flip" (mirror left-right with probability 1/2), e.g. "crop2+flip". Anything else throws
// std::invalid_argument naming the part it did not understand.
AugmentOptions parse_augmentation(const std::string& spec, const std::string& dataset);

// The spec string parse_augmentation reads back to `a` ("none", "flip", "crop4+flip").
std::string augmentation_name(const AugmentOptions& a);

// Images first .. first + count - 1, fewer where the set ends first (so a quick mode can ask for a
// fixed count from any set); std::out_of_range where `first` is beyond the end.
ImageSet subset(const ImageSet& set, size_t first, size_t count);

}  // namespace apot::data
