#include "models/llama/llama_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/json.h"
#include "models/common/byte_level.h"

namespace uspdit::models::llama {
namespace {

namespace fs = std::filesystem;

// "pad_token" of a tokenizer_config.json / special_tokens_map.json: a string or {"content": ...};
// empty when the file or the field is absent.
std::string configured_pad_token(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return "";
  const io::Json doc = io::Json::parse_file(file.string());
  const io::Json* pad = doc.is_object() ? doc.find("pad_token") : nullptr;
  if (pad == nullptr || pad->is_null()) return "";
  if (pad->is_string()) return pad->as_string();
  const io::Json* content = pad->find("content");
  require(content != nullptr && content->is_string(),
          file.string() + ": pad_token is neither a string nor an object with a \"content\" string");
  return content->as_string();
}

// Pieces of `text` for one Split step: byte ranges, in order, none empty.
void split_pieces(std::string_view text, const unicode::Regex& regex, bool isolated, bool invert,
                  std::vector<std::string>& out) {
  // Keep matches unless they are removed; keep gaps unless, inverted, the gaps are removed.
  const bool keep_matches = isolated || invert;
  const bool keep_gaps = isolated || !invert;
  size_t at = 0;
  for (const auto& [begin, end] : regex.find_all(text)) {
    if (begin > at && keep_gaps) out.emplace_back(text.substr(at, begin - at));
    if (end > begin && keep_matches) out.emplace_back(text.substr(begin, end - begin));
    at = end;
  }
  if (at < text.size() && keep_gaps) out.emplace_back(text.substr(at));
}

}  // namespace

LlamaTokenizer LlamaTokenizer::load(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::is_directory(path, ec) ? fs::path(path) / "tokenizer.json" : fs::path(path);
  require(fs::is_regular_file(file, ec),
          "cannot read " + file.string() +
              " (the Llama tokenizer: tokenizer.json of the text encoder, e.g. "
              "ckpts/text_encoder/)");
  LlamaTokenizer tok;
  tok.source_ = file.string();
  tok.spec_ = read_tokenizer_json(tok.source_);
  tok.bpe_ = BytePairEncoding(tok.spec_.merges);
  tok.spec_.merges.clear();
  tok.spec_.merges.shrink_to_fit();
  for (const PreTokenizerStep& step : tok.spec_.pre_tokenizer) {
    const bool split = step.kind == PreTokenizerStep::Kind::kSplit;
    tok.step_regexes_.emplace_back(split ? step.pattern : std::string(kGpt2Pattern), false,
                                   tok.source_ + " pre_tokenizer");
  }

  int64_t max_id = -1;
  for (const auto& [token, id] : tok.spec_.vocab) max_id = std::max(max_id, id);
  for (const AddedToken& added : tok.spec_.added_tokens) max_id = std::max(max_id, added.id);
  tok.id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  tok.is_added_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : tok.spec_.vocab) tok.id_to_token_[static_cast<size_t>(id)] = token;
  for (const AddedToken& added : tok.spec_.added_tokens) {
    tok.id_to_token_[static_cast<size_t>(added.id)] = added.content;
    tok.is_added_[static_cast<size_t>(added.id)] = true;
    tok.added_ids_[added.content] = added.id;
  }
  for (int64_t id : tok.spec_.prefix_ids)
    require(id <= max_id, tok.source_ + ": post_processor id out of range");
  for (int64_t id : tok.spec_.suffix_ids)
    require(id <= max_id, tok.source_ + ": post_processor id out of range");

  const fs::path dir = file.parent_path();
  std::string pad = configured_pad_token(dir / "tokenizer_config.json");
  fs::path pad_source = dir / "tokenizer_config.json";
  if (pad.empty()) {
    pad = configured_pad_token(dir / "special_tokens_map.json");
    pad_source = dir / "special_tokens_map.json";
  }
  if (pad.empty()) {
    tok.pad_id_ = tok.token_id("<|end_of_text|>");  // -1 without it: encode_padded refuses to pad
  } else {
    tok.pad_id_ = tok.token_id(pad);
    require(tok.pad_id_ >= 0,
            pad_source.string() + ": pad token " + pad + " is not a token of " + tok.source_);
  }
  return tok;
}

int64_t LlamaTokenizer::token_id(const std::string& token) const {
  if (const auto it = added_ids_.find(token); it != added_ids_.end()) return it->second;
  if (const auto it = spec_.vocab.find(token); it != spec_.vocab.end()) return it->second;
  return -1;
}

std::vector<std::string> LlamaTokenizer::pre_tokenize(std::string_view text) const {
  std::vector<std::string> pieces{std::string(text)};
  for (size_t s = 0; s < spec_.pre_tokenizer.size(); ++s) {
    const PreTokenizerStep& step = spec_.pre_tokenizer[s];
    if (step.kind == PreTokenizerStep::Kind::kByteLevel && !step.use_regex) continue;  // bytes mapped later
    std::vector<std::string> next;
    for (const std::string& piece : pieces) {
      const bool isolated = step.kind == PreTokenizerStep::Kind::kByteLevel || step.isolated;
      split_pieces(piece, step_regexes_[s], isolated,
                   step.kind == PreTokenizerStep::Kind::kSplit && step.invert, next);
    }
    pieces = std::move(next);
  }
  return pieces;
}

void LlamaTokenizer::append_word_ids(const std::string& word_bytes, std::vector<int64_t>& out) const {
  if (spec_.ignore_merges) {
    if (const auto it = spec_.vocab.find(byte_level::encode(word_bytes)); it != spec_.vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  for (const std::string& symbol : bpe_.merge(byte_level::symbols(word_bytes))) {
    const auto it = spec_.vocab.find(symbol);
    if (it != spec_.vocab.end()) {
      out.push_back(it->second);
    } else {
      require(spec_.unk_id >= 0,
              source_ + ": symbol '" + symbol + "' is not in model.vocab and there is no unk_token");
      out.push_back(spec_.unk_id);
    }
  }
}

std::vector<int64_t> LlamaTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int64_t> ids;
  if (add_special_tokens) ids = spec_.prefix_ids;
  for (const TextPiece& piece : split_on_added_tokens(text, spec_.added_tokens)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    for (const std::string& word : pre_tokenize(piece.text)) append_word_ids(word, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), spec_.suffix_ids.begin(), spec_.suffix_ids.end());
  return ids;
}

PaddedIds LlamaTokenizer::encode_padded(std::string_view text, size_t max_length) const {
  PaddedIds padded =
      truncate_and_pad(encode(text, false), spec_.prefix_ids, spec_.suffix_ids, max_length, pad_id_, source_);
  require(pad_id_ >= 0 || padded.mask.empty() || padded.mask.back() == 1,
          source_ + ": no pad token to pad to " + std::to_string(max_length) +
              " (no pad_token in tokenizer_config.json or special_tokens_map.json beside it, and no "
              "<|end_of_text|>)");
  return padded;
}

std::string LlamaTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::string out, pending;  // pending: byte-level text of consecutive vocabulary tokens
  for (int64_t id : ids) {
    require(id >= 0 && id < vocab_size(),
            "token id " + std::to_string(id) + " is outside the vocabulary of " + source_);
    const auto index = static_cast<size_t>(id);
    if (!is_added_[index]) {
      pending += id_to_token_[index];
      continue;
    }
    out += byte_level::decode(pending);
    pending.clear();
    const auto it = std::find_if(spec_.added_tokens.begin(), spec_.added_tokens.end(),
                                 [&](const AddedToken& t) { return t.id == id; });
    if (!(skip_special_tokens && it != spec_.added_tokens.end() && it->special)) out += id_to_token_[index];
  }
  return out + byte_level::decode(pending);
}

}  // namespace uspdit::models::llama
