#include "models/state_dict.h"

#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace apot::models {

namespace {

bool ends_with(const std::string& name, std::string_view suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_quantizer_state(const std::string& name) {
  for (const char* suffix : {"act_alpha", "wgt_alpha", "lloyd_levels", "act_range", "bias_list", "kernel_group", "group_scale"}) {
    if (ends_with(name, suffix)) return true;
  }
  return false;
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes().vec(), ", ")); }

// At most a few names, then a count: errors stay one readable line.
std::string some_of(const std::vector<std::string>& names) {
  constexpr size_t kShown = 5;
  std::vector<std::string> shown(names.begin(), names.begin() + static_cast<long>(std::min(names.size(), kShown)));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

}  // namespace

void print_notes(const std::vector<std::string>& notes) {
  for (const std::string& note : notes) fmt::print(stderr, "note: {}\n", note);
}

StateDict state_dict_of(const torch::nn::Module& module) {
  StateDict state;
  for (const auto& p : module.named_parameters()) state.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

std::vector<std::string> load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source,
                                         MissingEntries missing) {
  std::map<std::string, torch::Tensor> given;
  for (const auto& [name, tensor] : state) given[name] = tensor;

  std::vector<std::string> absent, allowed_absent;
  std::set<std::string> used;
  const StateDict targets = state_dict_of(module);
  for (const auto& [name, target] : targets) {
    auto it = given.find(name);
    if (it == given.end()) {
      (missing == MissingEntries::AllowQuantizerState && is_quantizer_state(name) ? allowed_absent : absent).push_back(name);
      continue;
    }
    used.insert(name);
    const torch::Tensor& value = it->second;
    if (value.sizes() != target.sizes()) {
      throw std::runtime_error(fmt::format("{}: entry '{}' has shape {}, the model expects {}", source, name,
                                           shape_of(value), shape_of(target)));
    }
    if (value.is_floating_point() && !torch::isfinite(value).all().item<bool>()) {
      throw std::runtime_error(fmt::format("{}: entry '{}' holds NaN or Inf", source, name));
    }
    // Batch norm divides by sqrt(running_var + eps): a negative variance is NaN in every layer after it.
    if (ends_with(name, "running_var") && (value < 0).any().item<bool>()) {
      throw std::runtime_error(fmt::format("{}: entry '{}' holds a negative variance ({})", source, name, value.min().item<double>()));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : state) {
    if (!used.count(name)) unexpected.push_back(name);
  }
  if (!absent.empty()) {
    throw std::runtime_error(fmt::format("{}: {} entries the model needs are missing: {} (is it the same --arch, --bits and quantizer?)",
                                         source, absent.size(), some_of(absent)));
  }
  if (!unexpected.empty()) {
    throw std::runtime_error(fmt::format("{}: {} entries the model does not have: {} (is it the same --arch, --bits and quantizer?)",
                                         source, unexpected.size(), some_of(unexpected)));
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    auto it = given.find(name);
    if (it != given.end()) target.copy_(it->second);
  }
  return allowed_absent;
}

}  // namespace apot::models
