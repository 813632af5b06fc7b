// lact_transcribe's per-utterance output (--segments, --format): one line per utterance, SubRip
// (.srt), WebVTT (.vtt) or JSON with utterance and word times, from the utterances the streaming
// recognizer's endpointer cut (core/streaming/utterance_decoder.h). Utterances without text are
// left out; a subtitle spans its first word's start to its last word's end.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/streaming/utterance_decoder.h"

namespace lact {

enum class SegmentFormat {
  kText,   // <path>\t<transcript> (the default output: no segments)
  kLines,  // --segments: <path>\t<start_s>\t<end_s>\t<transcript> per utterance
  kSrt,
  kVtt,
  kJson,
};

// --format's value: "" or "text", "srt", "vtt", "json"; InvalidArgument otherwise.
absl::StatusOr<SegmentFormat> ParseSegmentFormat(const std::string& name);
// The file extension of a format (without the dot): "txt", "tsv", "srt", "vtt", "json".
std::string SegmentFormatExtension(SegmentFormat format);

// "HH:MM:SS,mmm" (SubRip) or "HH:MM:SS.mmm" (WebVTT), rounded to the millisecond.
std::string SubtitleTime(double seconds, char decimal_separator);

// The whole output for one input file (`path` names it in kLines and kJson).
std::string FormatSegments(SegmentFormat format, const std::string& path,
                           const std::vector<UtteranceResult>& utterances);

}  // namespace lact
