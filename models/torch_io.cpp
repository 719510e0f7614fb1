#include "models/torch_io.h"

#include <cstring>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "models/torch_file/state_dict_select.h"

namespace apot::models {

namespace {

namespace tf = torch_file;

torch::ScalarType scalar_type(tf::DType dtype) {
  switch (dtype) {
    case tf::DType::Float64: return torch::kDouble;
    case tf::DType::Float32: return torch::kFloat;
    case tf::DType::Float16: return torch::kHalf;
    case tf::DType::BFloat16: return torch::kBFloat16;
    case tf::DType::Int64: return torch::kLong;
    case tf::DType::Int32: return torch::kInt;
    case tf::DType::Int16: return torch::kShort;
    case tf::DType::Int8: return torch::kChar;
    case tf::DType::UInt8: return torch::kByte;
    case tf::DType::Bool: return torch::kBool;
    case tf::DType::Complex64: case tf::DType::Complex128: break;
  }
  throw std::logic_error("torch_io: a dtype without a LibTorch type");
}

// Copies one tensor of the file out, floating types as float32; counts the conversions by dtype.
torch::Tensor to_torch(const tf::TorchFile& file, const tf::Tensor& t, const std::string& name, std::map<std::string, int>* converted) {
  const tf::DTypeTraits& traits = tf::traits(file.dtype(t));
  if (traits.complex) {
    throw std::runtime_error(fmt::format("'{}': tensor '{}' has dtype {}, which apot does not read", file.name(), name, traits.name));
  }
  torch::Tensor out = torch::empty(t.sizes, torch::TensorOptions().dtype(scalar_type(traits.dtype)));
  const std::string bytes = file.contiguous_bytes(t);
  std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  if (traits.floating && traits.dtype != tf::DType::Float32) {
    ++(*converted)[traits.name];
    out = out.to(torch::kFloat);
  }
  return out;
}

void note_conversions(const tf::TorchFile& file, const std::map<std::string, int>& converted, std::vector<std::string>* notes) {
  if (converted.empty() || !notes) return;
  std::vector<std::string> counts;
  for (const auto& [dtype, n] : converted) counts.push_back(fmt::format("{} {}", n, dtype));
  notes->push_back(fmt::format("'{}': converted {} tensors to float32", file.name(), fmt::join(counts, " and ")));
}

void save_pickle(const c10::IValue& value, const std::string& path) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

}  // namespace

StateDict read_state_dict(const std::string& path, const std::string& key, std::vector<std::string>* notes) {
  const tf::TorchFile file = tf::TorchFile::read(path);
  tf::StateDictSelection selection = tf::select_state_dict(file, key);
  StateDict state;
  std::map<std::string, int> converted;
  for (const auto& [name, tensor] : selection.tensors) state.emplace_back(name, to_torch(file, *tensor, name, &converted));
  if (notes) notes->insert(notes->end(), selection.notes.begin(), selection.notes.end());
  note_conversions(file, converted, notes);
  return state;
}

void write_state_dict(const StateDict& state, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : state) dict.insert(name, tensor.detach().contiguous());
  save_pickle(c10::IValue(dict), path);
}

torch::Tensor read_tensor(const std::string& path) {
  const tf::TorchFile file = tf::TorchFile::read(path);
  const tf::Object& root = *file.root();
  if (root.kind != tf::Object::Kind::Tensor) {
    throw std::runtime_error(fmt::format("'{}' holds {}, not a tensor", path, tf::describe(root)));
  }
  std::map<std::string, int> converted;
  return to_torch(file, file.tensor(root), "the tensor", &converted);
}

void write_tensor(const torch::Tensor& tensor, const std::string& path) { save_pickle(tensor.detach().contiguous(), path); }

}  // namespace apot::models
