// lact_study_eval: one setting of the LaCT study (issue 20, docs/lact_results.md) over a long-form
// corpus: each chapter decoded as lact_server decodes a stream of it, from cached encoder states
// (train/study_eval.h), written as a words TSV for tools/lact_study_report.py.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/corpus/librispeech.h"
#include "core/corpus/scoring.h"
#include "core/flags/decoder_flags.h"
#include "core/flags/endpointing_flags.h"
#include "core/flags/flag_names.h"
#include "core/flags/lact_flag.h"
#include "core/flags/lact_scope_flag.h"
#include "core/flags/model_flags.h"
#include "core/flags/streaming_flags.h"
#include "core/flags/threads_flag.h"
#include "core/streaming/online_recognizer.h"
#include "core/tools/tool_main.h"
#include "core/util/status_macros.h"
#include "train/encoder_state_cache.h"
#include "train/state_cache_flag.h"
#include "train/study_eval.h"
#include "train/top_layer_states.h"

// clang-format off
ABSL_FLAG(std::string, corpus, "", "Long-form corpus (LibriSpeech layout; each chapter is one stream)");
ABSL_FLAG(std::string, chapters, "test", "Split of --corpus whose chapters are decoded");
ABSL_FLAG(int32_t, max_chapters, 0, "Only the first N chapters (0 = all)");
ABSL_FLAG(bool, lact_updates, true, "With --lact on: test-time training (false: the trained "
          "adapter with its initial fast weights, never updated)");
ABSL_FLAG(std::string, frozen_model, "", "With --trained_top_layers: the model --model was trained "
          "from (lact_train --train_top_layers): frames from its cached windows below the top "
          "layers, run through --model's top layers (exact; the layers below must be equal)");
ABSL_FLAG(int64_t, trained_top_layers, 0, "With --frozen_model: how many top layers --model trained");
ABSL_FLAG(std::string, words_out, "", "Output: chapter<TAB>start_s<TAB>end_s<TAB>word lines "
          "(tools/lact_study_report.py reads them)");
// clang-format on

namespace {

struct Setup {
  std::shared_ptr<const lact::AsrModel> model;
  std::shared_ptr<const lact::LactStack> lact;  // nullptr: LaCT off
  lact::train::StudyDecodeOptions decode;
  lact::StreamingConfig window;
  std::string model_dir;
};

absl::StatusOr<Setup> SetupFromFlags() {
  Setup s;
  LACT_ASSIGN_OR_RETURN(
      lact::LactMode mode,
      lact::GetLactFlag(lact::LactMode::kOn, {lact::LactMode::kOn, lact::LactMode::kOff}));
  const lact::ModelFlags model_flags = lact::GetModelFlags();
  s.model_dir = lact::ResolveModelDir(model_flags.model_dir);
  if (s.model_dir.empty()) return absl::InvalidArgumentError("no model: pass --model DIR");
  LACT_ASSIGN_OR_RETURN(s.decode.scope, lact::GetLactScopeFlag());
  lact::AsrModelOptions options;
  options.device = model_flags.device;
  // Its encoder states come from the float32 state cache: --dtype auto means float32 here too.
  options.dtype = model_flags.dtype == "auto" ? "float32" : model_flags.dtype;
  const bool updates = absl::GetFlag(FLAGS_lact_updates);
  options.load_lact = mode == lact::LactMode::kOn && updates;  // else loaded below, or not at all
  LACT_ASSIGN_OR_RETURN(s.model, lact::AsrModel::Load(s.model_dir, options));
  if (mode == lact::LactMode::kOn && !updates) {
    LACT_ASSIGN_OR_RETURN(s.lact, lact::train::LoadLactWithoutUpdates(
                                      s.model_dir, s.model->encoder().config().hidden_size));
  } else if (options.load_lact) {
    s.lact = std::shared_ptr<const lact::LactStack>(s.model, s.model->lact());  // aliasing
  }
  s.window = lact::GetStreamingFlags();
  // The recognizer resolves the decoder flags (auto: beam search when the folder has an LM) and
  // validates the window, as the server does.
  LACT_ASSIGN_OR_RETURN(std::unique_ptr<lact::OnlineRecognizer> rec,
                        lact::OnlineRecognizer::Create(s.model, s.window, lact::GetDecoderFlags()));
  s.decode.beam = rec->beam_search();
  s.decode.step_frames = s.window.step_frames(s.model->frame_seconds() * 1000.0);
  LACT_ASSIGN_OR_RETURN(s.decode.endpointing, lact::GetEndpointingFlags(/*enabled_default=*/true));
  return s;
}

absl::Status Run() {
  LACT_ASSIGN_OR_RETURN(Setup setup, SetupFromFlags());
  lact::eval::CorpusOptions corpus;
  corpus.librispeech_dir = absl::GetFlag(FLAGS_corpus);
  corpus.split = absl::GetFlag(FLAGS_chapters);
  corpus.long_form = true;
  corpus.limit = absl::GetFlag(FLAGS_max_chapters);
  LACT_ASSIGN_OR_RETURN(std::vector<lact::eval::CorpusItem> chapters,
                        lact::eval::LoadCorpus(corpus));
  if (lact::train::GetStateCacheFlag().empty()) {
    return absl::InvalidArgumentError("--state_cache DIR is required");
  }
  const std::string frozen = absl::GetFlag(FLAGS_frozen_model);
  const int64_t top_layers = absl::GetFlag(FLAGS_trained_top_layers);
  if (frozen.empty() != (top_layers == 0)) {
    return absl::InvalidArgumentError("--frozen_model and --trained_top_layers go together");
  }
  lact::train::StateCacheOptions cache_options;
  cache_options.dir = lact::train::GetStateCacheFlag();
  cache_options.window = setup.window;
  cache_options.dtype = torch::kFloat;  // the server's frames exactly
  LACT_ASSIGN_OR_RETURN(std::unique_ptr<lact::train::EncoderStateCache> cache,
                        lact::train::EncoderStateCache::Open(
                            cache_options, frozen.empty() ? setup.model_dir : frozen));
  std::optional<lact::train::TrainableWav2Vec2> top;  // --trained_top_layers: this model's layers
  if (top_layers > 0) {
    LACT_ASSIGN_OR_RETURN(top,
                          lact::train::LoadTrainedTopLayers(setup.model_dir, frozen, top_layers));
  }
  // A chapter's committed frames [T, D].
  auto states_of = [&](const std::vector<std::string>& paths) -> absl::StatusOr<torch::Tensor> {
    if (!top) return cache->Get(paths);
    torch::NoGradGuard no_grad;
    LACT_ASSIGN_OR_RETURN(auto states, lact::train::TopLayerStates(*top, *cache, {paths},
                                                                   top_layers, false, torch::kCPU));
    return states.first[0];
  };
  const std::string out_path = absl::GetFlag(FLAGS_words_out);
  if (out_path.empty()) return absl::InvalidArgumentError("--words_out FILE is required");
  std::ofstream out(out_path);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", out_path));
  out << "chapter\tstart_s\tend_s\tword\n";
  const lact::train::StudyDecoder decoder(setup.model, setup.lact, setup.decode);
  lact::eval::EditCounts words_total, chars_total;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < chapters.size(); ++i) {
    const lact::eval::CorpusItem& c = chapters[i];
    LACT_ASSIGN_OR_RETURN(torch::Tensor states, states_of(c.audio_paths));
    LACT_ASSIGN_OR_RETURN(lact::train::StudyDecodeResult r, decoder.Decode(states));
    for (const lact::WordInfo& w : r.words) {
      out << absl::StrFormat("%s\t%.3f\t%.3f\t%s\n", c.id, w.start_s, w.end_s, w.word);
    }
    const lact::eval::UtteranceScore score = lact::eval::ScoreUtterance(c.reference, r.text);
    words_total += score.words;
    chars_total += score.chars;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[%zu/%zu] %s: %lld frames, %lld utterances, WER %.2f%% (%.0f s)\n", i + 1,
                 chapters.size(), c.id.c_str(), static_cast<long long>(states.size(0)),
                 static_cast<long long>(r.utterances), 100.0 * score.words.rate(), elapsed);
  }
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("writing ", out_path, " failed"));
  std::fprintf(stderr,
               "lact_study_eval: %zu chapters: WER %.2f%%, CER %.2f%% (state cache: %lld hits, "
               "%lld misses)\n",
               chapters.size(), 100.0 * words_total.rate(), 100.0 * chars_total.rate(),
               static_cast<long long>(cache->hits()), static_cast<long long>(cache->misses()));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const char* const kUsage =
      R"(Decodes a long-form corpus as lact_server would, from cached encoder states.
  lact_study_eval --model DIR --corpus DIR --chapters test --state_cache CACHE --lact on
                  --words_out lact.tsv
The model folder's LaCT stack is run with --lact on (--lact_updates=false: without updates;
--lact_scope utterance: started again after each endpoint); --lact off is the frozen model alone.
A model trained with lact_train --train_top_layers N is decoded from its frozen model's cached
windows with --frozen_model DIR --trained_top_layers N (only its top layers run per chapter).
Streaming window, decoder and endpointing take lact_server's flags and defaults.)";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_study_eval", kUsage)) return 2;
  lact::SetTorchThreadsFromFlag();
  return lact::RunToolMain("lact_study_eval", [&] {
    const absl::Status s = Run();
    if (!s.ok()) std::fprintf(stderr, "lact_study_eval: %s\n", s.ToString().c_str());
    return s.ok() ? 0 : 1;
  });
}
