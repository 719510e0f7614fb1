#include "models/torch_file/torch_file.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "models/torch_file/zip_archive.h"

namespace apot::models::torch_file {

namespace {

constexpr DTypeTraits kDTypes[] = {
    {DType::Float64, "DoubleStorage", "float64", 8, true, false},
    {DType::Float32, "FloatStorage", "float32", 4, true, false},
    {DType::Float16, "HalfStorage", "float16", 2, true, false},
    {DType::BFloat16, "BFloat16Storage", "bfloat16", 2, true, false},
    {DType::Int64, "LongStorage", "int64", 8, false, false},
    {DType::Int32, "IntStorage", "int32", 4, false, false},
    {DType::Int16, "ShortStorage", "int16", 2, false, false},
    {DType::Int8, "CharStorage", "int8", 1, false, false},
    {DType::UInt8, "ByteStorage", "uint8", 1, false, false},
    {DType::Bool, "BoolStorage", "bool", 1, false, false},
    {DType::Complex64, "ComplexFloatStorage", "complex64", 8, false, true},
    {DType::Complex128, "ComplexDoubleStorage", "complex128", 16, false, true},
};

// The legacy format's first pickle: the integer 0x1950a86a20f9469cfc6c, little-endian.
constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocol = 1001;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::shared_ptr<const std::string> swapped_if(bool big_endian, std::string bytes, int element_size) {
  if (big_endian) {
    for (size_t i = 0; i + element_size <= bytes.size(); i += element_size) std::reverse(&bytes[i], &bytes[i] + element_size);
  }
  return std::make_shared<const std::string>(std::move(bytes));
}

}  // namespace

const DTypeTraits& traits(DType dtype) {
  for (const DTypeTraits& t : kDTypes) {
    if (t.dtype == dtype) return t;
  }
  throw std::logic_error("torch_file: a dtype without traits");
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

// Storages from persistent ids, tensors from the rebuild calls; everything else stays inert.
class TorchFile::Hooks : public PickleHooks {
 public:
  explicit Hooks(TorchFile& file) : file_(file) {}

  // Zip: the storage's bytes by key. Legacy: none, they follow the pickles.
  std::function<std::shared_ptr<const std::string>(const std::string& key, int64_t bytes)> load;
  std::map<std::string, size_t> by_key;                   // root storages
  std::vector<std::pair<size_t, size_t>> views;           // legacy (view, root) storages

  Object* persistent_load(Arena& arena, Object* pid) override {
    using K = Object::Kind;
    const auto& p = pid->items;
    // The legacy format names a pickled module's class as ('module', class, source file, source).
    if (pid->kind == K::Tuple && p.size() >= 2 && p[0]->kind == K::String && p[0]->text == "module") return p[1];
    if (pid->kind != K::Tuple || p.empty() || p[0]->kind != K::String || p[0]->text != "storage") {
      fail(fmt::format("a persistent id that is {}, not a ('storage', ...) tuple", describe(*pid)));
    }
    if (p.size() < 5 || p[1]->kind != K::Global || p[2]->kind != K::String || p[4]->kind != K::Int) {
      fail("a storage persistent id without (type, key, location, numel)");
    }
    const DType dtype = storage_dtype(p[1]->text);
    const std::string& key = p[2]->text;
    const int64_t numel = p[4]->integer;
    if (numel < 0) fail(fmt::format("storage '{}' declares {} elements", key, numel));
    size_t root;
    if (auto it = by_key.find(key); it != by_key.end()) {
      root = it->second;
      const Storage& s = file_.storages_[root];
      if (s.dtype != dtype || s.numel != numel) fail(fmt::format("storage '{}' is declared twice, differently", key));
    } else {
      Storage s;
      s.dtype = dtype;
      s.key = key;
      s.numel = numel;
      const int size = traits(dtype).size;
      if (load) {
        s.bytes = load(key, size);
        if (static_cast<int64_t>(s.bytes->size() / size) < numel) {
          fail(fmt::format("storage '{}' declares {} elements of {} but its record holds {} bytes", key, numel, traits(dtype).name, s.bytes->size()));
        }
      }
      root = file_.storages_.size();
      file_.storages_.push_back(std::move(s));
      by_key[key] = root;
    }
    size_t index = root;
    if (p.size() > 5 && p[5]->kind != K::None) {  // legacy view: (view key, offset, size) into the root
      const Object* v = p[5];
      if (v->kind != K::Tuple || v->items.size() != 3 || v->items[0]->kind != K::String || v->items[1]->kind != K::Int ||
          v->items[2]->kind != K::Int) {
        fail(fmt::format("storage '{}' has a view description that is not (key, offset, size)", key));
      }
      const int64_t first = v->items[1]->integer, size = v->items[2]->integer;
      if (first < 0 || size < 0 || first > numel || size > numel - first) {
        fail(fmt::format("storage view '{}' ({} elements from {}) lies outside its storage of {}", v->items[0]->text, size, first, numel));
      }
      Storage s = file_.storages_[root];
      s.key = v->items[0]->text;
      s.first = first;
      s.numel = size;
      index = file_.storages_.size();
      file_.storages_.push_back(std::move(s));
      views.emplace_back(index, root);
    }
    Object* o = arena.make(K::Storage);
    o->integer = static_cast<int64_t>(index);
    return o;
  }

  Object* call(Arena& arena, Object* callable, Object* args) override {
    using K = Object::Kind;
    const std::string name = callable->kind == K::Global ? callable->text : "";
    const auto& a = args->items;
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4) fail(fmt::format("{} with {} arguments", name, a.size()));
      return make_tensor(arena, *a[0], *a[1], *a[2], *a[3]);
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty()) fail(fmt::format("{} without arguments", name));
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2") {  // (func, type, args, state): a tensor subclass
      if (a.size() < 3 || a[2]->kind != K::Tuple) fail(fmt::format("{} without (func, type, args)", name));
      return call(arena, a[0], a[2]);
    }
    // LibTorch's own pickler (torch::pickle_save) tags typed containers: the first argument is the object.
    if (name == "torch.jit._pickle.restore_type_tag" || name.rfind("torch.jit._pickle.build_", 0) == 0) {
      if (a.empty()) fail(fmt::format("{} without arguments", name));
      return a[0];
    }
    if (name == "collections.OrderedDict") {  // state_dict(): an OrderedDict filled by SETITEMS
      Object* dict = arena.make(K::Dict);
      if (!a.empty() && a[0]->kind == K::List) {
        for (Object* pair : a[0]->items) {
          if (pair->kind != K::Tuple || pair->items.size() != 2) fail("an OrderedDict built from items that are not pairs");
          dict->items.push_back(pair->items[0]);
          dict->items.push_back(pair->items[1]);
        }
      }
      return dict;
    }
    return PickleHooks::call(arena, callable, args);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw std::runtime_error(fmt::format("'{}': {}", file_.name_, message));
  }

  DType storage_dtype(std::string type) const {
    if (starts_with(type, "torch.cuda.")) type = "torch." + type.substr(11);
    for (const DTypeTraits& t : kDTypes) {
      if (type == std::string("torch.") + t.storage) return t.dtype;
    }
    if (type == "torch.UntypedStorage" || type == "torch.storage.UntypedStorage") return DType::UInt8;
    fail(fmt::format("a storage of type {}, which apot does not read", type));
  }

  std::vector<int64_t> int_tuple(const Object& o, const char* what) const {
    if (o.kind != Object::Kind::Tuple) fail(fmt::format("a tensor whose {} is {}, not a tuple", what, describe(o)));
    std::vector<int64_t> values;
    for (const Object* item : o.items) {
      if (item->kind != Object::Kind::Int || item->integer < 0) fail(fmt::format("a tensor whose {} holds {}", what, describe(*item)));
      values.push_back(item->integer);
    }
    return values;
  }

  Object* make_tensor(Arena& arena, const Object& storage, const Object& offset, const Object& sizes, const Object& strides) {
    if (storage.kind != Object::Kind::Storage) fail(fmt::format("a tensor rebuilt from {}, not a storage", describe(storage)));
    if (offset.kind != Object::Kind::Int || offset.integer < 0) fail("a tensor with an invalid storage offset");
    Tensor t;
    t.storage = static_cast<size_t>(storage.integer);
    t.offset = offset.integer;
    t.sizes = int_tuple(sizes, "size");
    t.strides = int_tuple(strides, "stride");
    if (t.sizes.size() != t.strides.size()) fail(fmt::format("a tensor with {} sizes and {} strides", t.sizes.size(), t.strides.size()));
    const Storage& s = file_.storages_[t.storage];
    // Checked in 128 bits: the element count and the last element it reads must fit the storage.
    __int128 numel = 1, last = t.offset;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      numel = std::min<__int128>(numel * t.sizes[d], __int128{1} << 80);
      last += static_cast<__int128>(t.sizes[d] > 0 ? t.sizes[d] - 1 : 0) * t.strides[d];
    }
    if (numel > 0 && (last >= s.numel || numel > s.numel)) {
      fail(fmt::format("a tensor of {} elements (sizes [{}], strides [{}], offset {}) that its storage '{}' of {} elements "
                       "does not hold",
                       static_cast<int64_t>(std::min<__int128>(numel, INT64_MAX)), fmt::join(t.sizes, ", "),
                       fmt::join(t.strides, ", "), t.offset, s.key, s.numel));
    }
    Object* o = arena.make(Object::Kind::Tensor);
    o->integer = static_cast<int64_t>(file_.tensors_.size());
    file_.tensors_.push_back(std::move(t));
    return o;
  }

  TorchFile& file_;
};

TorchFile::~TorchFile() = default;

TorchFile TorchFile::read(const std::string& path) { return parse(read_file(path), path); }

TorchFile TorchFile::parse(std::string_view bytes, const std::string& name) {
  TorchFile file;
  file.name_ = name;
  if (bytes.empty()) throw std::runtime_error(fmt::format("'{}' is empty", name));
  if (ZipArchive::looks_like_zip(bytes)) {
    file.format_ = "zip";
    file.parse_zip(bytes);
  } else if (static_cast<unsigned char>(bytes[0]) == 0x80) {
    file.format_ = "legacy";
    file.parse_legacy(bytes);
  } else if (bytes.size() >= 262 && bytes.substr(257, 5) == "ustar") {
    throw std::runtime_error(fmt::format("'{}' is a tar archive (torch.save before PyTorch 0.1.10), which apot does not read", name));
  } else {
    throw std::runtime_error(fmt::format("'{}' is not a file torch.save writes (neither a zip archive nor a pickle; it starts with "
                                         "byte 0x{:02x})", name, static_cast<unsigned char>(bytes[0])));
  }
  return file;
}

void TorchFile::parse_zip(std::string_view bytes) {
  const ZipArchive zip(bytes, name_);
  for (const std::string& entry : zip.names()) {
    if (ends_with(entry, "/constants.pkl") || entry.find("/code/") != std::string::npos) {
      throw std::runtime_error(fmt::format("'{}' is a TorchScript archive (torch.jit.save), not a torch.save file: save the "
                                           "model's state_dict() with torch.save instead", name_));
    }
  }
  std::string pickle_name;
  for (const std::string& entry : zip.names()) {
    if (entry == "data.pkl" || ends_with(entry, "/data.pkl")) {
      pickle_name = entry;
      break;
    }
  }
  if (pickle_name.empty()) {
    throw std::runtime_error(fmt::format("'{}' is a zip archive without data.pkl, not a file torch.save writes", name_));
  }
  const std::string prefix = pickle_name.substr(0, pickle_name.size() - 8);
  bool big_endian = false;
  if (zip.contains(prefix + "byteorder")) {
    const std::string order = zip.read(prefix + "byteorder");
    if (order != "little" && order != "big") throw std::runtime_error(fmt::format("'{}': byteorder '{}'", name_, order));
    big_endian = order == "big";
  }
  Hooks hooks(*this);
  hooks.load = [&](const std::string& key, int element_size) {
    const std::string entry = prefix + "data/" + key;
    if (!zip.contains(entry)) throw std::runtime_error(fmt::format("'{}': storage '{}' has no record {}", name_, key, entry));
    return swapped_if(big_endian, zip.read(entry), element_size);
  };
  const std::string pickle = zip.read(pickle_name);
  size_t pos = 0;
  root_ = unpickle(pickle, &pos, *arena_, hooks, fmt::format("'{}' ({})", name_, pickle_name));
}

void TorchFile::parse_legacy(std::string_view bytes) {
  size_t pos = 0;
  PickleHooks plain;
  const Object* magic = unpickle(bytes, &pos, *arena_, plain, fmt::format("'{}' (magic number)", name_));
  if (magic->kind != Object::Kind::BigInt || magic->text != std::string_view(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic)) {
    throw std::runtime_error(fmt::format("'{}' is a pickle of {}, not a file torch.save writes (no legacy magic number)", name_,
                                         describe(*magic)));
  }
  const Object* protocol = unpickle(bytes, &pos, *arena_, plain, fmt::format("'{}' (protocol version)", name_));
  if (protocol->kind != Object::Kind::Int || protocol->integer != kLegacyProtocol) {
    throw std::runtime_error(fmt::format("'{}': legacy protocol version {} (apot reads {})", name_,
                                         protocol->kind == Object::Kind::Int ? std::to_string(protocol->integer) : describe(*protocol), kLegacyProtocol));
  }
  const Object* sys_info = unpickle(bytes, &pos, *arena_, plain, fmt::format("'{}' (system info)", name_));
  bool big_endian = false;
  if (sys_info->kind == Object::Kind::Dict) {
    const Object* little = find_entry(*sys_info, "little_endian");
    big_endian = little && little->kind == Object::Kind::Bool && !little->integer;
  }
  Hooks hooks(*this);
  root_ = unpickle(bytes, &pos, *arena_, hooks, fmt::format("'{}'", name_));
  const Object* keys = unpickle(bytes, &pos, *arena_, plain, fmt::format("'{}' (storage keys)", name_));
  if (keys->kind != Object::Kind::List) throw std::runtime_error(fmt::format("'{}': the storage keys are {}, not a list", name_, describe(*keys)));
  for (const Object* key : keys->items) {
    if (key->kind != Object::Kind::String) throw std::runtime_error(fmt::format("'{}': a storage key that is {}", name_, describe(*key)));
    const auto it = hooks.by_key.find(key->text);
    if (it == hooks.by_key.end()) throw std::runtime_error(fmt::format("'{}': storage '{}' is listed but no tensor uses it", name_, key->text));
    Storage& s = storages_[it->second];
    if (s.bytes) throw std::runtime_error(fmt::format("'{}': storage '{}' is listed twice", name_, key->text));
    const int size = traits(s.dtype).size;
    if (bytes.size() - pos < 8) throw std::runtime_error(fmt::format("'{}': truncated before storage '{}'", name_, key->text));
    uint64_t numel = 0;
    for (int i = 7; i >= 0; --i) numel = numel << 8 | static_cast<unsigned char>(bytes[pos + (big_endian ? 7 - i : i)]);
    pos += 8;
    if (numel != static_cast<uint64_t>(s.numel)) {
      throw std::runtime_error(fmt::format("'{}': storage '{}' holds {} elements, its tensors' pickle says {}", name_, key->text, numel, s.numel));
    }
    if ((bytes.size() - pos) / size < numel) {
      throw std::runtime_error(fmt::format("'{}': truncated inside storage '{}' ({} elements of {} bytes)", name_, key->text, numel, size));
    }
    s.bytes = swapped_if(big_endian, std::string(bytes.substr(pos, numel * size)), size);
    pos += numel * size;
  }
  for (const auto& [view, root] : hooks.views) storages_[view].bytes = storages_[root].bytes;
  for (const Storage& s : storages_) {
    if (!s.bytes) throw std::runtime_error(fmt::format("'{}': storage '{}' is used but missing from the file", name_, s.key));
  }
}

std::string TorchFile::contiguous_bytes(const Tensor& t) const {
  const Storage& s = storages_[t.storage];
  const size_t size = static_cast<size_t>(traits(s.dtype).size);
  const int64_t numel = t.numel();
  std::string out(static_cast<size_t>(numel) * size, '\0');
  if (numel == 0) return out;
  const char* base = s.bytes->data() + (s.first + t.offset) * size;
  std::vector<int64_t> index(t.sizes.size(), 0);
  int64_t at = 0;  // the current element's offset from base, in elements
  for (int64_t n = 0; n < numel; ++n) {
    std::copy_n(base + at * size, size, &out[static_cast<size_t>(n) * size]);
    for (size_t d = t.sizes.size(); d-- > 0;) {  // odometer over the dimensions, last fastest
      at += t.strides[d];
      if (++index[d] < t.sizes[d]) break;
      at -= t.strides[d] * t.sizes[d];
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace apot::models::torch_file
