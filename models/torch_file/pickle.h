// A Python pickle reader for the subset that torch.save writes (protocols 2 to 5 and the text forms
// of protocol 0 that they still use): it builds plain objects and runs no code. What a real unpickler
// would import and call (globals, REDUCE, NEWOBJ, persistent ids) is handed to hooks, which torch_file.h
// fills with storages and tensors; anything else stays an inert record of the call.
//
// Objects live in an arena and refer to each other by pointer, so cycles and deep nesting cost nothing
// to build or free. Memory grows at most linearly with the pickle's size: every length is checked
// against the bytes that remain before anything is allocated.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace apot::models::torch_file {

struct Object {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Set, Global, Call, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;         // Bool, Int; Storage, Tensor: the index in the hooks' own tables
  double real = 0;             // Float
  std::string text;            // String, Bytes; BigInt: little-endian two's complement; Global, Call: "module.name"
  std::vector<Object*> items;  // Tuple, List, Set; Dict: key, value, key, value, ...; Call: the arguments
  Object* state = nullptr;     // Call: what BUILD gave it (a pickled object's __dict__)
};

// dict[key] for a string key (the last, as Python keeps it), or null.
const Object* find_entry(const Object& dict, std::string_view key);

// Python's name for what an object is ("builtins.list", "torch.FloatStorage", "a call of f"): for errors.
std::string describe(const Object& object);

class Arena {
 public:
  Object* make(Object::Kind kind) {
    objects_.emplace_back();
    objects_.back().kind = kind;
    return &objects_.back();
  }

 private:
  std::deque<Object> objects_;
};

// What a pickle would import or call. The defaults build inert records.
class PickleHooks {
 public:
  virtual ~PickleHooks() = default;
  virtual Object* find_class(Arena& arena, const std::string& module, const std::string& name);
  virtual Object* persistent_load(Arena& arena, Object* pid);
  // callable(*args) for REDUCE, cls.__new__(cls, *args) for NEWOBJ.
  virtual Object* call(Arena& arena, Object* callable, Object* args);
  // obj.__setstate__(state) or obj.__dict__.update(state): kept on Call records, ignored on the rest
  // (an OrderedDict's state is its _metadata).
  virtual void build(Object* target, Object* state);
};

// Reads one pickle from bytes[*pos..] up to its STOP; *pos is left after it. Errors name `what`, the
// opcode and its byte offset.
Object* unpickle(std::string_view bytes, size_t* pos, Arena& arena, PickleHooks& hooks, const std::string& what);

}  // namespace apot::models::torch_file
