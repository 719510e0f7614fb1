// The files torch.save writes, read without LibTorch or Python:
// - the zip format (PyTorch >= 1.6): <archive>/data.pkl holds the object, each storage is the entry
//   <archive>/data/<key>, named by the persistent id ('storage', torch.<Type>Storage, key, location, numel);
// - the legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False): five pickles in a
//   row (magic number, protocol version, system info, the object, the sorted storage keys), then each
//   storage as an int64 element count and its raw bytes, in the order of the keys.
// Tensors are torch._utils._rebuild_tensor_v2 (or _rebuild_tensor, _rebuild_parameter) calls on a
// storage: views with an offset, sizes and strides, checked to lie inside their storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/torch_file/pickle.h"

namespace apot::models::torch_file {

// One row per element type a storage can hold: torch's storage class and dtype names, the byte size.
enum class DType { Float64, Float32, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool, Complex64, Complex128 };
struct DTypeTraits {
  DType dtype;
  const char* storage;  // "FloatStorage": the class torch.save names
  const char* name;     // "float32"
  int size;
  bool floating;
  bool complex;
};
const DTypeTraits& traits(DType dtype);

struct Storage {
  DType dtype = DType::Float32;
  std::string key;
  int64_t numel = 0;
  std::shared_ptr<const std::string> bytes;  // the root storage's bytes, little-endian
  int64_t first = 0;                         // this storage's first element in them (legacy views)
};

struct Tensor {
  size_t storage = 0;  // index into TorchFile::storages()
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
  int64_t numel() const;
};

class TorchFile {
 public:
  static TorchFile read(const std::string& path);
  // A TorchFile keeps its own copies of the storages' bytes: `bytes` may go once it returns. `name` is
  // used in error messages.
  static TorchFile parse(std::string_view bytes, const std::string& name);

  const Object* root() const { return root_; }
  const std::string& format() const { return format_; }  // "zip" or "legacy"
  const std::string& name() const { return name_; }
  const Storage& storage(size_t index) const { return storages_[index]; }
  const Tensor& tensor(const Object& object) const { return tensors_[static_cast<size_t>(object.integer)]; }
  DType dtype(const Tensor& t) const { return storages_[t.storage].dtype; }
  // The tensor's elements in row-major order, each traits(dtype).size little-endian bytes.
  std::string contiguous_bytes(const Tensor& t) const;

  TorchFile(TorchFile&&) = default;
  TorchFile& operator=(TorchFile&&) = default;
  ~TorchFile();

 private:
  TorchFile() = default;
  class Hooks;
  void parse_zip(std::string_view bytes);
  void parse_legacy(std::string_view bytes);

  std::string name_, format_;
  std::unique_ptr<Arena> arena_ = std::make_unique<Arena>();
  Object* root_ = nullptr;
  std::vector<Storage> storages_;
  std::vector<Tensor> tensors_;
};

}  // namespace apot::models::torch_file
