// What the study records and how it resumes: one result per row (the columns of the paper's Tables 1
// and 3: accuracy, model size, FixOPs; plus the integer engine's accuracy and the wall time), the
// files that say how far a row got, and the study's results table. Plain C++, no LibTorch.
//
// Layout of the out dir:
//   study.json                 the settings every invocation must share, and each invocation's command
//   rows/<row>/row.json        the row's settings, written before it trains (resume refuses others)
//   rows/<row>/model.pt ...    the trainer's files (train/trainer.h), which resume a row cut mid-way
//   rows/<row>/model.apot      the exported integer model, where the row has one
//   rows/<row>/result.json     written last: the row is finished
//   results.json, results.csv  every finished row, rewritten after each row
//   invocations.json           each invocation's command and wall time
//   figures/, report.md        redrawn and rewritten at the end of every invocation
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "study/plan.h"

namespace apot::study {

struct RowResult {
  std::string name, label;
  std::string quantization;           // QuantConfig::describe()
  int epochs = 0;
  double fake_quant_accuracy = 0;     // top-1 %, LibTorch fake-quant network, last epoch
  std::optional<double> integer_accuracy;  // top-1 %, the integer engine on the exported model
  std::string integer_note;           // why there is none ("n/a (...)"), or the engine kernel used
  double size_mb = 0;                 // core/cost.h, Table 1's MB (2^20 bytes)
  double fixops = 0;                  // per image, core/cost.h (Table rule)
  double train_seconds = 0;           // every epoch of the row, across interruptions
  double eval_seconds = 0;            // export and the integer engine's test pass
  // Why the row has no accuracy: its training stopped with an error (a diverging loss, a threshold
  // driven below zero: Table 3 reports APoT without WN diverging), or the row it starts from did. A
  // result, not a crash: the study goes on and the report shows it. Empty when trained.
  std::string failure;
  bool trained() const { return failure.empty(); }
  double wall_seconds() const { return train_seconds + eval_seconds; }
  std::string accuracy_text() const;  // "91.23" or "training failed"
  std::string integer_text() const;   // "91.23" or the note
};

nlohmann::json to_json(const RowResult& r);
// A row's result.json; throws std::runtime_error naming the file and the field.
RowResult read_row_result(const std::string& path);

// The settings a row's files depend on; a finished or half-trained row is resumed only under equal ones.
nlohmann::json row_settings(const StudyPlan& plan, const StudyRow& row);
// The settings every row shares (dataset, limits, recipe, arch).
nlohmann::json study_settings(const StudyPlan& plan);

// Where a row stands, from its files alone.
enum class RowState {
  Fresh,     // nothing trained yet
  Partial,   // some epochs trained (model.pt exists): the trainer resumes
  Trained,   // every epoch trained but not yet evaluated (interrupted during export or the engine)
  Finished,  // result.json exists: skipped
};
std::string_view to_string(RowState state);

struct RowFiles {
  std::string dir;
  std::string settings() const { return dir + "/row.json"; }
  std::string model() const { return dir + "/model.pt"; }
  std::string metrics() const { return dir + "/metrics.csv"; }
  std::string summary() const { return dir + "/summary.json"; }
  std::string integer_model() const { return dir + "/model.apot"; }
  std::string result() const { return dir + "/result.json"; }
};
RowFiles row_files(const std::string& out_dir, const std::string& row);

// `epochs` is the row's planned count; Trained needs the trainer's summary.json for that count.
RowState row_state(const RowFiles& files, int epochs);

// Writes `settings` to `path`, or checks that the file there holds the same. Throws std::runtime_error
// naming the file and the first differing field, with what to do about it.
void claim_settings(const std::string& path, const nlohmann::json& settings, const std::string& what);

// One `apot study` invocation on an out dir: a study stopped and resumed has several.
struct Invocation {
  std::string command;
  std::string started;            // UTC, ISO 8601
  std::optional<double> seconds;  // none while running, or when it was cut off
  std::vector<std::string> trained;  // rows it trained or evaluated (the others it skipped)
};
// invocations.json in the out dir; empty when there is none. Throws naming the file when malformed.
std::vector<Invocation> read_invocations(const std::string& out_dir);
void write_invocations(const std::string& out_dir, const std::vector<Invocation>& invocations);

// results.json (an array of rows in plan order) and results.csv, written atomically.
void write_results(const std::string& out_dir, const std::vector<RowResult>& results);

}  // namespace apot::study
