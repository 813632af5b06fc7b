// What a stream's LaCT fast weights span (RecognitionConfig.lact_scope). No LibTorch: the server's
// session options name it.
#pragma once

namespace lact {

enum class LactScope {
  kStream,     // they continue across utterances: the stream's adaptation is kept
  kUtterance,  // reset at each endpoint, at the first committed frame after the end decision
};

}  // namespace lact
