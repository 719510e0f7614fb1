#include "models/torch_file/pickle.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace apot::models::torch_file {

const Object* find_entry(const Object& dict, std::string_view key) {
  const Object* found = nullptr;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    if (dict.items[i]->kind == Object::Kind::String && dict.items[i]->text == key) found = dict.items[i + 1];
  }
  return found;
}

std::string describe(const Object& o) {
  using K = Object::Kind;
  switch (o.kind) {
    case K::None: return "builtins.NoneType";
    case K::Bool: return "builtins.bool";
    case K::Int: case K::BigInt: return "builtins.int";
    case K::Float: return "builtins.float";
    case K::String: return "builtins.str";
    case K::Bytes: return "builtins.bytes";
    case K::Tuple: return "builtins.tuple";
    case K::List: return "builtins.list";
    case K::Dict: return "builtins.dict";
    case K::Set: return "builtins.set";
    case K::Global: return fmt::format("the name {}", o.text);
    case K::Call: return o.text;
    case K::Storage: return "a torch storage";
    case K::Tensor: return "torch.Tensor";
  }
  return "an unknown object";
}

Object* PickleHooks::find_class(Arena& arena, const std::string& module, const std::string& name) {
  Object* o = arena.make(Object::Kind::Global);
  o->text = module + "." + name;
  return o;
}

Object* PickleHooks::persistent_load(Arena& arena, Object* pid) {
  Object* o = arena.make(Object::Kind::Call);
  o->text = "a persistent id";
  o->items = {pid};
  return o;
}

Object* PickleHooks::call(Arena& arena, Object* callable, Object* args) {
  Object* o = arena.make(Object::Kind::Call);
  o->text = callable->kind == Object::Kind::Global ? callable->text : "the result of a call";
  o->items = args->items;
  return o;
}

void PickleHooks::build(Object* target, Object* state) {
  if (target->kind == Object::Kind::Call) target->state = state;
}

namespace {

class Unpickler {
 public:
  Unpickler(std::string_view bytes, size_t pos, Arena& arena, PickleHooks& hooks, const std::string& what)
      : bytes_(bytes), pos_(pos), arena_(arena), hooks_(hooks), what_(what) {}

  Object* run(size_t* end);

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw std::runtime_error(fmt::format("{}: {} (opcode 0x{:02x} at byte {})", what_, message, op_, op_at_));
  }
  std::string_view take(uint64_t n) {
    if (n > bytes_.size() - pos_) fail(fmt::format("needs {} more bytes, {} remain", n, bytes_.size() - pos_));
    const std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t le(int n) {
    const std::string_view s = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[i]);
    return v;
  }
  std::string_view line() {
    const size_t end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos) fail("a text argument has no end of line");
    const std::string_view s = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  int64_t text_int(std::string_view s) {
    if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
    if (s.empty() || s.size() > 19) fail(fmt::format("'{}' is not an integer apot reads", s));
    size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
    if (i == s.size()) fail("an integer without digits");
    int64_t v = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') fail(fmt::format("'{}' is not an integer", s));
      v = v * 10 + (s[i] - '0');
    }
    return s[0] == '-' ? -v : v;
  }

  Object* pop() {
    if (stack_.size() <= floor()) fail("pops an empty stack");
    Object* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Object* top() {
    if (stack_.size() <= floor()) fail("reads an empty stack");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Object*> pop_mark() {
    if (marks_.empty()) fail("has no MARK to pop to");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Object*> items(stack_.begin() + static_cast<long>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void push(Object* o) { stack_.push_back(o); }
  Object* make(Object::Kind kind) { return arena_.make(kind); }
  Object* make_int(int64_t v) {
    Object* o = make(Object::Kind::Int);
    o->integer = v;
    return o;
  }
  Object* make_text(Object::Kind kind, std::string_view s) {
    Object* o = make(kind);
    o->text.assign(s);
    return o;
  }
  Object* make_seq(Object::Kind kind, std::vector<Object*> items) {
    Object* o = make(kind);
    o->items = std::move(items);
    return o;
  }
  // Little-endian two's complement of LONG1 / LONG4: an Int where it fits 64 bits.
  Object* make_long(std::string_view s) {
    if (s.size() <= 8) {
      uint64_t v = 0;
      for (size_t i = s.size(); i-- > 0;) v = v << 8 | static_cast<unsigned char>(s[i]);
      if (!s.empty() && s.size() < 8 && (static_cast<unsigned char>(s.back()) & 0x80)) v -= uint64_t{1} << (8 * s.size());
      return make_int(static_cast<int64_t>(v));
    }
    return make_text(Object::Kind::BigInt, s);
  }
  Object* memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("reads memo entry {}, which was never stored", index));
    return it->second;
  }
  void append_to(Object* list, const std::vector<Object*>& items) {
    if (list->kind != Object::Kind::List && list->kind != Object::Kind::Set) fail(fmt::format("appends to {}", describe(*list)));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(Object* dict, const std::vector<Object*>& items) {
    if (dict->kind != Object::Kind::Dict) fail(fmt::format("sets items of {}", describe(*dict)));
    if (items.size() % 2) fail("sets items from an odd number of keys and values");
    dict->items.insert(dict->items.end(), items.begin(), items.end());
  }

  std::string_view bytes_;
  size_t pos_;
  Arena& arena_;
  PickleHooks& hooks_;
  const std::string& what_;
  std::vector<Object*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Object*> memo_;
  unsigned op_ = 0;
  size_t op_at_ = 0;
};

Object* Unpickler::run(size_t* end) {
  using K = Object::Kind;
  for (;;) {
    op_at_ = pos_;
    if (pos_ >= bytes_.size()) {
      op_ = 0;
      fail("ends before its STOP opcode (a truncated file)");
    }
    op_ = static_cast<unsigned char>(bytes_[pos_++]);
    switch (op_) {
      case 0x80: le(1); break;   // PROTO
      case 0x95: le(8); break;   // FRAME: a length hint only
      case '.': {                // STOP
        if (!marks_.empty()) fail("stops inside a MARK");
        if (stack_.size() != 1) fail(fmt::format("stops with {} objects on the stack, not 1", stack_.size()));
        *end = pos_;
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': push(top()); break;
      case 'N': push(make(K::None)); break;
      case 0x88: case 0x89: {
        Object* o = make(K::Bool);
        o->integer = op_ == 0x88;
        push(o);
        break;
      }
      case 'I': {  // INT: "01" and "00" are True and False in protocol 0
        const std::string_view s = line();
        if (s == "01" || s == "00") {
          Object* o = make(K::Bool);
          o->integer = s == "01";
          push(o);
        } else {
          push(make_int(text_int(s)));
        }
        break;
      }
      case 'L': push(make_int(text_int(line()))); break;
      case 'J': push(make_int(static_cast<int32_t>(le(4)))); break;
      case 'K': push(make_int(static_cast<int64_t>(le(1)))); break;
      case 'M': push(make_int(static_cast<int64_t>(le(2)))); break;
      case 0x8a: push(make_long(take(le(1)))); break;
      case 0x8b: {
        const uint64_t n = le(4);
        push(make_long(take(n)));
        break;
      }
      case 'F': {
        const std::string s(line());
        char* parsed_end = nullptr;
        Object* o = make(K::Float);
        o->real = std::strtod(s.c_str(), &parsed_end);
        if (s.empty() || *parsed_end != '\0') fail(fmt::format("'{}' is not a float", s));
        push(o);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const std::string_view s = take(8);
        uint64_t bits = 0;
        for (char c : s) bits = bits << 8 | static_cast<unsigned char>(c);
        Object* o = make(K::Float);
        std::memcpy(&o->real, &bits, sizeof bits);
        push(o);
        break;
      }
      case 'X': { const uint64_t n = le(4); push(make_text(K::String, take(n))); break; }
      case 0x8c: push(make_text(K::String, take(le(1)))); break;
      case 0x8d: { const uint64_t n = le(8); push(make_text(K::String, take(n))); break; }
      case 'V': push(make_text(K::String, line())); break;
      case 'T': { const uint64_t n = le(4); push(make_text(K::String, take(n))); break; }  // Python 2 str
      case 'U': push(make_text(K::String, take(le(1)))); break;
      case 'S': {  // STRING: a quoted repr; escapes are kept as written
        std::string_view s = line();
        if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"')) fail("a STRING without quotes");
        push(make_text(K::String, s.substr(1, s.size() - 2)));
        break;
      }
      case 'B': { const uint64_t n = le(4); push(make_text(K::Bytes, take(n))); break; }
      case 'C': push(make_text(K::Bytes, take(le(1)))); break;
      case 0x8e: case 0x96: { const uint64_t n = le(8); push(make_text(K::Bytes, take(n))); break; }
      case ']': push(make(K::List)); break;
      case 'l': push(make_seq(K::List, pop_mark())); break;
      case 'a': { Object* item = pop(); append_to(top(), {item}); break; }
      case 'e': { std::vector<Object*> items = pop_mark(); append_to(top(), items); break; }
      case ')': push(make(K::Tuple)); break;
      case 't': push(make_seq(K::Tuple, pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {
        std::vector<Object*> items(op_ - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(make_seq(K::Tuple, std::move(items)));
        break;
      }
      case '}': push(make(K::Dict)); break;
      case 'd': {
        std::vector<Object*> items = pop_mark();
        if (items.size() % 2) fail("builds a dict from an odd number of keys and values");
        push(make_seq(K::Dict, std::move(items)));
        break;
      }
      case 's': { Object* v = pop(); Object* k = pop(); set_items(top(), {k, v}); break; }
      case 'u': { std::vector<Object*> items = pop_mark(); set_items(top(), items); break; }
      case 0x8f: push(make(K::Set)); break;
      case 0x90: { std::vector<Object*> items = pop_mark(); append_to(top(), items); break; }
      case 0x91: push(make_seq(K::Set, pop_mark())); break;
      case 'c': {
        const std::string module(line());
        const std::string name(line());
        push(hooks_.find_class(arena_, module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Object* name = pop();
        Object* module = pop();
        if (module->kind != K::String || name->kind != K::String) fail("STACK_GLOBAL of names that are not strings");
        push(hooks_.find_class(arena_, module->text, name->text));
        break;
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ
        Object* args = pop();
        Object* callable = pop();
        if (args->kind != K::Tuple) fail(fmt::format("calls with arguments that are {}, not a tuple", describe(*args)));
        push(hooks_.call(arena_, callable, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX: keyword arguments are dropped
        pop();
        Object* args = pop();
        Object* callable = pop();
        if (args->kind != K::Tuple) fail("NEWOBJ_EX with arguments that are not a tuple");
        push(hooks_.call(arena_, callable, args));
        break;
      }
      case 'b': { Object* state = pop(); hooks_.build(top(), state); break; }
      case 'Q': push(hooks_.persistent_load(arena_, pop())); break;
      case 'P': push(hooks_.persistent_load(arena_, make_text(K::String, line()))); break;
      case 'p': memo_[static_cast<uint64_t>(text_int(line()))] = top(); break;
      case 'q': memo_[le(1)] = top(); break;
      case 'r': memo_[le(4)] = top(); break;
      case 0x94: { const uint64_t index = memo_.size(); memo_[index] = top(); break; }
      case 'g': push(memo_get(static_cast<uint64_t>(text_int(line())))); break;
      case 'h': push(memo_get(le(1))); break;
      case 'j': push(memo_get(le(4))); break;
      default:
        fail("is an opcode apot does not read (torch.save does not write it)");
    }
  }
}

}  // namespace

Object* unpickle(std::string_view bytes, size_t* pos, Arena& arena, PickleHooks& hooks, const std::string& what) {
  return Unpickler(bytes, *pos, arena, hooks, what).run(pos);
}

}  // namespace apot::models::torch_file
