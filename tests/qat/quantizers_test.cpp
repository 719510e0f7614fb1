// The table of quantisers (qat/quantizers.inc): the enums index their rows, and every name is unique.
#include <gtest/gtest.h>

#include <set>

#include "qat/quantizers.h"

namespace apot::qat {
namespace {

template <typename Row, size_t N>
void expect_rows_indexed_by_their_ids(const Row (&rows)[N]) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < N; ++i) {
    EXPECT_EQ(static_cast<size_t>(rows[i].id), i) << rows[i].name;
    EXPECT_EQ(&row(rows[i].id), &rows[i]) << rows[i].name;
    EXPECT_EQ(to_string(rows[i].id), rows[i].name);
    EXPECT_TRUE(names.insert(rows[i].name).second) << "two rows named " << rows[i].name;
    EXPECT_FALSE(rows[i].description.empty()) << rows[i].name;
  }
}

TEST(Quantizers, EachSidesRowsAreIndexedByTheirIdsAndNamedOnce) {
  expect_rows_indexed_by_their_ids(kWeightQuantizers);
  expect_rows_indexed_by_their_ids(kActQuantizers);
  std::set<std::string_view> names;
  for (const QuantizerName& n : kQuantizerNames) EXPECT_TRUE(names.insert(n.name).second) << n.name;
}

}  // namespace
}  // namespace apot::qat
