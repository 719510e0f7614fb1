// Drawing the study's figures with gnuplot (Debian's gnuplot-nox): scripts and their data files are
// written beside the PNGs so a figure can be redrawn or restyled by hand.
#pragma once

#include <string>

namespace apot::study {

// The PNG terminal this machine's gnuplot has: "pngcairo" where it was built with cairo (Debian's
// gnuplot-nox is), else "png". Throws std::runtime_error saying how to install gnuplot when there is
// none on PATH (or $APOT_GNUPLOT, when set, names no working program).
std::string gnuplot_png_terminal();

// Runs gnuplot on `script` (a file name inside `dir`) with `dir` as the working directory and the
// gnuplot variable `output` set to `output` (scripts draw into it, so the caller can draw into a
// temporary name and rename). Throws std::runtime_error naming the script and quoting gnuplot's
// messages when it fails.
void run_gnuplot(const std::string& dir, const std::string& script, const std::string& output);

// A string as a gnuplot double-quoted literal.
std::string gnuplot_quote(const std::string& text);

}  // namespace apot::study
