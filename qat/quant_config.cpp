#include "qat/quant_config.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace apot::qat {

namespace {

void check_bits(const char* field, int bits) {
  if (bits != 32 && (bits < 2 || bits > 8)) {
    throw std::invalid_argument(fmt::format("{} = {} is invalid: expected 2..8, or 32 for full precision", field, bits));
  }
}

// The entry of `table` (quantiser rows or --quantizer names) called `name`, or nullptr.
template <typename Entry, size_t N>
const Entry* find_named(const Entry (&table)[N], std::string_view name) {
  for (const Entry& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// The names of the entries of `table` that `keep` keeps, for messages: "a, b or c".
template <typename Entry, size_t N, typename Keep>
std::string name_list(const Entry (&table)[N], const char* last_separator, Keep keep) {
  std::vector<std::string_view> names;
  for (const Entry& e : table) {
    if (keep(e)) names.push_back(e.name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_separator : ", ";
    out += names[i];
  }
  return out;
}

// Per-channel thresholds: one learned parameter per output channel. max |W| takes the switch and keeps
// one threshold per tensor.
bool accepts_per_channel(const Pieces& p) { return p.threshold == Threshold::Learned || p.threshold == Threshold::MaxAbs; }

// The bits of a level's magnitude: a signed level spends one on its sign.
int magnitude_bits(int bits, Sign sign) { return sign == Sign::Signed ? bits - 1 : bits; }

// k is capped at the magnitude bits; Lloyd levels start uniform, until they are fitted to the weights.
LevelSet level_set(Scheme scheme, int bits, int k, Sign sign) {
  const bool is_signed = sign == Sign::Signed;
  if (scheme == Scheme::Lloyd) return LevelSet::uniform(bits, is_signed);
  return LevelSet::make(scheme, bits, std::min(k, magnitude_bits(bits, sign)), is_signed);
}

}  // namespace

void apply_quantizer_name(std::string_view name, QuantConfig* config) {
  const QuantizerName* named = find_named(kQuantizerNames, name);
  if (!named) {
    throw std::invalid_argument(fmt::format("unknown quantizer '{}': expected {}", name,
                                            name_list(kQuantizerNames, " or ", [](const auto&) { return true; })));
  }
  config->weight_quantizer = named->weights;
  config->act_quantizer = named->activations;
}

void QuantConfig::validate() const {
  check_bits("weight bits", weight_bits);
  check_bits("activation bits", act_bits);
  check_bits("edge-layer bits", edge_bits);
  if (edge_bits == 32) throw std::invalid_argument("edge-layer bits = 32: the first and last layers quantise to 2..8 bits");
  if (weight_pieces().levels == Levels::Uniform && scheme != Scheme::Uniform && scheme != Scheme::APoT) {
    // APoT is the default scheme; the baselines bring their own uniform levels.
    throw std::invalid_argument(fmt::format("weight quantizer {} uses uniform levels: --scheme {} does not apply",
                                            to_string(weight_quantizer), apot::to_string(scheme)));
  }
  if (per_channel && !accepts_per_channel(weight_pieces())) {
    throw std::invalid_argument(fmt::format(
        "per-channel alpha is implemented for the {} weight quantizers, not {}",
        name_list(kWeightQuantizers, " and ", [](const auto& r) { return accepts_per_channel(r.pieces); }), to_string(weight_quantizer)));
  }
  if (reference_compat && (weight_quantizer != WeightQuantizer::Rcf || act_quantizer != ActQuantizer::Rcf ||
                           scheme != Scheme::APoT || !weight_norm || per_channel)) {
    throw std::invalid_argument("reference-compatible mode reproduces the reference's APoT + RCF + WN only");
  }
  if (act_scheme_override == Scheme::Lloyd) throw std::invalid_argument("activation scheme lloyd: Lloyd levels are fitted to weights only");
  if (k < 1) throw std::invalid_argument(fmt::format("k = {}: APoT's base bit-width is 1 or more (1 is uniform)", k));
  const int apot_bits = apot_magnitude_bits();
  if (apot_bits > 0 && k > apot_bits) {
    throw std::invalid_argument(fmt::format("k = {}: these APoT levels have at most {} magnitude bits to split into terms (k = {} is "
                                            "PoT; 2-bit weights are ternary whatever k)", k, apot_bits, apot_bits));
  }
  if (!(weight_alpha_init > 0) || !(act_alpha_init > 0)) {
    throw std::invalid_argument("initial clipping thresholds must be > 0");
  }
}

int QuantConfig::apot_magnitude_bits() const {
  int bits = 0;
  if (quantizes_weights() && weight_scheme() == Scheme::APoT) bits = magnitude_bits(weight_bits, weight_pieces().sign);
  if (quantizes_acts() && act_scheme() == Scheme::APoT) bits = std::max(bits, magnitude_bits(act_bits, act_pieces().sign));
  return bits;
}

Pieces QuantConfig::weight_pieces() const {
  Pieces p = row(weight_quantizer).pieces;
  if (!weight_norm && p.normalization == Normalization::WeightNorm) p.normalization = Normalization::None;
  return p;
}

Pieces QuantConfig::act_pieces() const { return row(act_quantizer).pieces; }

Scheme QuantConfig::weight_scheme() const { return weight_pieces().levels == Levels::Scheme ? scheme : Scheme::Uniform; }

Scheme QuantConfig::act_scheme() const {
  if (act_pieces().levels == Levels::Uniform) return Scheme::Uniform;
  if (act_scheme_override) return *act_scheme_override;
  return scheme == Scheme::Lloyd ? Scheme::APoT : scheme;
}

LevelSet QuantConfig::weight_levels() const { return level_set(weight_scheme(), weight_bits, k, weight_pieces().sign); }

LevelSet QuantConfig::act_levels() const { return level_set(act_scheme(), act_bits, k, act_pieces().sign); }

QuantConfig QuantConfig::edge_config() const {
  QuantConfig edge = *this;
  edge.weight_bits = edge_bits;
  edge.act_bits = 32;
  edge.scheme = Scheme::Uniform;
  edge.weight_quantizer = WeightQuantizer::MaxAbs;
  edge.weight_norm = false;
  edge.per_channel = false;
  return edge;
}

std::string QuantConfig::describe() const {
  if (!quantizes_weights() && !quantizes_acts()) return "full precision";
  return fmt::format("W{}A{}: weights {} {}{}{}, activations {} {}{}", weight_bits, act_bits,
                     apot::to_string(weight_scheme()), to_string(weight_quantizer), weight_norm ? " + WN" : "",
                     per_channel ? " per channel" : "", apot::to_string(act_scheme()), to_string(act_quantizer),
                     reference_compat ? " (reference-compatible)" : "");
}

std::map<std::string, std::string> QuantConfig::record() const {
  return {{"weight_bits", std::to_string(weight_bits)},
          {"act_bits", std::to_string(act_bits)},
          {"scheme", std::string(apot::to_string(scheme))},
          {"act_scheme", act_scheme_override ? std::string(apot::to_string(*act_scheme_override)) : ""},
          {"k", std::to_string(k)},
          {"weight_quantizer", std::string(to_string(weight_quantizer))},
          {"act_quantizer", std::string(to_string(act_quantizer))},
          {"weight_norm", weight_norm ? "1" : "0"},
          {"per_channel", per_channel ? "1" : "0"},
          {"reference_compat", reference_compat ? "1" : "0"}};
}

namespace {

// One recorded field, parsed by `parse`; errors name the source and the field.
template <typename Parse>
auto field(const std::map<std::string, std::string>& record, const std::string& name, const std::string& source, Parse parse) {
  const auto it = record.find(name);
  if (it == record.end()) throw std::invalid_argument(fmt::format("{}: the recorded quantisation has no '{}'", source, name));
  try {
    return parse(it->second);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("{}: recorded {} '{}' is invalid: {}", source, name, it->second, e.what()));
  }
}

int parse_int(const std::string& s) {
  size_t used = 0;
  const int v = std::stoi(s, &used);
  if (used != s.size()) throw std::invalid_argument("not an integer");
  return v;
}

bool parse_bool(const std::string& s) {
  if (s != "0" && s != "1") throw std::invalid_argument("expected 0 or 1");
  return s == "1";
}

// The Id of the row of `table` named s.
template <typename Row, size_t N>
auto parse_named(const std::string& s, const Row (&table)[N]) {
  const Row* r = find_named(table, s);
  if (!r) throw std::invalid_argument("unknown name");
  return r->id;
}

}  // namespace

QuantConfig QuantConfig::from_record(const std::map<std::string, std::string>& r, const std::string& source) {
  QuantConfig c;
  c.weight_bits = field(r, "weight_bits", source, parse_int);
  c.act_bits = field(r, "act_bits", source, parse_int);
  c.scheme = field(r, "scheme", source, [](const std::string& s) { return parse_scheme(s); });
  const std::string act_scheme = field(r, "act_scheme", source, [](const std::string& s) { return s; });
  if (!act_scheme.empty()) c.act_scheme_override = field(r, "act_scheme", source, [](const std::string& s) { return parse_scheme(s); });
  c.k = field(r, "k", source, parse_int);
  c.weight_quantizer = field(r, "weight_quantizer", source, [](const std::string& s) { return parse_named(s, kWeightQuantizers); });
  c.act_quantizer = field(r, "act_quantizer", source, [](const std::string& s) { return parse_named(s, kActQuantizers); });
  c.weight_norm = field(r, "weight_norm", source, parse_bool);
  c.per_channel = field(r, "per_channel", source, parse_bool);
  c.reference_compat = field(r, "reference_compat", source, parse_bool);
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: the recorded quantisation is invalid: {}", source, e.what()));
  }
  return c;
}

std::vector<std::array<std::string, 3>> QuantConfig::differences(const QuantConfig& other) const {
  const auto mine = record(), theirs = other.record();
  std::vector<std::array<std::string, 3>> out;
  for (const auto& [name, value] : mine) {
    const std::string& that = theirs.at(name);
    if (value != that) out.push_back({name, value.empty() ? "(none)" : value, that.empty() ? "(none)" : that});
  }
  return out;
}

}  // namespace apot::qat
