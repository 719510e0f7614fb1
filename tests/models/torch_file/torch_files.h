// Files written by PyTorch's own torch.save (make_torch_files.py beside this file, run by Debian's
// python3 with python3-torch when the tests are built; tests/CMakeLists.txt): every form the reader must
// take, files that are wrong on purpose, expected.json with what each holds, and the released reference
// checkpoints re-saved as a zip OrderedDict and a zip checkpoint dict. Read only: tests write elsewhere.
#pragma once

#include <string>

namespace apot::test {

inline std::string torch_files_dir() { return APOT_TORCH_FILES_DIR; }

inline std::string torch_file(const std::string& name) { return torch_files_dir() + "/" + name; }

}  // namespace apot::test
