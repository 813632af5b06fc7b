#include "train/top_layer_states.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"
#include "core/util/status_macros.h"

namespace lact::train {

absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> TopLayerStates(
    const TrainableWav2Vec2& encoder, EncoderStateCache& cache,
    const std::vector<std::vector<std::string>>& examples, int64_t top_layers, bool training,
    torch::Device device) {
  const int64_t first = encoder.config().num_hidden_layers - top_layers;
  struct Window {
    size_t example;
    torch::Tensor below;  // [W, D] the input of layer `first`
    int64_t begin, end;   // committed rows
  };
  std::vector<Window> windows;
  for (size_t b = 0; b < examples.size(); ++b) {
    LACT_ASSIGN_OR_RETURN(WindowStates ws, cache.GetWindows(examples[b], first));
    const auto index = ws.windows.accessor<int64_t, 2>();
    int64_t row = 0;
    for (int64_t i = 0; i < ws.windows.size(0); ++i) {
      windows.push_back({b, ws.states.narrow(0, row, index[i][0]), index[i][1], index[i][2]});
      row += index[i][0];
    }
  }
  // One pass of the layers per distinct window length (windows are never padded, as in service).
  std::map<int64_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < windows.size(); ++i) by_length[windows[i].below.size(0)].push_back(i);
  std::vector<torch::Tensor> committed(windows.size());  // [end - begin, D] each
  for (const auto& [length, members] : by_length) {
    std::vector<torch::Tensor> batch;
    for (size_t i : members) batch.push_back(windows[i].below);
    const torch::Tensor out = encoder.EncodeFrom(torch::stack(batch).to(device), first,
                                                 torch::Tensor(), training);  // [n, W, D]
    for (size_t j = 0; j < members.size(); ++j) {
      const Window& w = windows[members[j]];
      committed[members[j]] = out[static_cast<int64_t>(j)].narrow(0, w.begin, w.end - w.begin);
    }
  }
  const int64_t D = encoder.config().hidden_size;
  std::vector<std::vector<torch::Tensor>> parts(examples.size());
  for (size_t i = 0; i < windows.size(); ++i) parts[windows[i].example].push_back(committed[i]);
  std::vector<torch::Tensor> rows;  // [T_b, D] each
  std::vector<int64_t> frames;
  for (auto& p : parts) {
    rows.push_back(p.empty() ? torch::zeros({0, D}, torch::TensorOptions().device(device))
                             : torch::cat(p, 0));
    frames.push_back(rows.back().size(0));
  }
  torch::Tensor hidden = torch::nn::utils::rnn::pad_sequence(rows, /*batch_first=*/true);
  return std::make_pair(hidden, torch::tensor(frames, torch::kLong).to(device));  // [B, T, D], [B]
}

absl::StatusOr<TrainableWav2Vec2> LoadTrainedTopLayers(const std::string& model_dir,
                                                       const std::string& frozen_dir,
                                                       int64_t top_layers) {
  auto load = [](const std::string& dir) -> absl::StatusOr<TrainableWav2Vec2> {
    LACT_ASSIGN_OR_RETURN(Wav2Vec2Config config,
                          Wav2Vec2Config::FromJsonFile(dir + "/config.json"));
    LACT_ASSIGN_OR_RETURN(TensorMap tensors, LoadSafetensors(dir + "/model.safetensors"));
    return TrainableWav2Vec2::FromTensors(config, tensors);
  };
  LACT_ASSIGN_OR_RETURN(TrainableWav2Vec2 model, load(model_dir));
  LACT_ASSIGN_OR_RETURN(TrainableWav2Vec2 frozen, load(frozen_dir));
  const int64_t layers = model.config().num_hidden_layers;
  if (top_layers < 1 || top_layers > layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("top layers ", top_layers, " outside [1, ", layers, "]"));
  }
  const TensorMap mine = model.ExportTensors(), theirs = frozen.ExportTensors();
  for (const auto& [name, t] : mine) {
    if (model.IsTopLayerParameter(name, top_layers)) continue;
    auto other = theirs.find(name);
    if (other == theirs.end() || !other->second.sizes().equals(t.sizes()) ||
        !torch::equal(other->second, t)) {
      return absl::FailedPreconditionError(absl::StrCat(model_dir, " was not trained from ",
                                                        frozen_dir, " with its top ", top_layers,
                                                        " layers only: ", name, " differs"));
    }
  }
  model.SetRequiresGrad(false);
  return model;
}

}  // namespace lact::train
