#include "core/tools/transcribe/segments_output.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lact {
namespace {

// An utterance's displayed span: its first word's start to its last word's end.
struct Span {
  double start_s, end_s;
};
Span SpanOf(const UtteranceResult& u) {
  if (u.words.empty()) return {u.start_s, u.end_s};
  return {u.words.front().start_s, u.words.back().end_s};
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Json(const std::string& path, const std::vector<UtteranceResult>& utterances) {
  std::string text, segments;
  for (const UtteranceResult& u : utterances) {
    if (u.text.empty()) continue;
    absl::StrAppend(&text, text.empty() ? "" : " ", u.text);
    const Span span = SpanOf(u);
    std::string words, alternatives;
    for (const WordInfo& w : u.words) {
      absl::StrAppendFormat(&words,
                            "%s{\"word\": %s, \"start\": %.3f, \"end\": %.3f, "
                            "\"confidence\": %.4f}",
                            words.empty() ? "" : ", ", JsonString(w.word), w.start_s, w.end_s,
                            w.confidence);
    }
    for (const CtcResult& a : u.alternatives) {
      absl::StrAppendFormat(&alternatives, ", {\"text\": %s, \"confidence\": %.4f}",
                            JsonString(a.text), a.confidence);
    }
    absl::StrAppendFormat(&segments,
                          "%s\n    {\"start\": %.3f, \"end\": %.3f, \"text\": %s, "
                          "\"confidence\": %.4f, \"words\": [%s]%s}",
                          segments.empty() ? "" : ",", span.start_s, span.end_s, JsonString(u.text),
                          u.confidence, words,
                          u.alternatives.empty()
                              ? ""
                              : absl::StrCat(", \"alternatives\": [", alternatives.substr(2), "]"));
  }
  return absl::StrCat("{\n  \"file\": ", JsonString(path), ",\n  \"text\": ", JsonString(text),
                      ",\n  \"segments\": [", segments, segments.empty() ? "]\n}\n" : "\n  ]\n}\n");
}

}  // namespace

absl::StatusOr<SegmentFormat> ParseSegmentFormat(const std::string& name) {
  if (name.empty() || name == "text") return SegmentFormat::kText;
  if (name == "srt") return SegmentFormat::kSrt;
  if (name == "vtt") return SegmentFormat::kVtt;
  if (name == "json") return SegmentFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--format must be text, srt, vtt or json, got '", name, "'"));
}

std::string SegmentFormatExtension(SegmentFormat format) {
  switch (format) {
    case SegmentFormat::kText: return "txt";
    case SegmentFormat::kLines: return "tsv";
    case SegmentFormat::kSrt: return "srt";
    case SegmentFormat::kVtt: return "vtt";
    case SegmentFormat::kJson: return "json";
  }
  return "txt";
}

std::string SubtitleTime(double seconds, char decimal_separator) {
  const int64_t ms = std::llround(std::max(0.0, seconds) * 1000.0);
  return absl::StrFormat("%02d:%02d:%02d%c%03d", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                         decimal_separator, ms % 1000);
}

std::string FormatSegments(SegmentFormat format, const std::string& path,
                           const std::vector<UtteranceResult>& utterances) {
  if (format == SegmentFormat::kJson) return Json(path, utterances);
  std::string out = format == SegmentFormat::kVtt ? "WEBVTT\n\n" : "";
  std::string joined;
  int index = 0;
  for (const UtteranceResult& u : utterances) {
    if (u.text.empty()) continue;
    const Span span = SpanOf(u);
    ++index;
    switch (format) {
      case SegmentFormat::kLines:
        absl::StrAppendFormat(&out, "%s\t%.3f\t%.3f\t%s\n", path, span.start_s, span.end_s, u.text);
        break;
      case SegmentFormat::kSrt:
        absl::StrAppend(&out, index, "\n", SubtitleTime(span.start_s, ','), " --> ",
                        SubtitleTime(span.end_s, ','), "\n", u.text, "\n\n");
        break;
      case SegmentFormat::kVtt:
        absl::StrAppend(&out, SubtitleTime(span.start_s, '.'), " --> ",
                        SubtitleTime(span.end_s, '.'), "\n", u.text, "\n\n");
        break;
      default: absl::StrAppend(&joined, joined.empty() ? "" : " ", u.text);
    }
  }
  if (format == SegmentFormat::kText) return absl::StrCat(path, "\t", joined, "\n");
  return out;
}

}  // namespace lact
