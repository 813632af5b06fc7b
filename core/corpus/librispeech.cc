#include "core/corpus/librispeech.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace lact::eval {
namespace fs = std::filesystem;
namespace {

bool IsDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Numeric order for all-digit names ("121" < "1089"), byte order otherwise, digits first.
bool NameLess(const std::string& a, const std::string& b) {
  const bool da = IsDigits(a), db = IsDigits(b);
  if (da && db) {
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  }
  if (da != db) return da;
  return a < b;
}

std::vector<std::string> SubdirectoryNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end(), NameLess);
  return names;
}

bool IsDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// "<speaker>-<chapter>-<utt>" -> speaker, chapter; false when `id` does not have that form.
bool ParseLibriSpeechId(const std::string& id, std::string* speaker, std::string* chapter) {
  const std::vector<std::string> parts = absl::StrSplit(id, '-');
  if (parts.size() != 3 || !IsDigits(parts[0]) || !IsDigits(parts[1]) || !IsDigits(parts[2])) {
    return false;
  }
  *speaker = parts[0];
  *chapter = parts[1];
  return true;
}

// The utterances of one chapter folder, from its transcript file.
absl::Status ReadChapter(const fs::path& chapter_dir, const std::string& speaker,
                         const std::string& chapter, std::vector<CorpusItem>* items) {
  const fs::path trans = chapter_dir / absl::StrCat(speaker, "-", chapter, ".trans.txt");
  std::ifstream in(trans);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("LibriSpeech chapter folder '", chapter_dir.string(),
                                            "' has no transcript file '", trans.filename().string(),
                                            "'"));
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    const size_t space = text.find(' ');
    CorpusItem item;
    item.id = std::string(text.substr(0, space));
    item.reference = space == absl::string_view::npos
                         ? std::string()
                         : std::string(absl::StripAsciiWhitespace(text.substr(space + 1)));
    std::string id_speaker, id_chapter;
    if (!ParseLibriSpeechId(item.id, &id_speaker, &id_chapter) || id_speaker != speaker ||
        id_chapter != chapter) {
      return absl::InvalidArgumentError(
          absl::StrCat(trans.string(), ":", line_number, ": utterance id '", item.id,
                       "' is not of the form ", speaker, "-", chapter, "-<number>"));
    }
    item.speaker = speaker;
    item.chapter = chapter;
    fs::path audio = chapter_dir / (item.id + ".flac");
    if (!IsFile(audio)) {
      const fs::path wav = chapter_dir / (item.id + ".wav");
      if (!IsFile(wav)) {
        return absl::NotFoundError(absl::StrCat(trans.string(), ":", line_number,
                                                ": no audio file '", audio.string(), "'"));
      }
      audio = wav;
    }
    item.audio_paths.push_back(audio.string());
    items->push_back(std::move(item));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CorpusOptions::Validate() const {
  if (librispeech_dir.empty() == manifest.empty()) {
    return absl::InvalidArgumentError("give exactly one of --librispeech DIR and --manifest FILE");
  }
  if (!librispeech_dir.empty() && split.empty()) {
    return absl::InvalidArgumentError("--split must not be empty");
  }
  if (limit < 0)
    return absl::InvalidArgumentError(absl::StrCat("--limit must be >= 0, got ", limit));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveSplitDir(const std::string& dir, const std::string& split) {
  const fs::path root(dir);
  if (!IsDir(root)) {
    return absl::NotFoundError(absl::StrCat("LibriSpeech folder not found: '", dir, "'"));
  }
  for (const fs::path& candidate : {root / split, root / "LibriSpeech" / split}) {
    if (IsDir(candidate)) return candidate.string();
  }
  // The split folder itself (trailing slashes ignored).
  fs::path normal = root.lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  if (normal.filename() == split) return root.string();
  return absl::NotFoundError(absl::StrCat("no split '", split, "' in '", dir, "' (looked for ",
                                          (root / split).string(), " and ",
                                          (root / "LibriSpeech" / split).string(), ")"));
}

absl::StatusOr<std::vector<CorpusItem>> ReadLibriSpeechSplit(const std::string& split_dir) {
  std::vector<CorpusItem> items;
  for (const std::string& speaker : SubdirectoryNames(split_dir)) {
    const fs::path speaker_dir = fs::path(split_dir) / speaker;
    for (const std::string& chapter : SubdirectoryNames(speaker_dir)) {
      if (auto s = ReadChapter(speaker_dir / chapter, speaker, chapter, &items); !s.ok()) return s;
    }
  }
  return items;
}

absl::StatusOr<std::vector<CorpusItem>> ReadManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("manifest not found: '", path, "'"));
  const fs::path base = fs::path(path).parent_path();
  std::vector<CorpusItem> items;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": expected 'path<TAB>reference', found no tab"));
    }
    fs::path audio(std::string(absl::StripAsciiWhitespace(line.substr(0, tab))));
    if (audio.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": empty audio path"));
    }
    if (audio.is_relative()) audio = base / audio;
    if (!IsFile(audio)) {
      return absl::NotFoundError(
          absl::StrCat(path, ":", line_number, ": no audio file '", audio.string(), "'"));
    }
    CorpusItem item;
    item.id = audio.stem().string();
    item.reference = std::string(absl::StripAsciiWhitespace(line.substr(tab + 1)));
    item.audio_paths.push_back(audio.string());
    ParseLibriSpeechId(item.id, &item.speaker, &item.chapter);
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<CorpusItem> GroupLongForm(const std::vector<CorpusItem>& items) {
  std::vector<CorpusItem> out;
  for (const CorpusItem& item : items) {
    const bool groupable = !item.speaker.empty() && !item.chapter.empty();
    if (groupable && !out.empty() && out.back().speaker == item.speaker &&
        out.back().chapter == item.chapter && out.back().id == item.speaker + "-" + item.chapter) {
      CorpusItem& group = out.back();
      group.audio_paths.insert(group.audio_paths.end(), item.audio_paths.begin(),
                               item.audio_paths.end());
      if (!item.reference.empty()) {
        if (!group.reference.empty()) group.reference += ' ';
        group.reference += item.reference;
      }
      continue;
    }
    out.push_back(item);
    if (groupable) out.back().id = item.speaker + "-" + item.chapter;
  }
  return out;
}

absl::StatusOr<std::vector<CorpusItem>> LoadCorpus(const CorpusOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  std::vector<CorpusItem> items;
  std::string source;
  if (!options.manifest.empty()) {
    auto read = ReadManifest(options.manifest);
    if (!read.ok()) return read.status();
    items = *std::move(read);
    source = options.manifest;
  } else {
    auto split_dir = ResolveSplitDir(options.librispeech_dir, options.split);
    if (!split_dir.ok()) return split_dir.status();
    auto read = ReadLibriSpeechSplit(*split_dir);
    if (!read.ok()) return read.status();
    items = *std::move(read);
    source = *split_dir;
  }
  if (options.long_form) items = GroupLongForm(items);
  if (options.limit > 0 && static_cast<size_t>(options.limit) < items.size()) {
    items.resize(static_cast<size_t>(options.limit));
  }
  if (items.empty()) {
    return absl::NotFoundError(absl::StrCat("no utterances found in '", source, "'"));
  }
  return items;
}

}  // namespace lact::eval
