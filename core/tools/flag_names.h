// Lets the command-line tools accept both spellings of a flag, `--dump-logits` and
// `--dump_logits`: abseil flag names cannot contain '-', so dashes in the name part of a
// `--flag[=value]` argument are turned into underscores before parsing.
#pragma once

#include <string>
#include <vector>

namespace lact {

inline std::vector<char*> NormalizeFlagNames(int argc, char** argv, std::vector<std::string>* storage) {
  storage->assign(argv, argv + argc);
  bool after_double_dash = false;
  for (size_t i = 1; i < storage->size(); ++i) {
    std::string& a = (*storage)[i];
    if (a == "--") after_double_dash = true;
    if (after_double_dash || a.size() < 3 || a[0] != '-') continue;
    const size_t start = a[1] == '-' ? 2 : 1;
    const size_t end = a.find('=') == std::string::npos ? a.size() : a.find('=');
    for (size_t j = start; j < end; ++j) {
      if (a[j] == '-') a[j] = '_';
    }
  }
  std::vector<char*> out;
  for (auto& s : *storage) out.push_back(s.data());
  return out;
}

}  // namespace lact
