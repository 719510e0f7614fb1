// Files written by PyTorch's own torch.save (make_torch_files.py beside this file, run by Debian's
// python3 with python3-torch), made once per test process in a temporary folder: every form the reader
// must take, files that are wrong on purpose, expected.json with what each holds, and the released
// reference checkpoints re-saved as a zip OrderedDict and a zip checkpoint dict.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace apot::test {

inline const std::string& torch_files_dir() {
  static const std::string dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "apot_torch_files_XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a temporary folder for the torch.save files");
    const std::string command = std::string("/usr/bin/python3 ") + APOT_SOURCE_DIR + "/tests/models/torch_file/make_torch_files.py " +
                                pattern + " " + APOT_TESTDATA_DIR + "/reference-trained";
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("'" + command + "' failed: the tests need Debian's python3-torch (scripts/install-deps.sh installs it)");
    }
    static const std::string* const to_remove = new std::string(pattern);  // outlives the statics atexit sees
    std::atexit([] { std::filesystem::remove_all(*to_remove); });
    return pattern;
  }();
  return dir;
}

inline std::string torch_file(const std::string& name) { return torch_files_dir() + "/" + name; }

}  // namespace apot::test
