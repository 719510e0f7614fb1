#include "cli/shared_flags.h"

#include <cctype>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "cli/model_options.h"
#include "deploy/kernels/kernel.h"

namespace apot::cli {

namespace {

// A check that accepts what `parse` accepts and answers with its message otherwise.
template <typename Parse>
CLI::Validator parses_as(Parse parse, const std::string& name) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
          return "";
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      name);
}

// "apot bench engine": the command line that reaches `command`.
std::string command_path(const CLI::App& command) {
  std::string path;
  for (const CLI::App* c = &command; c->get_parent() != nullptr; c = c->get_parent()) path = " " + c->get_name() + path;
  return "apot" + path;
}

// Leaves hidden positionals (deprecated aliases) out of the usage line, as CLI11 leaves hidden options
// out of the list.
class HiddenPositionalsFormatter : public CLI::Formatter {
 public:
  std::string make_option_usage(const CLI::Option* opt) const override {
    return opt->get_group().empty() ? "" : CLI::Formatter::make_option_usage(opt);
  }
};

std::string upper(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return text;
}

}  // namespace

CLI::Option* add_arch_flag(CLI::App& c, std::string& arch) {
  return c.add_option("--arch", arch, "resnet20|32|44|56|110 (CIFAR layout), resnet18|34|50 (torchvision layout), adder-resnet20|32|56 (AdderNet)")
      ->capture_default_str();
}

CLI::Option* add_model_file_flag(CLI::App& c, std::string& path) {
  return c.add_option("--model", path, "the .apot file apot export wrote")->type_name("FILE");
}

CLI::Option* add_input_file_flag(CLI::App& c, std::string& path) {
  return c.add_option("--input", path, "N x C x H x W float tensor saved by torch.save, normalised like the training images")
      ->type_name("FILE");
}

CLI::Option* add_logits_out_flag(CLI::App& c, std::string& path) {
  return c.add_option("--out", path, "where to write the N x classes logits of --input (torch.load opens it)")->type_name("FILE");
}

InputShape parse_input_shape(const std::string& text) {
  InputShape s;
  char x1 = 0, x2 = 0, rest = 0;
  const bool digits_only = !text.empty() && text.find_first_not_of("0123456789x") == std::string::npos;
  if (!digits_only || std::sscanf(text.c_str(), "%d%c%d%c%d%c", &s.channels, &x1, &s.h, &x2, &s.w, &rest) != 5 || x1 != 'x' ||
      x2 != 'x' || s.channels < 1 || s.h < 1 || s.w < 1) {
    throw std::invalid_argument(fmt::format("'{}': expected CxHxW, three whole numbers >= 1, e.g. 3x32x32", text));
  }
  return s;
}

CLI::Option* add_input_shape_flag(CLI::App& c, std::string& shape) {
  return c.add_option("--input-shape", shape, "input image shape CxHxW")
      ->capture_default_str()
      ->check(parses_as(parse_input_shape, "CxHxW"));
}

CLI::Option* add_test_limit_flag(CLI::App& c, size_t& limit) {
  return c.add_option("--test-limit", limit, "use only the first N test images (default: all)")->check(at_least_one());
}

CLI::Option* add_train_limit_flag(CLI::App& c, size_t& limit) {
  return c.add_option("--train-limit", limit, "use only the first N training images (default: all)")->check(at_least_one());
}

CLI::Option* add_threads_flag(CLI::App& c, int& threads) {
  return c.add_option("--threads", threads, "threads (default: all cores)");
}

CLI::Option* add_kernel_flag(CLI::App& c, std::string& kernel) {
  return c.add_option("--kernel", kernel,
                      "engine kernel: " + deploy::kernel_names() + " (shift-add: the reference, counts shifts and adds)")
      ->capture_default_str()
      ->check(parses_as([](const std::string& name) { deploy::parse_kernel(name); }, "KERNEL"));
}

CLI::Option* add_reps_flag(CLI::App& c, int& reps) {
  return c.add_option("--reps", reps, "timed repetitions of each measurement, after one warm-up")
      ->capture_default_str()
      ->check(at_least_one());
}

void deprecated_alias(CLI::App& c, const std::string& old_name, const std::string& new_name) {
  CLI::Option* target = c.get_option(new_name);
  const bool positional = old_name.rfind("-", 0) != 0;
  const std::string old_form = positional ? upper(old_name) : old_name;
  const std::string new_form = positional ? new_name + " " + upper(old_name) : new_name;
  const std::string note = fmt::format("note: {} {} is deprecated: use {}; the old form goes in the next release\n",
                                       command_path(c), old_form, new_form);
  // The alias is declared after its target, so CLI11 has run the target's own callback (when given)
  // before this one: its values arrive here, are checked, and are stored as the target's.
  CLI::Option* alias = c.add_option(
      old_name,
      [target, note, old_form, new_name](const CLI::results_t& values) {
        std::fputs(note.c_str(), stderr);
        if (target->count() > 0) {
          throw CLI::ValidationError(fmt::format("{} and {} are the same option ({} is its old spelling): give it once", new_name,
                                                 old_form, old_form));
        }
        for (const std::string& value : values) target->add_result(value);
        target->run_callback();
        return true;
      },
      "deprecated: use " + new_name);
  alias->type_size(target->get_type_size_min(), target->get_type_size_max())
      ->expected(target->get_expected_min(), target->get_expected_max())
      ->group("");  // hidden from --help
  if (positional) c.formatter(std::make_shared<HiddenPositionalsFormatter>());
}

}  // namespace apot::cli
