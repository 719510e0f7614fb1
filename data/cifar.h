// The CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html).
#pragma once

#include <string>
#include <vector>

#include "data/byte_stream.h"
#include "data/dataset.h"

namespace apot::data {

// Every file is a sequence of 3073-byte records: one label byte (0..9), then the 32 x 32 red, green and
// blue planes, which is already the planar layout of ImageSet. The training set is data_batch_1.bin ..
// data_batch_5.bin, the test set test_batch.bin; records are concatenated in the order of `files`.
// Throws std::runtime_error naming the file and the problem: missing file, a size that is not a positive
// multiple of 3073, a label above 9.
ImageSet read_cifar10(const std::vector<std::string>& files);

// The records of one open stream, e.g. over bytes in memory, with the same checks.
ImageSet read_cifar10(ByteStream& in);

}  // namespace apot::data
