// Trainer's model folder and checkpoints (train/trainer.h): the folder lact_server loads, and
// checkpoint/ with the optimizer state and position that --resume continues from.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/lact/lact_stack.h"
#include "core/model/model_folder.h"
#include "core/model/safetensors.h"
#include "core/util/remove_tree.h"
#include "core/util/status_macros.h"
#include "train/base_model_files.h"
#include "train/trainer.h"

namespace lact::train {

namespace fs = std::filesystem;

absl::Status Trainer::SaveModel(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  if (options_.mode == TrainMode::kEncoder)
    return WriteModelFolder(dir, config_, encoder_->ExportTensors(), do_normalize_);
  LACT_RETURN_IF_ERROR(CopyBaseModelFiles(options_.base_model, dir));
  if (top_layers_ > 0) {
    LACT_RETURN_IF_ERROR(
        SaveSafetensors((fs::path(dir) / "model.safetensors").string(), encoder_->ExportTensors()));
  }
  if (!lact_) return absl::OkStatus();
  LACT_ASSIGN_OR_RETURN(LactStack stack,
                        LactStack::FromTensors(lact_->config(), lact_->ExportTensors()));
  return stack.Save(dir);
}

absl::Status Trainer::SaveCheckpoint() const {
  const fs::path final_dir = fs::path(options_.out_dir) / "checkpoint";
  const fs::path tmp = fs::path(options_.out_dir) / "checkpoint.tmp";
  std::error_code ec;
  LACT_RETURN_IF_ERROR(RemoveTree(tmp.string()));
  LACT_RETURN_IF_ERROR(SaveModel(tmp.string()));
  try {
    torch::save(*optimizer_, (tmp / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot save the optimizer state: ", e.what_without_backtrace()));
  }
  nlohmann::json state = {{"step", step_},
                          {"epoch", epoch_},
                          {"batch_in_epoch", batch_in_epoch_},
                          {"seed", options_.seed},
                          {"options", options_.ToString()}};
  std::ofstream(tmp / "trainer_state.json") << state.dump(2) << "\n";
  // Replace the previous checkpoint only once the new one is complete.
  LACT_RETURN_IF_ERROR(RemoveTree(final_dir.string()));
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot move the checkpoint into place: ", ec.message()));
  return absl::OkStatus();
}

absl::Status Trainer::LoadCheckpoint(const std::string& dir) {
  std::ifstream in(dir + "/trainer_state.json");
  nlohmann::json state = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.contains("step")) {
    return absl::DataLossError(absl::StrCat(dir, "/trainer_state.json is not a trainer state"));
  }
  if (state.value("seed", options_.seed) != options_.seed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the checkpoint in ", dir, " was trained with --seed=", state.value("seed", 0ULL),
        "; resume with the same seed"));
  }
  step_ = state["step"].get<int64_t>();
  epoch_ = state.value("epoch", int64_t{0});
  batch_in_epoch_ = state.value("batch_in_epoch", int64_t{0});
  if (lact_) {
    LACT_ASSIGN_OR_RETURN(TensorMap t, LoadSafetensors(dir + "/lact.safetensors"));
    LACT_ASSIGN_OR_RETURN(TrainableLact lact, TrainableLact::FromTensors(lact_->config(), t));
    lact_.emplace(std::move(lact));
  }
  if (!lact_ || top_layers_ > 0) {
    LACT_ASSIGN_OR_RETURN(TensorMap t, LoadSafetensors(dir + "/model.safetensors"));
    LACT_ASSIGN_OR_RETURN(TrainableWav2Vec2 enc, TrainableWav2Vec2::FromTensors(config_, t));
    enc.set_dropout(options_.dropout);
    encoder_.emplace(std::move(enc));
    FreezeEncoder();
  }
  LACT_RETURN_IF_ERROR(MoveModels());
  ResetOptimizer();  // over the reloaded parameters, then its state from the checkpoint
  try {
    torch::load(*optimizer_, dir + "/optimizer.pt", device_);  // saved from any device
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        absl::StrCat("cannot read ", dir, "/optimizer.pt: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

}  // namespace lact::train
