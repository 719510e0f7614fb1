#include "models/torch_file/state_dict_select.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace apot::models::torch_file {

namespace {

using K = Object::Kind;
constexpr const char* kCheckpointKeys[] = {"state_dict", "model_state_dict", "model"};
constexpr int kMaxModuleDepth = 64;
const std::string kDataParallelPrefix = "module.";

std::vector<std::string> keys_of(const Object& dict) {
  std::vector<std::string> keys;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    keys.push_back(dict.items[i]->kind == K::String ? "'" + dict.items[i]->text + "'" : describe(*dict.items[i]));
  }
  return keys;
}

// A pickled torch.nn.Module: an object whose state holds _parameters, _buffers and _modules.
bool is_module(const Object& o) {
  return o.kind == K::Call && o.state && o.state->kind == K::Dict && find_entry(*o.state, "_parameters") && find_entry(*o.state, "_modules");
}

class Selector {
 public:
  explicit Selector(const TorchFile& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& message) const { throw std::runtime_error(fmt::format("'{}': {}", file_.name(), message)); }

  void add(const std::string& name, const Object& value, const std::string& where) {
    if (value.kind != K::Tensor) {
      fail(fmt::format("entry '{}' of {} is {}, not a tensor", name, where, describe(value)));
    }
    const Tensor* t = &file_.tensor(value);
    if (auto it = index_.find(name); it != index_.end()) {
      selection.tensors[it->second].second = t;
    } else {
      index_[name] = selection.tensors.size();
      selection.tensors.emplace_back(name, t);
    }
  }

  void add_dict(const Object& dict, const std::string& where) {
    for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
      if (dict.items[i]->kind != K::String) fail(fmt::format("{} has a key that is {}, not a string", where, describe(*dict.items[i])));
      add(dict.items[i]->text, *dict.items[i + 1], where);
    }
  }

  // A module's parameters, then its persistent buffers, then its children's, as Module.state_dict() orders them.
  void add_module(const Object& module, const std::string& prefix, int depth) {
    if (depth > kMaxModuleDepth) fail(fmt::format("modules nested more than {} deep", kMaxModuleDepth));
    const Object& state = *module.state;
    std::vector<std::string> non_persistent;
    if (const Object* set = find_entry(state, "_non_persistent_buffers_set"); set && set->kind == K::Set) {
      for (const Object* name : set->items) {
        if (name->kind == K::String) non_persistent.push_back(name->text);
      }
    }
    for (const char* field : {"_parameters", "_buffers"}) {
      const Object* dict = find_entry(state, field);
      if (!dict || dict->kind != K::Dict) continue;
      for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
        const Object& key = *dict->items[i];
        if (key.kind != K::String || dict->items[i + 1]->kind == K::None) continue;
        if (std::find(non_persistent.begin(), non_persistent.end(), key.text) != non_persistent.end()) continue;
        add(prefix + key.text, *dict->items[i + 1], fmt::format("the pickled module {}", module.text));
      }
    }
    const Object* children = find_entry(state, "_modules");
    if (!children || children->kind != K::Dict) return;
    for (size_t i = 0; i + 1 < children->items.size(); i += 2) {
      const Object& key = *children->items[i];
      const Object& child = *children->items[i + 1];
      if (key.kind != K::String || child.kind == K::None) continue;
      if (!is_module(child)) fail(fmt::format("submodule '{}{}' is {}, not a module", prefix, key.text, describe(child)));
      add_module(child, prefix + key.text + ".", depth + 1);
    }
  }

  StateDictSelection selection;

 private:
  const TorchFile& file_;
  std::map<std::string, size_t> index_;
};

bool all_tensors(const Object& dict) {
  for (size_t i = 1; i < dict.items.size(); i += 2) {
    if (dict.items[i]->kind != K::Tensor) return false;
  }
  return true;
}

}  // namespace

StateDictSelection select_state_dict(const TorchFile& file, const std::string& key) {
  Selector s(file);
  const Object& root = *file.root();
  const Object* chosen = &root;
  std::string where = "the state_dict", chosen_key;
  if (!key.empty()) {
    if (root.kind != K::Dict) s.fail(fmt::format("holds {}, not a dict with an entry '{}'", describe(root), key));
    chosen = find_entry(root, key);
    if (!chosen) s.fail(fmt::format("has no entry '{}' (its entries: {})", key, fmt::join(keys_of(root), ", ")));
    where = fmt::format("entry '{}'", key);
    chosen_key = key;
  } else if (root.kind == K::Dict && !all_tensors(root)) {
    chosen = nullptr;
    for (const char* candidate : kCheckpointKeys) {
      const Object* value = find_entry(root, candidate);
      if (value && (value->kind == K::Dict || is_module(*value))) {
        chosen = value;
        where = fmt::format("entry '{}'", candidate);
        chosen_key = candidate;
        break;
      }
    }
    if (!chosen) {
      s.fail(fmt::format("holds a dict whose entries ({}) are neither tensors nor a state_dict under 'state_dict', "
                         "'model_state_dict' or 'model': name the entry to read with --checkpoint-key",
                         fmt::join(keys_of(root), ", ")));
    }
  }
  if (is_module(*chosen)) {
    s.add_module(*chosen, "", 0);
    s.selection.notes.push_back(fmt::format("'{}': read the parameters and buffers of a pickled {} (torch.save of a whole model)",
                                            file.name(), chosen->text));
  } else if (chosen->kind == K::Dict) {
    s.add_dict(*chosen, where);
  } else {
    const std::string what = chosen->kind == K::Call ? fmt::format("a pickled {} object", chosen->text) : "a pickle of " + describe(*chosen);
    s.fail(fmt::format("{} {}, not a state_dict (a dict of tensors)", chosen == &root ? "holds" : where + " is", what));
  }
  if (chosen != &root) {
    std::vector<std::string> ignored;
    for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
      const Object& k = *root.items[i];
      if (k.kind != K::String || k.text != chosen_key) ignored.push_back(k.kind == K::String ? k.text : describe(k));
    }
    s.selection.notes.push_back(fmt::format("'{}': read the state_dict in {} ({} tensors){}", file.name(), where, s.selection.tensors.size(),
                                            ignored.empty() ? "" : fmt::format("; ignored {}", fmt::join(ignored, ", "))));
  }
  auto& tensors = s.selection.tensors;
  const bool prefixed = !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [](const auto& t) {
    return t.first.compare(0, kDataParallelPrefix.size(), kDataParallelPrefix) == 0;
  });
  if (prefixed) {
    for (auto& t : tensors) t.first.erase(0, kDataParallelPrefix.size());
    s.selection.notes.push_back(fmt::format("'{}': dropped DataParallel's '{}' prefix from every key", file.name(), kDataParallelPrefix));
  }
  return s.selection;
}

}  // namespace apot::models::torch_file
