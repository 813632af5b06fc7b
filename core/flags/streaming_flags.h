// The streaming flag group, shared by lact_server, lact_transcribe (--streaming) and lact_bench:
// the streaming window (--step_ms, --left_context_ms, --lookahead_ms, --first_partial_ms,
// --window_batching) and --max_batch.
#pragma once

#include "core/streaming/streaming_config.h"

namespace lact {

StreamingConfig GetStreamingFlags();  // validated where it is used (OnlineRecognizer::Create)
int GetMaxBatchFlag();                // most streams decoded together in one model call

}  // namespace lact
