#include "models/umt5/umt5_tokenizer.h"

#include <ATen/ATen.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "models/umt5/umt5_text.h"

namespace uspdit::models::umt5 {
namespace fs = std::filesystem;

namespace {

// tokenizer.json's model.byte_fallback without parsing the whole file (umt5's is ~16 MB of
// vocabulary): the key occurs only in the model section. Absent means false.
bool tokenizer_json_byte_fallback(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const auto key = s.find("\"byte_fallback\"");
  if (key == std::string::npos) return false;
  auto pos = s.find(':', key);
  require(pos != std::string::npos, path.string() + ": malformed \"byte_fallback\" entry");
  pos = s.find_first_not_of(" \t\r\n", pos + 1);
  return pos != std::string::npos && s.compare(pos, 4, "true") == 0;
}

}  // namespace

Umt5Tokenizer Umt5Tokenizer::load(const std::string& path) {
  fs::path model = path;
  if (fs::is_directory(model)) {
    // A diffusers pipeline root keeps the tokenizer in tokenizer/.
    if (!fs::exists(model / "spiece.model") && fs::exists(model / "tokenizer" / "spiece.model")) {
      model = model / "tokenizer";
    }
    model = model / "spiece.model";
  }
  require(fs::is_regular_file(model), "umt5 tokenizer: no " + model.string() +
                                          " (give a spiece.model file or a directory holding one, e.g. "
                                          "google/umt5-xxl/ or a diffusers tokenizer/ folder)");
  auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->Load(model.string());
  require(status.ok(), "umt5 tokenizer: cannot load " + model.string() + " as a sentencepiece model: " +
                           status.ToString());
  require(sp->eos_id() >= 0 && sp->unk_id() >= 0,
          "umt5 tokenizer: " + model.string() + " defines no </s> or <unk> piece (not a T5/umt5 spiece.model?)");
  Umt5Tokenizer tok;
  tok.sp_ = sp;
  tok.pad_id_ = sp->pad_id() >= 0 ? sp->pad_id() : 0;
  tok.eos_id_ = sp->eos_id();
  tok.unk_id_ = sp->unk_id();
  const fs::path json = model.parent_path() / "tokenizer.json";
  tok.byte_fallback_ = fs::is_regular_file(json) && tokenizer_json_byte_fallback(json);
  return tok;
}

int64_t Umt5Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::vector<int64_t> Umt5Tokenizer::ids(std::string_view cleaned) const {
  std::vector<int> pieces;
  const auto status = sp_->Encode(std::string(cleaned), &pieces);
  require(status.ok(), "umt5 tokenizer: sentencepiece failed: " + status.ToString());
  std::vector<int64_t> out;
  out.reserve(pieces.size());
  for (const int id : pieces) {
    if (!byte_fallback_ && sp_->IsByte(id)) {
      // sentencepiece merges a run of unknown characters into one unknown piece before
      // spelling it in bytes, so a run of byte pieces is one <unk>.
      if (out.empty() || out.back() != -1) out.push_back(-1);
      continue;
    }
    out.push_back(id);
  }
  std::replace(out.begin(), out.end(), int64_t{-1}, unk_id_);
  return out;
}

TokenBatch Umt5Tokenizer::encode(const std::vector<std::string>& prompts, int64_t max_len) const {
  require(max_len >= 1, "umt5 tokenizer: max_len must be at least 1, got " + std::to_string(max_len));
  const auto batch = static_cast<int64_t>(prompts.size());
  auto ids_t = at::full({batch, max_len}, pad_id_, at::kLong);
  auto mask_t = at::zeros({batch, max_len}, at::kLong);
  auto ids_a = ids_t.accessor<int64_t, 2>();
  auto mask_a = mask_t.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    auto row = ids(clean_prompt(prompts[static_cast<size_t>(b)]));
    // transformers truncates the text to leave room for </s>, which always ends the row.
    if (static_cast<int64_t>(row.size()) > max_len - 1) row.resize(static_cast<size_t>(max_len - 1));
    row.push_back(eos_id_);
    for (size_t i = 0; i < row.size(); ++i) {
      ids_a[b][static_cast<int64_t>(i)] = row[i];
      mask_a[b][static_cast<int64_t>(i)] = 1;
    }
  }
  return {ids_t, mask_t};
}

}  // namespace uspdit::models::umt5
