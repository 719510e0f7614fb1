#include "data/datasets.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/cifar.h"
#include "data/idx.h"

namespace apot::data {

namespace fs = std::filesystem;

namespace {

enum class Format { Idx, Cifar10 };

struct DatasetInfo {
  std::string name;
  Format format;
  std::string default_dir;
  Normalization normalization;
  AugmentOptions augmentation;
  DatasetShape shape;
};

const std::vector<DatasetInfo>& known_datasets() {
  static const std::vector<DatasetInfo> datasets = {
      {"fashion-mnist", Format::Idx, "/usr/share/datasets/fashion-mnist", {{0.2860f}, {0.3530f}}, {}, {1, 28, 28, 10}},
      {"mnist", Format::Idx, "", {{0.1307f}, {0.3081f}}, {}, {1, 28, 28, 10}},
      {"cifar10", Format::Cifar10, "", {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}},
       {/*pad=*/4, /*random_crop=*/true, /*horizontal_flip=*/true}, {3, 32, 32, 10}},
  };
  return datasets;
}

const DatasetInfo& find_dataset(const std::string& name) {
  for (const DatasetInfo& info : known_datasets()) {
    if (info.name == name) return info;
  }
  throw std::invalid_argument(
      fmt::format("unknown dataset '{}': expected one of {}", name, fmt::join(dataset_names(), ", ")));
}

// The raw file where it exists, since it loads without inflating, else the .gz the download ships.
std::string find_idx_file(const std::string& dataset, const fs::path& dir, const std::string& base) {
  const fs::path raw = dir / base;
  const fs::path gz = dir / (base + ".gz");
  for (const fs::path& candidate : {raw, gz}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  throw std::runtime_error(fmt::format("{}: neither {} nor {} exists", dataset, raw.string(), gz.string()));
}

ImageSet load_idx(const DatasetInfo& info, const fs::path& dir, bool train) {
  const std::string split = train ? "train" : "t10k";
  return read_idx(find_idx_file(info.name, dir, split + "-images-idx3-ubyte"),
                  find_idx_file(info.name, dir, split + "-labels-idx1-ubyte"));
}

ImageSet load_cifar10(const fs::path& dir, bool train) {
  std::vector<std::string> names;
  if (train) {
    for (int batch = 1; batch <= 5; ++batch) names.push_back(fmt::format("data_batch_{}.bin", batch));
  } else {
    names.push_back("test_batch.bin");
  }
  const fs::path unpacked = dir / "cifar-10-batches-bin";
  for (const fs::path& candidate : {dir, unpacked}) {
    if (!fs::exists(candidate / names.front())) continue;
    std::vector<std::string> files;
    for (const std::string& name : names) files.push_back((candidate / name).string());
    return read_cifar10(files);
  }
  throw std::runtime_error(
      fmt::format("cifar10: {} is neither in {} nor in {}", names.front(), dir.string(), unpacked.string()));
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const DatasetInfo& info : known_datasets()) list.push_back(info.name);
    return list;
  }();
  return names;
}

ImageSet load_dataset(const std::string& name, const std::string& dir, bool train) {
  const DatasetInfo& info = find_dataset(name);
  const std::string where = dir.empty() ? info.default_dir : dir;
  if (where.empty()) {
    throw std::invalid_argument(fmt::format("{}: no data directory given, and the dataset has no default", name));
  }
  switch (info.format) {
    case Format::Idx: return load_idx(info, where, train);
    case Format::Cifar10: return load_cifar10(where, train);
  }
  throw std::logic_error("load_dataset: unhandled format");
}

std::string default_data_dir(const std::string& name) { return find_dataset(name).default_dir; }

Normalization default_normalization(const std::string& name) { return find_dataset(name).normalization; }

AugmentOptions default_augmentation(const std::string& name) { return find_dataset(name).augmentation; }

AugmentOptions parse_augmentation(const std::string& spec, const std::string& dataset) {
  if (spec == "default") return default_augmentation(dataset);
  AugmentOptions a;
  if (spec == "none") return a;
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument(fmt::format("augmentation '{}': {} (expected default, none, or parts cropP and flip joined by +, "
                                             "e.g. crop2+flip)", spec, why));
  };
  size_t begin = 0;
  while (begin <= spec.size()) {
    const size_t end = std::min(spec.find('+', begin), spec.size());
    const std::string part = spec.substr(begin, end - begin);
    if (part == "flip" && !a.horizontal_flip) {
      a.horizontal_flip = true;
    } else if (part.rfind("crop", 0) == 0 && !a.random_crop) {
      const std::string digits = part.substr(4);
      if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw fail(fmt::format("'{}' needs a pad of 1 to 99 pixels, e.g. crop4", part));
      }
      a.pad = std::stoi(digits);
      if (a.pad < 1) throw fail(fmt::format("'{}' needs a pad of at least 1 pixel", part));
      a.random_crop = true;
    } else {
      throw fail(part.empty() ? "an empty part" : fmt::format("'{}' is unknown or repeated", part));
    }
    begin = end + 1;
  }
  return a;
}

std::string augmentation_name(const AugmentOptions& a) {
  std::vector<std::string> parts;
  if (a.random_crop && a.pad > 0) parts.push_back(fmt::format("crop{}", a.pad));
  if (a.horizontal_flip) parts.push_back("flip");
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, "+"));
}

DatasetShape dataset_shape(const std::string& name) { return find_dataset(name).shape; }

ImageSet subset(const ImageSet& set, size_t first, size_t count) {
  if (first > set.size()) {
    throw std::out_of_range(fmt::format("subset: first image {} is beyond the set of {}", first, set.size()));
  }
  count = std::min(count, set.size() - first);
  ImageSet part;
  part.channels = set.channels;
  part.height = set.height;
  part.width = set.width;
  part.num_classes = set.num_classes;
  const size_t bytes = set.image_bytes();
  part.pixels.assign(set.pixels.begin() + first * bytes, set.pixels.begin() + (first + count) * bytes);
  part.labels.assign(set.labels.begin() + first, set.labels.begin() + first + count);
  return part;
}

}  // namespace apot::data
