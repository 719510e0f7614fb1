// The pickle reader on hand-written pickles: the opcodes torch.save's pickles use, shared and cyclic
// references, and malformed input (truncation, unknown opcodes, huge declared sizes, deep nesting), which
// must end in an error naming the opcode and its offset, never in a crash or a huge allocation.
#include "models/torch_file/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace apot::models::torch_file {
namespace {

using ::testing::HasSubstr;
using K = Object::Kind;

struct Read {
  Arena arena;
  PickleHooks hooks;
  Object* root = nullptr;
  size_t end = 0;
  explicit Read(std::string_view bytes) { root = unpickle(bytes, &end, arena, hooks, "test"); }
};

std::string error_of(std::string_view bytes) {
  try {
    Read r(bytes);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Unpickle, ScalarsStringsAndContainers) {
  // {'a': [1, -2, 300, 70000, True, None, 2.5], 'b': ('x', b'y'), 'c': 2**70}, protocol 2 as Python writes it.
  const std::string p("\x80\x02}q\x00(X\x01\x00\x00\x00" "aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00\x88NG@"
                      "\x04\x00\x00\x00\x00\x00\x00" "eX\x01\x00\x00\x00" "bq\x03X\x01\x00\x00\x00xC\x01y\x86q\x04X\x01\x00\x00\x00"
                      "c\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@u.", 84);
  Read r(p);
  EXPECT_EQ(r.end, p.size());
  ASSERT_EQ(r.root->kind, K::Dict);
  ASSERT_EQ(r.root->items.size(), 6u);
  const Object& list = *r.root->items[1];
  ASSERT_EQ(list.kind, K::List);
  ASSERT_EQ(list.items.size(), 7u);
  EXPECT_EQ(list.items[0]->integer, 1);
  EXPECT_EQ(list.items[1]->integer, -2);
  EXPECT_EQ(list.items[2]->integer, 300);
  EXPECT_EQ(list.items[3]->integer, 70000);
  EXPECT_EQ(list.items[4]->kind, K::Bool);
  EXPECT_EQ(list.items[5]->kind, K::None);
  EXPECT_EQ(list.items[6]->real, 2.5);
  const Object& tuple = *r.root->items[3];
  ASSERT_EQ(tuple.kind, K::Tuple);
  EXPECT_EQ(tuple.items[0]->text, "x");
  EXPECT_EQ(tuple.items[1]->kind, K::Bytes);
  EXPECT_EQ(r.root->items[5]->kind, K::BigInt);  // 2**70 does not fit 64 bits
}

TEST(Unpickle, LongsAreTwosComplement) {
  EXPECT_EQ(Read(std::string("\x8a\x01\xff.", 4)).root->integer, -1);
  EXPECT_EQ(Read(std::string("\x8a\x02\x00\x80.", 5)).root->integer, -32768);
  EXPECT_EQ(Read(std::string("\x8a\x02\xff\x00.", 5)).root->integer, 255);
  EXPECT_EQ(Read(std::string("\x8a\x00.", 3)).root->integer, 0);
  EXPECT_EQ(Read("I01\n.").root->kind, K::Bool);
  EXPECT_EQ(Read("I-42\n.").root->integer, -42);
  EXPECT_EQ(Read("L123L\n.").root->integer, 123);
}

TEST(Unpickle, MemoSharesObjectsAndAllowsCycles) {
  // l = []; l.append(l): the list holds itself.
  Read r(std::string("\x80\x02]q\x00h\x00" "a.", 9));
  ASSERT_EQ(r.root->kind, K::List);
  ASSERT_EQ(r.root->items.size(), 1u);
  EXPECT_EQ(r.root->items[0], r.root);
}

TEST(Unpickle, GlobalsAndCallsStayInert) {
  // os.system('x') is only recorded.
  Read r(std::string("\x80\x02" "cos\nsystem\nX\x01\x00\x00\x00x\x85R.", 22));
  ASSERT_EQ(r.root->kind, K::Call);
  EXPECT_EQ(r.root->text, "os.system");
  ASSERT_EQ(r.root->items.size(), 1u);
  EXPECT_EQ(r.root->items[0]->text, "x");
}

TEST(Unpickle, DeepNestingCostsNoStack) {
  const int depth = 200000;
  std::string p = "\x80\x02";
  for (int i = 0; i < depth; ++i) p += ']';
  for (int i = 1; i < depth; ++i) p += 'a';
  p += '.';
  Read r(p);
  const Object* o = r.root;
  int levels = 0;
  for (; o->kind == K::List && !o->items.empty(); o = o->items[0]) ++levels;
  EXPECT_EQ(levels, depth - 1);
}

TEST(Unpickle, MalformedPicklesNameTheFault) {
  EXPECT_THAT(error_of(""), HasSubstr("ends before its STOP opcode"));
  EXPECT_THAT(error_of(std::string("\x80\x02K", 3)), HasSubstr("needs 1 more bytes, 0 remain"));
  EXPECT_THAT(error_of(std::string("\x80\x02\xff.", 4)), HasSubstr("opcode 0xff at byte 2"));
  EXPECT_THAT(error_of(std::string("\x80\x02X\xff\xff\xff\xff", 7)), HasSubstr("needs 4294967295 more bytes"));
  EXPECT_THAT(error_of(std::string("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff", 11)), HasSubstr("more bytes"));
  EXPECT_THAT(error_of(std::string("\x80\x02h\x05.", 5)), HasSubstr("memo entry 5, which was never stored"));
  EXPECT_THAT(error_of("a."), HasSubstr("pops an empty stack"));
  EXPECT_THAT(error_of("K\x01K\x02."), HasSubstr("stops with 2 objects on the stack"));
  EXPECT_THAT(error_of("(K\x01."), HasSubstr("stops inside a MARK"));
  EXPECT_THAT(error_of("e."), HasSubstr("no MARK"));
  EXPECT_THAT(error_of("K\x01K\x02" "a."), HasSubstr("appends to builtins.int"));
  EXPECT_THAT(error_of("}K\x01s."), HasSubstr("reads an empty stack"));
  EXPECT_THAT(error_of("K\x01K\x01R."), HasSubstr("not a tuple"));
  EXPECT_THAT(error_of("cos"), HasSubstr("no end of line"));
  EXPECT_THAT(error_of("I12x\n."), HasSubstr("not an integer"));
}

}  // namespace
}  // namespace apot::models::torch_file
