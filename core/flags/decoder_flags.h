// The decoder flag group, shared by lact_server and lact_transcribe: --decoder, --beam_size,
// --lm_weight, --word_score, --token_threshold, --calibrate_confidence (docs/language_model.md).
#pragma once

#include "core/streaming/decoding_config.h"

namespace lact {

DecodingConfig GetDecoderFlags();  // validated where it is used (OnlineRecognizer::Create)

}  // namespace lact
