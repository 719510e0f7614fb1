// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).
#pragma once

#include <string>

#include "data/byte_stream.h"
#include "data/dataset.h"

namespace apot::data {

// Reads an image file (magic 0x00000803: uint8 [N, rows, cols], big-endian header) and its label file
// (magic 0x00000801: uint8 [N]) into a one-channel ImageSet. Either file may be gzip-compressed or raw
// (ByteStream tells them apart by content). Throws std::runtime_error naming the file and the problem:
// unreadable file, bad magic or data type, truncated or trailing data, image and label counts that differ,
// a label >= num_classes, a corrupted gzip stream. A corrupt header cannot cause a large allocation: the
// payload is read in chunks and checked against the header's claim as it arrives.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path, int num_classes = 10);

// The same from two open streams, e.g. over bytes in memory.
ImageSet read_idx(ByteStream& images, ByteStream& labels, int num_classes = 10);

}  // namespace apot::data
