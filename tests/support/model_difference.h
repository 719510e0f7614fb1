// The first difference between two IntegerModels, field by field, for round-trip tests and the fuzzer:
// written apart from the file format's own field list, so a field the format forgets shows up here.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "deploy/format/integer_model.h"

namespace apot::deploy::test {

class ModelDiff {
 public:
  // "" when the models are identical, else e.g. "ops[3].codes[17]: 5 vs 6".
  static std::string between(const IntegerModel& a, const IntegerModel& b) {
    ModelDiff d;
    d.model(a, b);
    return d.first_;
  }

 private:
  template <class T>
  void same(const std::string& field, const T& a, const T& b) {
    if (first_.empty() && !(a == b)) first_ = fmt::format("{}: {} vs {}", field, a, b);
  }
  template <class T>
  void same(const std::string& field, const std::vector<T>& a, const std::vector<T>& b) {
    same(field + ".size()", a.size(), b.size());
    for (size_t i = 0; i < a.size() && first_.empty(); ++i) same(fmt::format("{}[{}]", field, i), a[i], b[i]);
  }
  void same(const std::string& field, const LevelSetSpec& a, const LevelSetSpec& b) {
    same(field + ".scheme", static_cast<int>(a.scheme), static_cast<int>(b.scheme));
    same(field + ".bits", a.bits, b.bits);
    same(field + ".k", a.k, b.k);
    same(field + ".is_signed", a.is_signed, b.is_signed);
  }

  void op(const std::string& p, const ActQuantOp& a, const ActQuantOp& b) {
    same(p + "input", a.input, b.input);
    same(p + "output", a.output, b.output);
    same(p + "thresholds", a.thresholds, b.thresholds);
    same(p + "values", a.values, b.values);
    same(p + "levels", a.levels, b.levels);
    same(p + "alpha", a.alpha, b.alpha);
  }
  void op(const std::string& p, const ConvOp& a, const ConvOp& b) {
    same(p + "input", a.input, b.input);
    same(p + "output", a.output, b.output);
    same(p + "residual", a.residual, b.residual);
    same(p + "in_channels", a.in_channels, b.in_channels);
    same(p + "out_channels", a.out_channels, b.out_channels);
    same(p + "kernel", a.kernel, b.kernel);
    same(p + "stride", a.stride, b.stride);
    same(p + "padding", a.padding, b.padding);
    same(p + "levels", a.levels, b.levels);
    same(p + "codes", a.codes, b.codes);
    same(p + "requant.multiplier", a.requant.multiplier, b.requant.multiplier);
    same(p + "requant.shift", a.requant.shift, b.requant.shift);
    same(p + "requant.bias", a.requant.bias, b.requant.bias);
    same(p + "relu", a.relu, b.relu);
    same(p + "name", a.name, b.name);
    same(p + "weight_alpha", a.weight_alpha, b.weight_alpha);
  }
  void op(const std::string& p, const MaxPoolOp& a, const MaxPoolOp& b) {
    same(p + "input", a.input, b.input);
    same(p + "output", a.output, b.output);
    same(p + "kernel", a.kernel, b.kernel);
    same(p + "stride", a.stride, b.stride);
    same(p + "padding", a.padding, b.padding);
  }
  void op(const std::string& p, const AvgPoolLinearOp& a, const AvgPoolLinearOp& b) {
    same(p + "input", a.input, b.input);
    same(p + "in_features", a.in_features, b.in_features);
    same(p + "out_features", a.out_features, b.out_features);
    same(p + "levels", a.levels, b.levels);
    same(p + "codes", a.codes, b.codes);
    same(p + "scale", a.scale, b.scale);
    same(p + "bias", a.bias, b.bias);
    same(p + "name", a.name, b.name);
  }

  void model(const IntegerModel& a, const IntegerModel& b) {
    same("arch", a.arch, b.arch);
    same("description", a.description, b.description);
    same("weight_bits", a.weight_bits, b.weight_bits);
    same("act_bits", a.act_bits, b.act_bits);
    same("reference_compat", a.reference_compat, b.reference_compat);
    same("in_channels", a.in_channels, b.in_channels);
    same("height", a.height, b.height);
    same("width", a.width, b.width);
    same("num_classes", a.num_classes, b.num_classes);
    same("frac_bits", a.frac_bits, b.frac_bits);
    same("input.scale", a.input.scale, b.input.scale);
    same("input.mean", a.input.mean, b.input.mean);
    same("input.std", a.input.std, b.input.std);
    same("buffer_count", a.buffer_count, b.buffer_count);
    same("ops.size()", a.ops.size(), b.ops.size());
    for (size_t i = 0; i < a.ops.size() && first_.empty(); ++i) {
      const std::string p = fmt::format("ops[{}].", i);
      same(p + "kind", a.ops[i].index(), b.ops[i].index());
      if (first_.empty()) {
        std::visit([&](const auto& x) { op(p, x, std::get<std::decay_t<decltype(x)>>(b.ops[i])); }, a.ops[i]);
      }
    }
  }

  std::string first_;
};

}  // namespace apot::deploy::test
