#include "core/decoding/ctc_decoder.h"

#include <algorithm>
#include <utility>

namespace lact {
namespace {

// [T] integer ids (any device) -> contiguous int64 CPU tensor.
torch::Tensor IdsToCpu(const torch::Tensor& ids) {
  TORCH_CHECK(ids.dim() == 1, "CTC ids must be 1-D [T], got shape ", ids.sizes());
  TORCH_CHECK(!ids.is_floating_point() && !ids.is_complex(),
              "CTC ids must have an integer dtype, got ", ids.scalar_type());
  return ids.to(torch::kCPU, torch::kLong).contiguous();
}

}  // namespace

torch::Tensor CtcArgmax(const torch::Tensor& logits) {
  torch::Tensor x = logits;
  if (x.dim() == 3) {
    TORCH_CHECK(x.size(0) == 1, "CTC logits [B, T, V] must have B == 1, got ", x.sizes());
    x = x.squeeze(0);
  }
  TORCH_CHECK(x.dim() == 2, "CTC logits must be [T, V], got shape ", x.sizes());
  if (x.size(0) == 0) return torch::empty({0}, torch::kLong);
  return x.argmax(/*dim=*/-1).to(torch::kCPU, torch::kLong).contiguous();  // [T]
}

CtcResult GreedyDecode(const torch::Tensor& logits, const Vocab& vocab, double frame_seconds) {
  TORCH_CHECK(logits.dim() >= 1 && logits.size(-1) == vocab.size(), "CTC logits' last dimension (",
              logits.dim() >= 1 ? logits.size(-1) : -1, ") != vocabulary size (", vocab.size(),
              ")");
  CtcGreedyDecoder decoder(vocab, frame_seconds);
  decoder.Accept(CtcArgmax(logits), logits.dim() == 3 ? logits[0] : logits);
  return decoder.Committed();
}

CtcResult GreedyDecodeIds(const torch::Tensor& ids, const Vocab& vocab, double frame_seconds) {
  CtcGreedyDecoder decoder(vocab, frame_seconds);
  decoder.Accept(ids);
  return decoder.Committed();
}

CtcGreedyDecoder::CtcGreedyDecoder(const Vocab& vocab, double frame_seconds)
    : vocab_(&vocab), frame_seconds_(frame_seconds) {
  TORCH_CHECK(frame_seconds > 0, "CTC frame_seconds must be > 0, got ", frame_seconds);
}

void CtcGreedyDecoder::Accept(const torch::Tensor& ids, const torch::Tensor& logits) {
  const torch::Tensor cpu = IdsToCpu(ids);
  torch::Tensor probs;  // [T] double: each frame's posterior of its id
  if (logits.defined()) {
    TORCH_CHECK(
        logits.dim() == 2 && logits.size(0) == cpu.size(0) && logits.size(1) == vocab_->size(),
        "CTC logits must be [", cpu.size(0), ", ", vocab_->size(), "], got ", logits.sizes());
    probs = logits.to(torch::kCPU, torch::kDouble)
                .softmax(-1)
                .gather(1, cpu.unsqueeze(1))
                .squeeze(1)
                .contiguous();
  }
  Accept(cpu.data_ptr<int64_t>(), static_cast<size_t>(cpu.numel()),
         probs.defined() ? probs.data_ptr<double>() : nullptr);
}

void CtcGreedyDecoder::Accept(const int64_t* ids, size_t n, const double* probs) {
  const int64_t vocab_size = vocab_->size();
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = frame_++;
    const int64_t id = ids[i];
    const double p = probs != nullptr ? probs[i] : 1.0;
    TORCH_CHECK(id >= 0 && id < vocab_size, "CTC id ", id, " at frame ", t,
                " is outside the vocabulary of size ", vocab_size);
    const Vocab::Kind kind = vocab_->kind(id);
    if (kind == Vocab::Kind::kSpecial) continue;  // as if absent: does not break a run
    if (id == prev_id_) {
      // The run goes on. If it is a text token, it is the open word's last token: extend it.
      if (kind == Vocab::Kind::kText) {
        words_.back().end_frame = t + 1;
        words_.back().prob_sum += std::exchange(pending_prob_, 0.0) + p;
      } else if (kind == Vocab::Kind::kBlank && word_open_) {
        pending_prob_ += p;
      }
      continue;
    }
    prev_id_ = id;
    switch (kind) {
      case Vocab::Kind::kBlank:
        if (word_open_) pending_prob_ += p;
        break;
      case Vocab::Kind::kDelimiter:
        word_open_ = false;
        pending_prob_ = 0;
        break;
      case Vocab::Kind::kText:
        if (!word_open_) {
          words_.push_back(Word{vocab_->token(id), t, t + 1, p});
          word_open_ = true;
          pending_prob_ = 0;
        } else {
          words_.back().text += vocab_->token(id);
          words_.back().end_frame = t + 1;
          words_.back().prob_sum += std::exchange(pending_prob_, 0.0) + p;
        }
        break;
      case Vocab::Kind::kSpecial: break;  // handled above
    }
  }
}

CtcResult CtcGreedyDecoder::ToResult() const {
  CtcResult result;
  double sum = 0;
  result.words.reserve(words_.size());
  for (const Word& w : words_) {
    if (w.text.empty()) continue;  // only a token spelled "" could make one
    if (!result.text.empty()) result.text += ' ';
    result.text += w.text;
    const double confidence =
        std::clamp(w.prob_sum / static_cast<double>(w.end_frame - w.start_frame), 0.0, 1.0);
    result.words.push_back(
        WordInfo{w.text, w.start_frame * frame_seconds_, w.end_frame * frame_seconds_, confidence});
    sum += confidence;
  }
  result.confidence = result.words.empty() ? 1.0 : sum / static_cast<double>(result.words.size());
  return result;
}

CtcResult CtcGreedyDecoder::Committed() const { return ToResult(); }

CtcResult CtcGreedyDecoder::WithProvisional(const torch::Tensor& provisional,
                                            const torch::Tensor& provisional_logits) const {
  CtcGreedyDecoder copy = *this;
  copy.Accept(provisional, provisional_logits);
  return copy.ToResult();
}

void CtcGreedyDecoder::Reset() {
  frame_ = 0;
  prev_id_ = -1;
  word_open_ = false;
  pending_prob_ = 0;
  words_.clear();
}

}  // namespace lact
