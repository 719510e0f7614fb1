// Runs the built `apot` command for end-to-end tests.
#pragma once

#include <string>

namespace apot::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `apot <args>` through the shell; args are passed as written.
RunResult run_apot(const std::string& args);

}  // namespace apot::test
