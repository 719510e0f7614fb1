#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_apot.h"

namespace apot::test {
namespace {

TEST(LevelsCli, JsonLevelsAreTheAscendingSet) {
  const auto j = run_apot_json("levels --scheme apot --bits 4 --k 2");
  const auto levels = j["levels"].get<std::vector<double>>();
  ASSERT_EQ(levels.size(), 16u);
  EXPECT_TRUE(std::is_sorted(levels.begin(), levels.end()));
  EXPECT_EQ(levels.front(), 0.0);
  EXPECT_EQ(levels.back(), 1.0);
  EXPECT_DOUBLE_EQ(levels[1], std::ldexp(1.0, -4) / 3);
  EXPECT_DOUBLE_EQ(j["gamma"].get<double>(), 2.0 / 3.0);
  EXPECT_EQ(j["shift"], 5);
  EXPECT_EQ(j["entries"].size(), 16u);
  EXPECT_EQ(j["terms"][0]["exponents"], nlohmann::json::array({0, 2, 4}));
}

TEST(LevelsCli, SignedUniformAndPot) {
  EXPECT_EQ(run_apot_json("levels --scheme apot --bits 4 --signed")["levels"].size(), 15u);
  const auto uniform = run_apot_json("levels --scheme uniform --bits 3")["levels"].get<std::vector<double>>();
  for (size_t j = 0; j < uniform.size(); ++j) EXPECT_DOUBLE_EQ(uniform[j], j / 7.0);
  const auto pot = run_apot_json("levels --scheme pot --bits 3")["levels"].get<std::vector<double>>();
  EXPECT_EQ(pot, (std::vector<double>{0, 1.0 / 64, 1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1}));
  EXPECT_TRUE(run_apot_json("levels --scheme pot --bits 8 --signed")["shift"].is_null());  // no 63-bit integer form
}

TEST(LevelsCli, TableIsReadable) {
  const RunResult r = run_apot("levels --scheme apot --bits 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("16 levels"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("term p1 (2 bits) in {0, 2^-1, 2^-3, 2^-5}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2^0 + 2^-1"), std::string::npos) << r.out;  // the largest level
}

TEST(LevelsCli, BadArgumentsGiveOneClearLine) {
  struct Case {
    std::string args, expected;
  };
  for (const Case& c : {Case{"--bits 9", "--bits"}, Case{"--bits 4 --k 5", "k = 5"},
                        Case{"--scheme foo", "--scheme"}, Case{"--scheme pot --k 2", "--k applies"},
                        Case{"--bits 2 --signed --k 2", "k = 2"}, Case{"--bits four", "--bits"}}) {
    const RunResult r = run_apot("levels " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_EQ(r.err.rfind("apot: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace apot::test
