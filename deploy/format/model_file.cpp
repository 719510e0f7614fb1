#include "deploy/format/model_file.h"

#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "deploy/format/bit_pack.h"
#include "deploy/format/byte_io.h"
#include "deploy/format/crc32.h"
#include "deploy/format/validate.h"

namespace apot::deploy {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// PNG's idea: a name, then CR LF, ^Z, LF, which text-mode transfers mangle and `type` stops at.
constexpr std::string_view kMagic{"APOT\r\n\x1a\n", 8};
// magic (8), version u32, payload CRC-32 u32, payload length u64: the payload starts 8-aligned.
constexpr size_t kHeaderSize = 24;

// Op tags and names on disk, fixed here rather than taken from the variant's order.
template <class T> struct OpTraits;
template <> struct OpTraits<ActQuantOp> {
  static constexpr uint8_t tag = 1;
  static constexpr const char* name = "act_quant";
};
template <> struct OpTraits<ConvOp> {
  static constexpr uint8_t tag = 2;
  static constexpr const char* name = "conv";
};
template <> struct OpTraits<MaxPoolOp> {
  static constexpr uint8_t tag = 3;
  static constexpr const char* name = "max_pool";
};
template <> struct OpTraits<AvgPoolLinearOp> {
  static constexpr uint8_t tag = 4;
  static constexpr const char* name = "avg_pool_linear";
};

// Level set schemes on disk. Lloyd sets have no integer form and never reach a file.
constexpr std::array<std::pair<Scheme, uint8_t>, 3> kSchemeCodes{
    {{Scheme::Uniform, 0}, {Scheme::PoT, 1}, {Scheme::APoT, 2}}};

// Writes fields in the types docs/model-format.md gives them: int -> i32, bool -> u8, double -> f64,
// string and vector -> u32 count then the elements, LevelSetSpec -> 4 x u8, codes -> u32 count then
// the codes packed at the level set's bit-width.
class FieldWriter {
 public:
  explicit FieldWriter(ByteWriter& out) : out_(out) {}

  void field(const char*, int value) { out_.put<int32_t>(value); }
  void field(const char*, bool value) { out_.put<uint8_t>(value ? 1 : 0); }
  void field(const char*, double value) { out_.put(value); }
  void field(const char* name, const std::string& text) { out_.put_string(text, name); }
  template <class T>
  void field(const char* name, const std::vector<T>& values) { out_.put_array(values, name); }
  void field(const char*, const LevelSetSpec& levels) {
    const auto it = std::find_if(kSchemeCodes.begin(), kSchemeCodes.end(),
                                 [&](const auto& entry) { return entry.first == levels.scheme; });
    out_.put<uint8_t>(it->second);  // validate() admits only these schemes
    out_.put<uint8_t>(static_cast<uint8_t>(levels.bits));
    out_.put<uint8_t>(static_cast<uint8_t>(levels.k));
    field("levels.signed", levels.is_signed);
  }
  void codes(const char* name, const std::vector<WeightCode>& codes, const LevelSetSpec& levels) {
    out_.put_count(codes.size(), name);
    const std::vector<uint8_t> packed = pack_bits(codes, levels.bits);
    out_.put_bytes({reinterpret_cast<const char*>(packed.data()), packed.size()});
  }

 private:
  ByteWriter& out_;
};

// The inverse of FieldWriter; every read is bounded by the bytes that remain.
class FieldReader {
 public:
  explicit FieldReader(ByteReader& in) : in_(in) {}

  void field(const char* name, int& value) { value = in_.get<int32_t>(name); }
  void field(const char* name, bool& value) {
    const uint8_t byte = in_.get<uint8_t>(name);
    if (byte > 1) in_.fail(fmt::format("{} = {}, expected 0 or 1", name, byte));
    value = byte == 1;
  }
  void field(const char* name, double& value) { value = in_.get<double>(name); }
  void field(const char* name, std::string& text) { text = in_.get_string(name); }
  template <class T>
  void field(const char* name, std::vector<T>& values) { values = in_.get_array<T>(name); }
  void field(const char*, LevelSetSpec& levels) {
    const uint8_t scheme = in_.get<uint8_t>("levels.scheme");
    const auto it = std::find_if(kSchemeCodes.begin(), kSchemeCodes.end(),
                                 [&](const auto& entry) { return entry.second == scheme; });
    if (it == kSchemeCodes.end()) {
      in_.fail(fmt::format("levels.scheme = {}, expected 0 (uniform), 1 (pot) or 2 (apot)", scheme));
    }
    levels.scheme = it->first;
    levels.bits = in_.get<uint8_t>("levels.bits");
    // Checked here already: the packed codes that follow are read at this width.
    if (levels.bits < 2 || levels.bits > LevelSet::kMaxUniformBits) {
      in_.fail(fmt::format("levels.bits = {}, expected 2..{}", levels.bits, LevelSet::kMaxUniformBits));
    }
    levels.k = in_.get<uint8_t>("levels.k");
    field("levels.signed", levels.is_signed);
  }
  void codes(const char* name, std::vector<WeightCode>& codes, const LevelSetSpec& levels) {
    const size_t count = in_.get<uint32_t>(name);
    // The packed bytes are taken before the codes are allocated: at most 4 codes per byte present.
    const std::string_view packed = in_.get_bytes(packed_size(count, levels.bits), name);
    codes.resize(count);
    unpack_bits(reinterpret_cast<const uint8_t*>(packed.data()), count, levels.bits, codes.data());
  }

 private:
  ByteReader& in_;
};

// Each op's fields in file order, once for both directions: Io is FieldWriter (Op const) or FieldReader.
template <class Io, class Op>
void op_fields(Io& io, Op& op) {
  using T = std::remove_const_t<Op>;
  if constexpr (std::is_same_v<T, ActQuantOp>) {
    io.field("input", op.input);
    io.field("output", op.output);
    io.field("levels", op.levels);
    io.field("alpha", op.alpha);
    io.field("values", op.values);
    io.field("thresholds", op.thresholds);
  } else if constexpr (std::is_same_v<T, ConvOp>) {
    io.field("name", op.name);
    io.field("input", op.input);
    io.field("output", op.output);
    io.field("residual", op.residual);
    io.field("in_channels", op.in_channels);
    io.field("out_channels", op.out_channels);
    io.field("kernel", op.kernel);
    io.field("stride", op.stride);
    io.field("padding", op.padding);
    io.field("relu", op.relu);
    io.field("levels", op.levels);
    io.codes("codes", op.codes, op.levels);
    io.field("requant.multiplier", op.requant.multiplier);
    io.field("requant.shift", op.requant.shift);
    io.field("requant.bias", op.requant.bias);
    io.field("weight_alpha", op.weight_alpha);
  } else if constexpr (std::is_same_v<T, MaxPoolOp>) {
    io.field("input", op.input);
    io.field("output", op.output);
    io.field("kernel", op.kernel);
    io.field("stride", op.stride);
    io.field("padding", op.padding);
  } else {
    static_assert(std::is_same_v<T, AvgPoolLinearOp>);
    io.field("name", op.name);
    io.field("input", op.input);
    io.field("in_features", op.in_features);
    io.field("out_features", op.out_features);
    io.field("levels", op.levels);
    io.codes("codes", op.codes, op.levels);
    io.field("scale", op.scale);
    io.field("bias", op.bias);
  }
}

// Reads an op of type T into the model, naming it in errors.
template <class T>
void read_op(ByteReader& in, size_t index, IntegerModel& model) {
  in.set_context(fmt::format("op {} ({})", index, OpTraits<T>::name));
  FieldReader io(in);
  T op;
  op_fields(io, op);
  model.ops.push_back(std::move(op));
}

// The op type whose tag this is, over every alternative of Op; false for an unknown tag.
template <size_t... I>
bool read_tagged_op(uint8_t tag, ByteReader& in, size_t index, IntegerModel& model, std::index_sequence<I...>) {
  return ((tag == OpTraits<std::variant_alternative_t<I, Op>>::tag &&
           (read_op<std::variant_alternative_t<I, Op>>(in, index, model), true)) ||
          ...);
}

// For people reading the metadata: each conv's name and learned clipping thresholds, of its input (the
// act_quant op that feeds it) and of its weights (their range when per channel). Derived from the ops on
// save and not read back; the ops hold the exact values.
ordered_json layer_summary(const IntegerModel& model) {
  std::map<int, double> act_alpha;  // by the codes buffer an act_quant op writes
  ordered_json layers = ordered_json::array();
  for (const Op& op : model.ops) {
    if (const auto* act = std::get_if<ActQuantOp>(&op)) act_alpha[act->output] = act->alpha;
    const auto* conv = std::get_if<ConvOp>(&op);
    if (!conv) continue;
    ordered_json layer = {{"name", conv->name}};
    if (const auto it = act_alpha.find(conv->input); it != act_alpha.end()) layer["act_alpha"] = it->second;
    const std::vector<double>& alpha = conv->weight_alpha;
    if (alpha.size() == 1) layer["weight_alpha"] = alpha[0];
    if (alpha.size() > 1) {
      const auto [lo, hi] = std::minmax_element(alpha.begin(), alpha.end());
      layer["weight_alpha_range"] = {*lo, *hi};
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::string metadata_text(const IntegerModel& model) {
  // JSON strings are UTF-8: refuse what would not read back as written (op names, in the binary part,
  // are exact anyway and only summarised here).
  for (const auto& [field, text] : {std::pair{"arch", &model.arch}, std::pair{"description", &model.description}}) {
    try {
      (void)json(*text).dump();
    } catch (const json::type_error&) {
      throw std::invalid_argument(fmt::format("model: {} is not valid UTF-8 text", field));
    }
  }
  const ordered_json metadata = {
      {"arch", model.arch},
      {"description", model.description},
      {"weight_bits", model.weight_bits},
      {"act_bits", model.act_bits},
      {"reference_compat", model.reference_compat},
      {"input",
       {{"channels", model.in_channels},
        {"height", model.height},
        {"width", model.width},
        {"scale", model.input.scale},
        {"mean", model.input.mean},
        {"std", model.input.std}}},
      {"num_classes", model.num_classes},
      {"frac_bits", model.frac_bits},
      {"buffer_count", model.buffer_count},
      {"layers", layer_summary(model)},
  };
  return metadata.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Typed access to one JSON object of the metadata; a missing key or a wrong type is an error naming it.
class JsonFields {
 public:
  JsonFields(const json& object, std::string path, const ByteReader& in)
      : object_(object), path_(std::move(path)), in_(in) {
    if (!object_.is_object()) {
      in_.fail(fmt::format("metadata {}: expected a JSON object, found {}",
                           path_.empty() ? "top level" : "field '" + path_ + "'", object_.type_name()));
    }
  }

  int integer(const char* key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) {
      fail(key, fmt::format("expected an integer, found {}", v.is_number() ? v.dump() : v.type_name()));
    }
    // Unsigned JSON integers above INT64_MAX would wrap in get<int64_t>().
    if (v.is_number_unsigned() ? v.get<uint64_t>() > INT_MAX : (v.get<int64_t>() < INT_MIN || v.get<int64_t>() > INT_MAX)) {
      fail(key, fmt::format("{} does not fit in 32 bits", v.dump()));
    }
    return static_cast<int>(v.get<int64_t>());
  }
  double number(const char* key) const { return as_number(key, at(key)); }
  bool boolean(const char* key) const {
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, fmt::format("expected true or false, found {}", v.type_name()));
    return v.get<bool>();
  }
  std::string text(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(key, fmt::format("expected a string, found {}", v.type_name()));
    return v.get<std::string>();
  }
  std::vector<double> numbers(const char* key) const {
    const json& v = at(key);
    if (!v.is_array()) fail(key, fmt::format("expected an array of numbers, found {}", v.type_name()));
    std::vector<double> values;
    for (const json& element : v) values.push_back(as_number(key, element));
    return values;
  }
  JsonFields object(const char* key) const { return JsonFields(at(key), name(key), in_); }

 private:
  std::string name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  [[noreturn]] void fail(const char* key, const std::string& message) const {
    in_.fail(fmt::format("metadata field '{}': {}", name(key), message));
  }
  const json& at(const char* key) const {
    const auto it = object_.find(key);
    if (it == object_.end()) fail(key, "missing");
    return *it;
  }
  double as_number(const char* key, const json& v) const {
    if (!v.is_number()) fail(key, fmt::format("expected a number, found {}", v.type_name()));
    return v.get<double>();
  }

  const json& object_;
  std::string path_;
  const ByteReader& in_;
};

void read_metadata(ByteReader& in, IntegerModel& model) {
  const std::string text = in.get_string("metadata");
  json metadata;
  try {
    metadata = json::parse(text);
  } catch (const json::exception& e) {
    in.fail(fmt::format("the metadata is not valid JSON: {}", e.what()));
  }
  const JsonFields top(metadata, "", in);
  model.arch = top.text("arch");
  model.description = top.text("description");
  model.weight_bits = top.integer("weight_bits");
  model.act_bits = top.integer("act_bits");
  model.reference_compat = top.boolean("reference_compat");
  const JsonFields input = top.object("input");
  model.in_channels = input.integer("channels");
  model.height = input.integer("height");
  model.width = input.integer("width");
  model.input.scale = input.number("scale");
  model.input.mean = input.numbers("mean");
  model.input.std = input.numbers("std");
  model.num_classes = top.integer("num_classes");
  model.frac_bits = top.integer("frac_bits");
  model.buffer_count = top.integer("buffer_count");
}

void read_ops(ByteReader& in, IntegerModel& model) {
  const size_t count = in.get_count("the op count", 1);  // every op takes at least its tag byte
  for (size_t i = 0; i < count; ++i) {
    in.set_context(fmt::format("op {}", i));
    const uint8_t tag = in.get<uint8_t>("tag");
    if (!read_tagged_op(tag, in, i, model, std::make_index_sequence<std::variant_size_v<Op>>())) {
      in.fail(fmt::format("unknown op tag {}, expected 1..{}", tag, std::variant_size_v<Op>));
    }
  }
  in.set_context("");
}

[[noreturn]] void fail(const std::string& source, const std::string& message) {
  throw std::invalid_argument(source + ": " + message);
}

}  // namespace

std::string serialize(const IntegerModel& model) {
  validate(model);
  ByteWriter payload;
  payload.put_string(metadata_text(model), "metadata");
  payload.put_count(model.ops.size(), "ops");
  FieldWriter io(payload);
  for (const Op& op : model.ops) {
    std::visit(
        [&](const auto& o) {
          payload.put<uint8_t>(OpTraits<std::decay_t<decltype(o)>>::tag);
          op_fields(io, o);
        },
        op);
  }
  ByteWriter file;
  file.put_bytes(kMagic);
  file.put<uint32_t>(kModelFormatVersion);
  file.put<uint32_t>(crc32(payload.bytes()));
  file.put<uint64_t>(payload.size());
  file.put_bytes(payload.bytes());
  return std::move(file.bytes());
}

IntegerModel deserialize(std::string_view bytes, const std::string& source) {
  // A foreign file is named as such even when it is shorter than the header.
  if (bytes.substr(0, kMagic.size()) != kMagic.substr(0, std::min(bytes.size(), kMagic.size()))) {
    fail(source, "not an apot model file (it does not start with the magic bytes \"APOT\\r\\n\\x1a\\n\")");
  }
  if (bytes.size() < kHeaderSize) {
    fail(source, fmt::format("file too short: {} bytes, expected at least the {}-byte header", bytes.size(), kHeaderSize));
  }
  ByteReader header(bytes.substr(kMagic.size(), kHeaderSize - kMagic.size()), kMagic.size(), source);
  const uint32_t version = header.get<uint32_t>("the format version");
  const uint32_t checksum = header.get<uint32_t>("the checksum");
  const uint64_t length = header.get<uint64_t>("the payload length");
  if (version != kModelFormatVersion) {
    fail(source, fmt::format("unsupported format version {}: this build reads version {}", version, kModelFormatVersion));
  }
  const std::string_view payload = bytes.substr(kHeaderSize);
  if (length > payload.size()) {
    fail(source, fmt::format("truncated: the header gives a payload of {} bytes, the file holds {}", length, payload.size()));
  }
  if (length < payload.size()) {
    fail(source, fmt::format("{} trailing bytes after the {}-byte payload", payload.size() - length, length));
  }
  const uint32_t computed = crc32(payload);
  if (computed != checksum) {
    fail(source, fmt::format("corrupted: the payload's CRC-32 is {:#010x}, the header says {:#010x}", computed, checksum));
  }

  ByteReader in(payload, kHeaderSize, source);
  IntegerModel model;
  read_metadata(in, model);
  read_ops(in, model);
  if (in.remaining() != 0) {
    in.fail(fmt::format("{} unexpected bytes after the last op, at byte {}", in.remaining(), in.file_offset()));
  }
  try {
    validate(model);
  } catch (const std::invalid_argument& e) {
    fail(source, e.what());
  }
  return model;
}

void save_model(const IntegerModel& model, const std::string& path) {
  std::string bytes;
  try {
    bytes = serialize(model);
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
  write_file_atomically(path, bytes);
}

IntegerModel load_model(const std::string& path) { return deserialize(read_file(path), path); }

}  // namespace apot::deploy
