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
  if (!bytes.empty()) std::memcpy(out.data_ptr(), bytes.data(), bytes.size());  // an empty tensor has no data
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

c10::Dict<std::string, torch::Tensor> tensor_dict(const StateDict& state) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : state) dict.insert(name, tensor.detach().contiguous());
  return dict;
}

[[noreturn]] void bad_entry(const tf::TorchFile& file, const std::string& entry, const std::string& expected) {
  throw std::runtime_error(fmt::format("'{}': entry '{}' is not {} (a damaged apot checkpoint?)", file.name(), entry, expected));
}

const tf::Object& dict_entry(const tf::TorchFile& file, const tf::Object& dict, const std::string& key, const std::string& where) {
  const tf::Object* value = tf::find_entry(dict, key);
  if (!value || value->kind != tf::Object::Kind::Dict) bad_entry(file, where + key, "a dict");
  return *value;
}

std::optional<NetworkRecord> network_record(const tf::TorchFile& file) {
  const tf::Object* apot = tf::find_entry(*file.root(), "apot");
  if (!apot) return std::nullopt;
  if (apot->kind != tf::Object::Kind::Dict) bad_entry(file, "apot", "a dict");
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < apot->items.size(); i += 2) {
    const tf::Object& k = *apot->items[i];
    const tf::Object& v = *apot->items[i + 1];
    if (k.kind != tf::Object::Kind::String || v.kind != tf::Object::Kind::String) bad_entry(file, "apot", "a dict of strings");
    fields[k.text] = v.text;
  }
  const std::string source = fmt::format("'{}'", file.name());
  NetworkRecord r;
  auto take = [&](const char* name) {
    const auto it = fields.find(name);
    if (it == fields.end()) throw std::runtime_error(fmt::format("{}: the recorded network has no '{}'", source, name));
    return it->second;
  };
  r.arch = take("arch");
  r.dataset = take("dataset");
  try {
    r.options.in_channels = std::stoll(take("in_channels"));
    r.options.num_classes = std::stoll(take("num_classes"));
  } catch (const std::logic_error&) {
    throw std::runtime_error(fmt::format("{}: the recorded in_channels / num_classes are not numbers", source));
  }
  r.options.quant = qat::QuantConfig::from_record(fields, source);
  return r;
}

std::optional<TrainState> train_state(const tf::TorchFile& file) {
  const tf::Object* state = tf::find_entry(*file.root(), "train_state");
  if (!state) return std::nullopt;
  if (state->kind != tf::Object::Kind::Dict) bad_entry(file, "train_state", "a dict");
  TrainState t;
  const tf::Object* epoch = tf::find_entry(*state, "epoch");
  const tf::Object* metrics = tf::find_entry(*state, "metrics");
  if (!epoch || epoch->kind != tf::Object::Kind::Int || epoch->integer < 0) bad_entry(file, "train_state.epoch", "a count of epochs");
  if (!metrics || metrics->kind != tf::Object::Kind::String) bad_entry(file, "train_state.metrics", "a string");
  t.epoch = epoch->integer;
  t.metrics_csv = metrics->text;
  const tf::Object& momentum = dict_entry(file, *state, "momentum", "train_state.");
  std::map<std::string, int> converted;
  for (size_t i = 0; i + 1 < momentum.items.size(); i += 2) {
    const tf::Object& k = *momentum.items[i];
    const tf::Object& v = *momentum.items[i + 1];
    if (k.kind != tf::Object::Kind::String || v.kind != tf::Object::Kind::Tensor) bad_entry(file, "train_state.momentum", "a dict of tensors");
    t.momentum.emplace_back(k.text, to_torch(file, file.tensor(v), k.text, &converted));
  }
  return t;
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path, const std::string& key, std::vector<std::string>* notes) {
  const tf::TorchFile file = tf::TorchFile::read(path);
  const tf::StateDictSelection selection = tf::select_state_dict(file, key);
  Checkpoint c;
  std::map<std::string, int> converted;
  for (const auto& [name, tensor] : selection.tensors) c.weights.emplace_back(name, to_torch(file, *tensor, name, &converted));
  if (file.root()->kind == tf::Object::Kind::Dict) {
    c.network = network_record(file);
    c.train = train_state(file);
  }
  if (notes && !c.network) notes->insert(notes->end(), selection.notes.begin(), selection.notes.end());
  note_conversions(file, converted, notes);
  return c;
}

void write_checkpoint(const Checkpoint& c, const std::string& path) {
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("state_dict", tensor_dict(c.weights));
  if (c.network) {
    c10::Dict<std::string, std::string> record;
    for (const auto& [name, value] : c.network->options.quant.record()) record.insert(name, value);
    record.insert("arch", c.network->arch);
    record.insert("dataset", c.network->dataset);
    record.insert("in_channels", std::to_string(c.network->options.in_channels));
    record.insert("num_classes", std::to_string(c.network->options.num_classes));
    top.insert("apot", record);
  }
  if (c.train) {
    c10::impl::GenericDict train(c10::StringType::get(), c10::AnyType::get());
    train.insert("epoch", c.train->epoch);
    train.insert("momentum", tensor_dict(c.train->momentum));
    train.insert("metrics", c.train->metrics_csv);
    top.insert("train_state", train);
  }
  save_pickle(c10::IValue(top), path);
}

StateDict read_state_dict(const std::string& path, const std::string& key, std::vector<std::string>* notes) {
  return read_checkpoint(path, key, notes).weights;
}

void write_state_dict(const StateDict& state, const std::string& path) { save_pickle(c10::IValue(tensor_dict(state)), path); }

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
