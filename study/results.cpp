#include "study/results.h"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "train/metrics.h"

namespace apot::study {

namespace fs = std::filesystem;

namespace {

template <typename T>
T field(const nlohmann::json& j, const char* name, const std::string& source) {
  if (!j.contains(name)) throw std::runtime_error(fmt::format("{}: no field '{}'", source, name));
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: field '{}': {}", source, name, e.what()));
  }
}

// The first key (depth first) whose values differ, as "key: a vs b"; empty when equal.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : b.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!a.contains(key)) return fmt::format("{} is new ({})", path, value.dump());
      const std::string d = first_difference(a.at(key), value, path);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return fmt::format("{} is gone (was {})", prefix.empty() ? key : prefix + "." + key, value.dump());
    }
    return "";
  }
  return a == b ? "" : fmt::format("{} was {}, now {}", prefix, a.dump(), b.dump());
}

nlohmann::json parse_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(fmt::format("{}: not JSON ({}); delete it to redo what it records", path, e.what()));
  }
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string RowResult::accuracy_text() const {
  return trained() ? fmt::format("{:.2f}", fake_quant_accuracy) : "training failed";
}

std::string RowResult::integer_text() const {
  return integer_accuracy ? fmt::format("{:.2f}", *integer_accuracy) : integer_note;
}

nlohmann::json to_json(const RowResult& r) {
  return {{"name", r.name},
          {"label", r.label},
          {"quantization", r.quantization},
          {"epochs", r.epochs},
          {"fake_quant_accuracy", r.fake_quant_accuracy},
          {"integer_accuracy", r.integer_accuracy ? nlohmann::json(*r.integer_accuracy) : nlohmann::json(nullptr)},
          {"integer_note", r.integer_note},
          {"size_mb", r.size_mb},
          {"fixops", r.fixops},
          {"train_seconds", r.train_seconds},
          {"eval_seconds", r.eval_seconds},
          {"wall_seconds", r.wall_seconds()},
          {"failure", r.failure}};
}

RowResult read_row_result(const std::string& path) {
  const nlohmann::json j = parse_json_file(path);
  const std::string& source = path;
  RowResult r;
  r.name = field<std::string>(j, "name", source);
  r.label = field<std::string>(j, "label", source);
  r.quantization = field<std::string>(j, "quantization", source);
  r.epochs = field<int>(j, "epochs", source);
  r.fake_quant_accuracy = field<double>(j, "fake_quant_accuracy", source);
  if (!j.contains("integer_accuracy")) throw std::runtime_error(fmt::format("{}: no field 'integer_accuracy'", source));
  if (!j.at("integer_accuracy").is_null()) r.integer_accuracy = field<double>(j, "integer_accuracy", source);
  r.integer_note = field<std::string>(j, "integer_note", source);
  r.size_mb = field<double>(j, "size_mb", source);
  r.fixops = field<double>(j, "fixops", source);
  r.train_seconds = field<double>(j, "train_seconds", source);
  r.eval_seconds = field<double>(j, "eval_seconds", source);
  r.failure = field<std::string>(j, "failure", source);
  return r;
}

nlohmann::json study_settings(const StudyPlan& plan) {
  const StudyOptions& o = plan.options;
  return {{"recipe", o.recipe},     {"dataset", o.dataset},         {"arch", o.arch}, {"train_limit", o.train_limit},
          {"test_limit", o.test_limit}, {"seed", o.seed}};
}

nlohmann::json row_settings(const StudyPlan& plan, const StudyRow& row) {
  const qat::QuantConfig& q = row.quant;
  const Hyper& h = row.hyper;
  nlohmann::json j = study_settings(plan);
  j["row"] = row.name;
  j["quantization"] = q.describe();
  j["quant"] = {{"weight_bits", q.weight_bits},
                {"act_bits", q.act_bits},
                {"scheme", std::string(to_string(q.scheme))},
                {"k", q.k},
                {"weight_quantizer", std::string(qat::to_string(q.weight_quantizer))},
                {"act_quantizer", std::string(qat::to_string(q.act_quantizer))},
                {"weight_norm", q.weight_norm},
                {"weight_alpha_init", q.weight_alpha_init},
                {"act_alpha_init", q.act_alpha_init}};
  j["init_from"] = row.init_from;
  j["hyper"] = {{"epochs", h.epochs},
                {"batch_size", h.batch_size},
                {"lr", h.lr},
                {"lr_schedule", h.lr_schedule},
                {"lr_milestones", h.lr_milestones},
                {"weight_decay", h.weight_decay},
                {"alpha_lr", h.alpha_lr},
                {"act_alpha_lr", h.act_alpha_lr},
                {"alpha_weight_decay", h.alpha_weight_decay},
                {"augment", h.augment}};
  // Only when on: rows trained before the option existed keep matching their settings.
  if (h.fit_thresholds) j["hyper"]["fit_thresholds"] = true;
  return j;
}

std::string_view to_string(RowState state) {
  switch (state) {
    case RowState::Fresh: return "fresh";
    case RowState::Partial: return "partly trained";
    case RowState::Trained: return "trained, not yet evaluated";
    case RowState::Finished: return "finished";
  }
  return "?";
}

RowFiles row_files(const std::string& out_dir, const std::string& row) { return RowFiles{out_dir + "/rows/" + row}; }

RowState row_state(const RowFiles& files, int epochs) {
  if (fs::exists(files.result())) return RowState::Finished;
  if (!fs::exists(files.model())) return RowState::Fresh;
  // The trainer writes metrics.csv after the checkpoint of each epoch.
  if (fs::exists(files.metrics()) && static_cast<int>(train::read_metrics(files.metrics()).size()) >= epochs) {
    return RowState::Trained;
  }
  return RowState::Partial;
}

void claim_settings(const std::string& path, const nlohmann::json& settings, const std::string& what) {
  if (!fs::exists(path)) {
    write_file_atomically(path, settings.dump(2) + "\n");
    return;
  }
  const nlohmann::json existing = parse_json_file(path);
  const std::string difference = first_difference(existing, settings);
  if (!difference.empty()) {
    throw std::runtime_error(fmt::format("{}: {} was started with other settings ({}): use another --out, or delete {} to "
                                         "start it again",
                                         path, what, difference, fs::path(path).parent_path().string()));
  }
}

std::vector<Invocation> read_invocations(const std::string& out_dir) {
  const std::string path = out_dir + "/invocations.json";
  std::vector<Invocation> list;
  if (!fs::exists(path)) return list;
  const nlohmann::json j = parse_json_file(path);
  if (!j.is_array()) throw std::runtime_error(fmt::format("{}: expected an array", path));
  for (const nlohmann::json& e : j) {
    Invocation i;
    i.command = field<std::string>(e, "command", path);
    i.started = field<std::string>(e, "started", path);
    if (e.contains("seconds") && !e.at("seconds").is_null()) i.seconds = field<double>(e, "seconds", path);
    i.trained = field<std::vector<std::string>>(e, "trained", path);
    list.push_back(std::move(i));
  }
  return list;
}

void write_invocations(const std::string& out_dir, const std::vector<Invocation>& invocations) {
  nlohmann::json j = nlohmann::json::array();
  for (const Invocation& i : invocations) {
    j.push_back({{"command", i.command},
                 {"started", i.started},
                 {"seconds", i.seconds ? nlohmann::json(*i.seconds) : nlohmann::json(nullptr)},
                 {"trained", i.trained}});
  }
  write_file_atomically(out_dir + "/invocations.json", j.dump(2) + "\n");
}

void write_results(const std::string& out_dir, const std::vector<RowResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  std::string csv = "name,label,quantization,epochs,fake_quant_accuracy,integer_accuracy,size_mb,fixops,train_seconds,"
                    "eval_seconds,wall_seconds,failure\n";
  for (const RowResult& r : results) {
    rows.push_back(to_json(r));
    csv += fmt::format("{},{},{},{},{},{},{:.4f},{:.0f},{:.1f},{:.1f},{:.1f},{}\n", csv_field(r.name), csv_field(r.label),
                       csv_field(r.quantization), r.epochs, csv_field(r.accuracy_text()), csv_field(r.integer_text()), r.size_mb,
                       r.fixops, r.train_seconds, r.eval_seconds, r.wall_seconds(), csv_field(r.failure));
  }
  write_file_atomically(out_dir + "/results.json", rows.dump(2) + "\n");
  write_file_atomically(out_dir + "/results.csv", csv);
}

}  // namespace apot::study
