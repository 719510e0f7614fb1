// apot levels: prints a level set with each level's additive terms, code and integer form.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/levels.h"

namespace apot::cli {

namespace {

struct LevelsOptions {
  std::string scheme = "apot";
  int bits = 4;
  int k = 0;
  bool is_signed = false;
  bool json = false;
};

std::string power_text(int exponent) { return exponent == 0 ? "2^0" : fmt::format("2^-{}", exponent); }

std::string terms_text(const std::vector<int>& exponents) {
  if (exponents.empty()) return "0";
  std::string s;
  for (int e : exponents) s += (s.empty() ? "" : " + ") + power_text(e);
  return s;
}

std::string code_text(uint32_t code, int bits) {
  std::string s;
  for (int b = bits - 1; b >= 0; --b) s += ((code >> b) & 1u) ? '1' : '0';
  return s;
}

nlohmann::json to_json(const LevelSet& set) {
  nlohmann::json j;
  j["scheme"] = std::string(to_string(set.scheme()));
  j["bits"] = set.bits();
  j["signed"] = set.is_signed();
  j["k"] = set.base_bits();
  j["gamma"] = set.gamma();
  j["shift"] = set.has_integer_form() ? nlohmann::json(set.shift()) : nlohmann::json(nullptr);
  j["integer_bits"] = set.has_integer_form() ? nlohmann::json(set.integer_bits()) : nlohmann::json(nullptr);
  j["terms"] = nlohmann::json::array();
  for (const Term& t : set.terms()) j["terms"].push_back({{"bits", t.bits}, {"exponents", t.exponents}});
  j["levels"] = set.values();
  j["entries"] = nlohmann::json::array();
  for (const Level& l : set.levels()) {
    j["entries"].push_back({{"level", l.value},
                            {"code", l.code},
                            {"integer", set.has_integer_form() ? nlohmann::json(l.integer) : nlohmann::json(nullptr)},
                            {"exponents", l.exponents}});
  }
  return j;
}

void print_table(const LevelSet& set) {
  fmt::print("{}: {} levels, gamma = {:.10g}\n", set.describe(), set.levels().size(), set.gamma());
  for (size_t i = 0; i < set.terms().size(); ++i) {
    const Term& t = set.terms()[i];
    std::string powers = "0";
    for (int e : t.exponents) powers += ", " + power_text(e);
    fmt::print("  term p{} ({} bits) in {{{}}}\n", i, t.bits, powers);
  }
  if (set.has_integer_form()) {
    fmt::print("  integer form: level * 2^{} / gamma, {} bits\n", set.shift(), set.integer_bits());
  } else {
    fmt::print("  integer form: none ({})\n", set.scheme() == Scheme::Lloyd ? "not dyadic" : "over 63 bits");
  }
  fmt::print("\n{:>5}  {:>14}  {:>{}}  {:>9}  {}\n", "index", "level", "code", std::max(4, set.bits()), "integer",
             "terms (times gamma)");
  for (size_t i = 0; i < set.levels().size(); ++i) {
    const Level& l = set.levels()[i];
    const std::string integer = set.has_integer_form() ? std::to_string(l.integer) : "-";
    const std::string sign = l.value < 0 ? "-(" : "";
    fmt::print("{:>5}  {:>14.10f}  {:>{}}  {:>9}  {}{}{}\n", i, l.value, code_text(l.code, set.bits()),
               std::max(4, set.bits()), integer, sign, terms_text(l.exponents), l.value < 0 ? ")" : "");
  }
}

}  // namespace

void add_levels_command(CLI::App& app) {
  auto options = std::make_shared<LevelsOptions>();
  CLI::App* cmd = app.add_subcommand("levels", "Print a quantisation level set (paper Eq. 2, 3, 5, 6), alpha = 1");
  cmd->add_option("--scheme", options->scheme, "apot, pot or uniform")
      ->check(CLI::IsMember({"apot", "pot", "uniform"}))
      ->capture_default_str();
  cmd->add_option("--bits", options->bits, "total bit-width b, sign bit included (2..8)")
      ->check(CLI::Range(2, 8))
      ->capture_default_str();
  cmd->add_option("--k", options->k, "APoT base bit-width k (default: 2, or fewer when b allows no more)");
  cmd->add_flag("--signed", options->is_signed, "signed set: one sign bit, symmetric, zero once");
  cmd->add_flag("--json", options->json, "print JSON; its `levels` field is the ascending list of levels");
  cmd->callback([options] {
    const Scheme scheme = parse_scheme(options->scheme);
    if (options->k != 0 && scheme != Scheme::APoT) {
      throw std::invalid_argument("--k applies to --scheme apot only (uniform is k = 1, pot is k = b)");
    }
    const LevelSet set = LevelSet::make(scheme, options->bits, options->k, options->is_signed);
    if (options->json) {
      fmt::print("{}\n", to_json(set).dump(2));
    } else {
      print_table(set);
    }
  });
}

}  // namespace apot::cli
