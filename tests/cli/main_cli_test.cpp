// The `apot` command itself: --version, and a mistyped command named with the one it most likely meant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/run_apot.h"

namespace apot::test {
namespace {

using ::testing::HasSubstr;

TEST(MainCli, VersionAndUnknownCommands) {
  RunResult r = run_apot("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("apot 0."));
  r = run_apot("trian --epochs 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'trian': did you mean 'train'?"));
  r = run_apot("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate' (see apot --help)"));
  r = run_apot("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("A subcommand is required"));
}

}  // namespace
}  // namespace apot::test
