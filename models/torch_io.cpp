#include "models/torch_io.h"

#include <stdexcept>

#include <fmt/format.h>

#include "core/atomic_file.h"

namespace apot::models {

namespace {

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

c10::IValue load_pickle(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 4 || bytes.compare(0, 2, "PK") != 0) {
    throw std::runtime_error(fmt::format(
        "'{}' is not a PyTorch zip file (torch.save since PyTorch 1.6 writes one; legacy files: load and save "
        "again without _use_new_zipfile_serialization=False)", path));
  }
  try {
    return torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("cannot read '{}': {}", path, first_line(e.what_without_backtrace())));
  }
}

void flatten_into(const c10::IValue& value, const std::string& path, StateDict* out) {
  if (!value.isGenericDict()) {
    throw std::runtime_error(fmt::format("'{}' holds a {}, not a state_dict (a dict of tensors)", path, value.tagKind()));
  }
  const auto dict = value.toGenericDict();
  for (const auto& entry : dict) {
    if (entry.key().isString() && entry.key().toStringRef() == "state_dict" && entry.value().isGenericDict()) {
      return flatten_into(entry.value(), path, out);  // a checkpoint wrapping the state_dict
    }
  }
  for (const auto& entry : dict) {
    if (!entry.key().isString()) throw std::runtime_error(fmt::format("'{}' has a key that is not a string", path));
    std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      throw std::runtime_error(fmt::format("'{}': entry '{}' is a {}, not a tensor", path, name, entry.value().tagKind()));
    }
    if (name.rfind("module.", 0) == 0) name = name.substr(7);
    out->emplace_back(std::move(name), entry.value().toTensor());
  }
}

void save_pickle(const c10::IValue& value, const std::string& path) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

}  // namespace

StateDict read_state_dict(const std::string& path) {
  StateDict state;
  flatten_into(load_pickle(path), path, &state);
  return state;
}

void write_state_dict(const StateDict& state, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : state) dict.insert(name, tensor.detach().contiguous());
  save_pickle(c10::IValue(dict), path);
}

torch::Tensor read_tensor(const std::string& path) {
  const c10::IValue value = load_pickle(path);
  if (!value.isTensor()) throw std::runtime_error(fmt::format("'{}' holds a {}, not a tensor", path, value.tagKind()));
  return value.toTensor();
}

void write_tensor(const torch::Tensor& tensor, const std::string& path) { save_pickle(tensor.detach().contiguous(), path); }

}  // namespace apot::models
