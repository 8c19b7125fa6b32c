// Prompts of arbitrary bytes (valid UTF-8 or not) through the three tokenizers as the pipelines
// call them: umt5 (Wan 2.1), Llama 3 and CLIP (HunyuanVideo), loaded once from tests/data.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "models/clip/clip_tokenizer.h"
#include "models/llama/llama_tokenizer.h"
#include "models/umt5/umt5_tokenizer.h"

namespace {

const std::string kData = USPDIT_SOURCE_DIR "/tests/data";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace uspdit::models;
  static const auto umt5 = umt5::Umt5Tokenizer::load(kData + "/umt5/tokenizer");
  static const auto llama = llama::LlamaTokenizer::load(kData + "/tokenizers/llama3");
  static const auto clip = clip::ClipTokenizer::load(kData + "/tokenizers/clip");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)umt5.encode({text}, 64);
  } catch (const uspdit::UsageError&) {
  }
  try {
    (void)llama.decode(llama.encode_padded(text, 64).ids);
  } catch (const uspdit::UsageError&) {
  }
  try {
    (void)clip.decode(clip.encode_padded(text).ids);
  } catch (const uspdit::UsageError&) {
  }
  return 0;
}
