// QuantConfig: what checkpoints record of it reads back (records as checkpoints written by earlier builds
// hold them), the --quantizer names, and the refusals with the messages they give.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "qat/quant_config.h"

namespace apot::qat {
namespace {

using Record = std::map<std::string, std::string>;

// The record of `apot train --bits 3` with its defaults, as model.pt holds it.
Record default_record() {
  return {{"act_bits", "3"},  {"act_quantizer", "rcf"},    {"act_scheme", ""},         {"k", "2"},
          {"per_channel", "0"}, {"reference_compat", "0"}, {"scheme", "apot"},        {"weight_bits", "3"},
          {"weight_norm", "1"}, {"weight_quantizer", "rcf"}};
}

// Checkpoints written by `apot train` with each quantiser: the fields that differ from the default
// record, and what the network says it is (QuantConfig::describe, also in .apot files).
struct Written {
  Record changes;
  std::string description;
};

const Written kWritten[] = {
    {{}, "W3A3: weights apot rcf + WN, activations apot rcf"},
    {{{"act_quantizer", "pact"}}, "W3A3: weights apot rcf + WN, activations uniform pact"},
    {{{"weight_quantizer", "sawb"}}, "W3A3: weights uniform sawb + WN, activations apot rcf"},
    {{{"weight_quantizer", "sawb"}, {"act_quantizer", "pact"}}, "W3A3: weights uniform sawb + WN, activations uniform pact"},
    {{{"weight_quantizer", "dorefa"}, {"act_quantizer", "dorefa"}}, "W3A3: weights uniform dorefa + WN, activations uniform dorefa"},
    {{{"weight_quantizer", "lsq"}, {"act_quantizer", "lsq"}}, "W3A3: weights uniform lsq + WN, activations uniform lsq"},
    {{{"weight_quantizer", "max-abs"}}, "W3A3: weights apot max-abs + WN, activations apot rcf"},
    {{{"weight_quantizer", "max-abs"}, {"act_quantizer", "pact"}}, "W3A3: weights apot max-abs + WN, activations uniform pact"},
    {{{"weight_norm", "0"}}, "W3A3: weights apot rcf, activations apot rcf"},
    {{{"per_channel", "1"}}, "W3A3: weights apot rcf + WN per channel, activations apot rcf"},
    {{{"reference_compat", "1"}}, "W3A3: weights apot rcf + WN, activations apot rcf (reference-compatible)"},
    {{{"scheme", "lloyd"}}, "W3A3: weights lloyd rcf + WN, activations apot rcf"},
    {{{"scheme", "pot"}, {"act_scheme", "uniform"}}, "W3A3: weights pot rcf + WN, activations uniform rcf"},
    {{{"weight_bits", "2"}, {"act_bits", "2"}}, "W2A2: weights apot rcf + WN, activations apot rcf"},
};

TEST(QuantConfig, RecordsOfEveryQuantiserReadBackAndAreWrittenAgainAlike) {
  for (const Written& w : kWritten) {
    Record record = default_record();
    for (const auto& [field, value] : w.changes) record[field] = value;
    const QuantConfig c = QuantConfig::from_record(record, "model.pt");
    EXPECT_EQ(c.describe(), w.description);
    EXPECT_EQ(c.record(), record) << w.description;
  }
}

TEST(QuantConfig, UnknownRecordedQuantisersAreErrorsNamingTheField) {
  Record record = default_record();
  record["weight_quantizer"] = "pact";  // an activation quantiser
  try {
    QuantConfig::from_record(record, "'model.pt'");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'model.pt': recorded weight_quantizer 'pact' is invalid: unknown name");
  }
}

TEST(QuantConfig, QuantizerNamesSetTheQuantiserOfEachSide) {
  const std::pair<const char*, std::pair<const char*, const char*>> expected[] = {
      {"rcf", {"rcf", "rcf"}},    {"pact", {"rcf", "pact"}},        {"sawb", {"sawb", "rcf"}},
      {"pact-sawb", {"sawb", "pact"}}, {"dorefa", {"dorefa", "dorefa"}}, {"lsq", {"lsq", "lsq"}}};
  for (const auto& [name, sides] : expected) {
    QuantConfig c;
    apply_quantizer_name(name, &c);
    EXPECT_EQ(to_string(c.weight_quantizer), sides.first) << name;
    EXPECT_EQ(to_string(c.act_quantizer), sides.second) << name;
  }
}

// The message of the std::invalid_argument that fn throws.
template <typename Fn>
std::string refusal(Fn fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(QuantConfig, ImpossibleCombinationsAreErrorsNamingTheField) {
  QuantConfig c;
  EXPECT_EQ(refusal([&] { apply_quantizer_name("pactt", &c); }),
            "unknown quantizer 'pactt': expected rcf, pact, sawb, pact-sawb, dorefa or lsq");
  c.weight_bits = 9;
  EXPECT_EQ(refusal([&] { c.validate(); }), "weight bits = 9 is invalid: expected 2..8, or 32 for full precision");
  QuantConfig sawb;
  sawb.weight_bits = sawb.act_bits = 4;
  apply_quantizer_name("sawb", &sawb);
  QuantConfig r = sawb;
  r.reference_compat = true;
  EXPECT_EQ(refusal([&] { r.validate(); }), "reference-compatible mode reproduces the reference's APoT + RCF + WN only");
  QuantConfig pot = sawb;
  pot.scheme = Scheme::PoT;
  EXPECT_EQ(refusal([&] { pot.validate(); }), "weight quantizer sawb uses uniform levels: --scheme pot does not apply");
  QuantConfig lsq = sawb;
  apply_quantizer_name("lsq", &lsq);
  lsq.per_channel = true;
  EXPECT_EQ(refusal([&] { lsq.validate(); }), "per-channel alpha is implemented for the rcf and max-abs weight quantizers, not lsq");
}

}  // namespace
}  // namespace apot::qat
