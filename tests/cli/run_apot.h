// Runs the built `apot` command for end-to-end tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace apot::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `apot <args>` through the shell; args are passed as written, `env` ("NAME=value ...") is set for
// this run only.
RunResult run_apot(const std::string& args, const std::string& env = "");

// Runs `apot <args> --json`, expects success and parses standard output.
nlohmann::json run_apot_json(const std::string& args);

}  // namespace apot::test
