// lact_transcribe: offline (or simulated streaming) transcription of audio files with a model
// folder, printing "<path>\t<transcript>" per file. See --help.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/audio/audio_io.h"
#include "core/flags/alternatives_flag.h"
#include "core/flags/boost_flag.h"
#include "core/flags/decoder_flags.h"
#include "core/flags/endpointing_flags.h"
#include "core/flags/flag_names.h"
#include "core/flags/fused_attention_flag.h"
#include "core/flags/lact_flag.h"
#include "core/flags/lact_scope_flag.h"
#include "core/flags/model_flags.h"
#include "core/flags/onednn_linear_flag.h"
#include "core/flags/streaming_flags.h"
#include "core/flags/threads_flag.h"
#include "core/model/npy.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "core/streaming/online_stream.h"
#include "core/tools/tool_main.h"
#include "core/tools/transcribe/segments_output.h"
#include "core/tools/transcribe/transcription.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(bool, streaming, false, "Simulate streaming: audio arrives in pieces of --step-ms and is "
          "decoded with the streaming window");
ABSL_FLAG(std::string, dump_logits, "", "Write the CTC logits [frames, vocab] of the (single) input "
          "as float32 .npy");
ABSL_FLAG(std::string, dump_hidden, "", "Write the encoder's last hidden state [frames, hidden] "
          "(before LaCT and lm_head; in streaming mode the committed frames fed to LaCT) as .npy");
ABSL_FLAG(std::string, dump_lact, "", "Write the LaCT stack output [frames, hidden] of the "
          "committed frames as .npy");
ABSL_FLAG(bool, words, false, "Also print word times: <path>\\t<word>\\t<start_s>\\t<end_s> lines");
ABSL_FLAG(bool, from_logits, false, "The inputs are CTC logits [frames, vocab] as .npy (e.g. from "
          "--dump-logits): decode them with the model's vocabulary and decoder, no audio model run");
ABSL_FLAG(double, max_offline_seconds, 60, "Offline decoding attends over the whole input, so its "
          "memory grows with the square of the length: a longer input (or one whose header does not "
          "say its length) is decoded through the streaming window instead, read a block at a time "
          "(flat memory; LaCT sees each frame once, in order; the transcript is --streaming's). "
          "--dump-* is refused for such inputs");
ABSL_FLAG(bool, segments, false, "Cut the audio into utterances where the speech pauses (the "
          "server's endpointing, --endpointing* settings; implies --streaming) and print "
          "<path>\\t<start_s>\\t<end_s>\\t<transcript> per utterance");
ABSL_FLAG(std::string, format, "text", "Output format: text (<path>\\t<transcript>), or, per "
          "utterance as --segments cuts them, srt / vtt (subtitles) or json (utterance and word "
          "times)");
ABSL_FLAG(std::string, segments_dir, "", "Write each input's output to DIR/<name>.<txt|tsv|srt|vtt|"
          "json> instead of standard output (needed for --format srt|vtt|json with several "
          "inputs)");
// clang-format on

namespace {

// Flags that do not go together: a message and exit code 2; 0 when they do.
int CheckUsage(const std::vector<std::string>& files, bool dumping) {
  if (files.empty()) {
    std::cerr << "lact_transcribe: no audio files given (see --help)\n";
    return 2;
  }
  if (dumping && files.size() != 1) {
    std::cerr << "lact_transcribe: --dump-* needs exactly one input file, got " << files.size()
              << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_from_logits) && (dumping || absl::GetFlag(FLAGS_streaming))) {
    std::cerr << "lact_transcribe: --from-logits decodes logits files; it cannot be combined with "
                 "--streaming or --dump-*\n";
    return 2;
  }
  if (auto n = lact::GetMaxAlternativesFlag(); !n.ok()) {
    std::cerr << "lact_transcribe: " << n.status().message() << "\n";
    return 2;
  }
  if (!(absl::GetFlag(FLAGS_max_offline_seconds) > 0)) {
    std::cerr << "lact_transcribe: --max_offline_seconds must be > 0, got "
              << absl::GetFlag(FLAGS_max_offline_seconds) << "\n";
    return 2;
  }
  return 0;
}

// The model and recogniser the flags ask for; null with *exit_code set (after a message) when
// they cannot be had. *use_lact: whether LaCT runs. `dumping`: --dtype auto means float32.
std::unique_ptr<lact::OnlineRecognizer> LoadRecognizer(bool dumping, bool* use_lact,
                                                       int* exit_code) {
  *exit_code = 2;
  auto lact_mode = lact::GetLactFlag(
      lact::LactMode::kAuto, {lact::LactMode::kAuto, lact::LactMode::kOn, lact::LactMode::kOff});
  if (!lact_mode.ok()) {
    std::cerr << "lact_transcribe: " << lact_mode.status().message() << "\n";
    return nullptr;
  }
  const lact::ModelFlags model_flags = lact::GetModelFlags();
  const std::string model_dir = lact::ResolveModelDir(model_flags.model_dir);
  if (model_dir.empty()) {
    std::cerr
        << "lact_transcribe: no model: pass --model DIR (a Hugging Face Wav2Vec2ForCTC folder)\n";
    return nullptr;
  }
  lact::SetTorchThreadsFromFlag();
  lact::SetOneDnnLinearFromFlag();
  lact::SetFusedAttentionFromFlag();
  lact::AsrModelOptions options;
  options.device = model_flags.device;
  options.dtype = dumping && model_flags.dtype == "auto" ? "float32" : model_flags.dtype;
  // auto: LaCT only when the folder has LaCT files (otherwise it would be the identity anyway).
  options.load_lact =
      *lact_mode == lact::LactMode::kOn ||
      (*lact_mode == lact::LactMode::kAuto && lact::AsrModel::HasLactFiles(model_dir));
  *use_lact = options.load_lact;
  auto model = lact::AsrModel::Load(model_dir, options);
  if (!model.ok()) {
    std::cerr << "lact_transcribe: " << model.status().message() << "\n";
    *exit_code = 1;
    return nullptr;
  }
  auto rec =
      lact::OnlineRecognizer::Create(*model, lact::GetStreamingFlags(), lact::GetDecoderFlags());
  if (!rec.ok()) {
    std::cerr << "lact_transcribe: " << rec.status().message() << "\n";
    return nullptr;
  }
  *exit_code = 0;
  return *std::move(rec);
}

// <path>\t<transcript>, and with --words a line per word.
void PrintResult(const std::string& path, const lact::CtcResult& ctc) {
  std::cout << path << "\t" << ctc.text << "\n";
  if (absl::GetFlag(FLAGS_words)) {
    for (const auto& w : ctc.words) {
      std::cout << path << "\t" << w.word << "\t" << w.start_s << "\t" << w.end_s << "\n";
    }
  }
  std::cout.flush();
}

// --from-logits: one logits file decoded; false (after a message) on an error.
bool DecodeLogitsFile(const lact::OnlineRecognizer& rec, const std::string& path,
                      const std::shared_ptr<const lact::PhraseBoost>& boost) {
  auto logits = lact::ReadNpy(path);
  auto ctc = logits.ok() ? rec.DecodeLogits(*logits, boost)
                         : absl::StatusOr<lact::CtcResult>(logits.status());
  if (!ctc.ok()) {
    std::cerr << "lact_transcribe: " << path << ": " << ctc.status().message() << "\n";
    return false;
  }
  PrintResult(path, *ctc);
  return true;
}

// How results are written (--segments, --format, --segments_dir), and the endpointing the
// streaming path uses.
struct OutputOptions {
  lact::SegmentFormat format = lact::SegmentFormat::kText;
  std::string output_dir;
  bool streaming = false;  // --streaming, or implied by per-utterance output
  lact::EndpointingConfig endpointing = lact::EndpointingConfig::Off();
  lact::LactScope lact_scope = lact::LactScope::kStream;  // --lact_scope
};

// The flags' output options; nullopt (after a message) when they do not go together.
std::optional<OutputOptions> GetOutputOptions(size_t num_files) {
  auto format = lact::ParseSegmentFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) {
    std::cerr << "lact_transcribe: " << format.status().message() << "\n";
    return std::nullopt;
  }
  OutputOptions o;
  o.format = *format;
  const bool segments = absl::GetFlag(FLAGS_segments);
  if (segments && o.format != lact::SegmentFormat::kText) {
    std::cerr << "lact_transcribe: --segments prints lines; it cannot be combined with --format "
              << absl::GetFlag(FLAGS_format) << "\n";
    return std::nullopt;
  }
  if (segments) o.format = lact::SegmentFormat::kLines;
  o.output_dir = absl::GetFlag(FLAGS_segments_dir);
  const bool per_utterance = o.format != lact::SegmentFormat::kText;
  if (per_utterance && absl::GetFlag(FLAGS_from_logits)) {
    std::cerr << "lact_transcribe: --segments / --format need audio, not --from-logits\n";
    return std::nullopt;
  }
  if (num_files > 1 && o.output_dir.empty() &&
      (o.format == lact::SegmentFormat::kSrt || o.format == lact::SegmentFormat::kVtt ||
       o.format == lact::SegmentFormat::kJson)) {
    std::cerr << "lact_transcribe: --format " << absl::GetFlag(FLAGS_format)
              << " writes one document per input: give --segments_dir for " << num_files
              << " inputs\n";
    return std::nullopt;
  }
  auto endpointing = lact::GetEndpointingFlags(/*enabled_default=*/per_utterance);
  if (!endpointing.ok()) {
    std::cerr << "lact_transcribe: " << endpointing.status().message() << "\n";
    return std::nullopt;
  }
  o.endpointing = *endpointing;
  auto scope = lact::GetLactScopeFlag();
  if (!scope.ok()) {
    std::cerr << "lact_transcribe: " << scope.status().message() << "\n";
    return std::nullopt;
  }
  o.lact_scope = *scope;
  o.streaming = absl::GetFlag(FLAGS_streaming) || per_utterance || o.endpointing.enabled;
  return o;
}

// Writes `text` to DIR/<name of path>.<ext> with --segments_dir, else to standard output.
bool WriteOutput(const OutputOptions& o, const std::string& path, const std::string& text) {
  if (o.output_dir.empty()) {
    std::cout << text;
    std::cout.flush();
    return true;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.output_dir, ec);
  const std::string out =
      absl::StrCat(o.output_dir, "/", std::filesystem::path(path).stem().string(), ".",
                   lact::SegmentFormatExtension(o.format));
  std::ofstream file(out);
  file << text;
  file.close();
  if (!file) {
    std::cerr << "lact_transcribe: cannot write " << out << "\n";
    return false;
  }
  return true;
}

// One audio file: its transcript and the --dump-* files; false (after a message) on an error.
bool TranscribeOne(const lact::OnlineRecognizer& rec, const std::string& path,
                   const lact::TranscribeSettings& settings, const OutputOptions& output) {
  auto decoded = lact::TranscribeFile(rec, path, settings);
  if (!decoded.ok()) {
    // Audio errors name the file already.
    const std::string message(decoded.status().message());
    std::cerr << "lact_transcribe: "
              << (message.find(path) == std::string::npos ? path + ": " : std::string()) << message
              << "\n";
    return false;
  }
  bool ok = true;
  if (output.format == lact::SegmentFormat::kText && output.output_dir.empty()) {
    PrintResult(path, decoded->ctc);
  } else {
    ok = WriteOutput(output, path, lact::FormatSegments(output.format, path, decoded->utterances));
  }
  for (const auto& [flag, tensor] :
       {std::pair{absl::GetFlag(FLAGS_dump_logits), decoded->logits},
        std::pair{absl::GetFlag(FLAGS_dump_hidden), decoded->hidden},
        std::pair{absl::GetFlag(FLAGS_dump_lact), decoded->lact_out}}) {
    if (flag.empty()) continue;
    if (auto s = lact::WriteNpy(flag, tensor); !s.ok()) {
      std::cerr << "lact_transcribe: " << s.message() << "\n";
      ok = false;
    }
  }
  return ok;
}

// --boost / --boost_file for `rec`'s model into *boost (null without them); false (after a
// message) for a bad list or a recogniser that decodes greedily by choice.
bool BoostFromFlags(const lact::OnlineRecognizer& rec,
                    std::shared_ptr<const lact::PhraseBoost>* boost) {
  auto list = lact::GetBoostFlags();
  if (!list.ok()) {
    std::cerr << "lact_transcribe: " << list.status().message() << "\n";
    return false;
  }
  if (list->empty()) return true;
  if (!rec.BeamSearchAvailable()) {
    std::cerr << "lact_transcribe: --boost needs the beam search (--decoder auto or beam)\n";
    return false;
  }
  std::vector<lact::BoostPhrase> phrases;
  for (const auto& [text, value] : *list) phrases.push_back({text, value});
  lact::PhraseBoostLimits limits;
  limits.max_phrases = 100000;  // a local tool: no request limits
  limits.max_phrase_chars = 1000;
  auto built = lact::PhraseBoost::Build(phrases, rec.model().vocab(), limits);
  if (!built.ok()) {
    std::cerr << "lact_transcribe: --boost: " << built.status().message() << "\n";
    return false;
  }
  *boost = *std::move(built);
  return true;
}

int Run(int argc, char** argv) {
  const char* const kUsage =
      R"(Transcribes audio files (WAV/FLAC, any rate; mixed to mono, resampled to 16 kHz).
Usage: lact_transcribe --model DIR [--device cpu|cuda] [--lact auto|on|off] [--streaming]
       [--step-ms N --left-context-ms N --lookahead-ms N] [--dump-logits OUT.npy]
       [--dump-hidden OUT.npy] [--dump-lact OUT.npy] [--decoder auto|greedy|beam]
       [--boost "PHRASE:BOOST,..."] [--boost_file FILE] [--unk_penalty N] AUDIO...
       lact_transcribe --model DIR (--segments | --format srt|vtt|json) [--segments_dir DIR]
       [--endpointing_stop_history_ms N ...] AUDIO...
       lact_transcribe --model DIR --from-logits LOGITS.npy...
Prints <path>\t<transcript> per file; --segments a line per utterance (<path>\t<start_s>\t<end_s>
\t<transcript>), --format srt|vtt|json subtitles or JSON with utterance and word times (the
utterances are cut where the speech pauses, as lact_server's endpointing does).)";
  const std::vector<std::string> files = lact::ParseFlags(argc, argv, kUsage);
  const bool dumping = !absl::GetFlag(FLAGS_dump_logits).empty() ||
                       !absl::GetFlag(FLAGS_dump_hidden).empty() ||
                       !absl::GetFlag(FLAGS_dump_lact).empty();
  if (int usage = CheckUsage(files, dumping); usage != 0) return usage;
  const std::optional<OutputOptions> output = GetOutputOptions(files.size());
  if (!output) return 2;
  bool use_lact = false;
  int exit_code = 0;
  std::unique_ptr<lact::OnlineRecognizer> rec = LoadRecognizer(dumping, &use_lact, &exit_code);
  if (rec == nullptr) return exit_code;
  lact::TranscribeSettings settings;
  settings.use_lact = use_lact;
  settings.streaming = output->streaming;
  settings.max_offline_seconds = absl::GetFlag(FLAGS_max_offline_seconds);
  settings.dumping = dumping;
  settings.endpointing = output->endpointing;
  settings.lact_scope = output->lact_scope;
  settings.max_alternatives = lact::GetMaxAlternativesFlag().value_or(1);
  if (!BoostFromFlags(*rec, &settings.boost)) return 2;
  int failures = 0;
  for (const std::string& path : files) {
    const bool ok = absl::GetFlag(FLAGS_from_logits) ? DecodeLogitsFile(*rec, path, settings.boost)
                                                     : TranscribeOne(*rec, path, settings, *output);
    failures += ok ? 0 : 1;
  }
  if (failures > 0 && files.size() > 1) {
    std::cerr << "lact_transcribe: " << failures << " of " << files.size() << " files failed\n";
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lact::RunToolMain("lact_transcribe", [&] { return Run(argc, argv); });
}
