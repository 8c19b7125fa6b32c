#include "models/clip/clip_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "models/clip/clip_text.h"
#include "models/common/byte_level.h"

namespace uspdit::models::clip {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBos = "<|startoftext|>";
constexpr const char* kEos = "<|endoftext|>";
// transformers' CLIPTokenizer.pat (compiled with re.IGNORECASE).
constexpr const char* kPattern =
    R"(<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+)";
constexpr const char* kHint = "the CLIP tokenizer: openai/clip-vit-large-patch14's vocab.json and merges.txt";

std::string read_file(const fs::path& file) {
  std::error_code ec;
  require(fs::is_regular_file(file, ec), "cannot read " + file.string() + " (" + kHint + ")");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  require(in.good() || in.eof(), "cannot read " + file.string() + " (" + kHint + ")");
  return text.str();
}

// merges.txt: a header line, then "left right" per line; the slow tokenizer keeps the lines
// [1, 1 + kMergesUsed) of the stripped file.
std::vector<BytePairEncoding::Merge> read_merges(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<BytePairEncoding::Merge> merges;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // "#version: 0.2"
  while (merges.size() < ClipTokenizer::kMergesUsed && std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      break;  // the end (the slow tokenizer strips the file)
    std::istringstream fields(line);
    std::string left, right, extra;
    fields >> left >> right;
    require(!left.empty() && !right.empty() && !(fields >> extra),
            file.string() + ": line " + std::to_string(merges.size() + 2) + " is not \"left right\" (" +
                kHint + ")");
    merges.emplace_back(left, right);
  }
  require(!merges.empty(), file.string() + ": no merges (" + kHint + ")");
  return merges;
}

}  // namespace

ClipTokenizer::ClipTokenizer() : regex_(kPattern, true, "CLIP tokenizer") {}

ClipTokenizer ClipTokenizer::load(const std::string& path) {
  std::error_code ec;
  require(fs::is_directory(path, ec), "cannot read " + path + " (a directory with " + kHint + ")");
  ClipTokenizer tok;
  const fs::path vocab_file = fs::path(path) / "vocab.json";
  tok.source_ = vocab_file.string();
  const io::Json vocab = io::Json::parse(read_file(vocab_file), tok.source_);
  require(vocab.is_object(), tok.source_ + ": expected an object of token -> id (" + kHint + ")");
  int64_t max_id = -1;
  for (size_t i = 0; i < vocab.size(); ++i) {
    require(vocab.item(i).is_int() && vocab.item(i).as_int() >= 0,
            tok.source_ + ": the id of \"" + vocab.key(i) + "\" is not a non-negative integer");
    tok.encoder_.emplace(vocab.key(i), vocab.item(i).as_int());
    max_id = std::max(max_id, vocab.item(i).as_int());
  }
  tok.id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  for (const auto& [token, id] : tok.encoder_) tok.id_to_token_[static_cast<size_t>(id)] = token;
  for (const char* special : {kBos, kEos}) {
    require(tok.encoder_.count(special) == 1, tok.source_ + ": has no " + special + " (" + kHint + ")");
  }
  tok.bos_id_ = tok.encoder_.at(kBos);
  tok.eos_id_ = tok.encoder_.at(kEos);
  tok.special_tokens_ = {{kBos, tok.bos_id_, true, false, false}, {kEos, tok.eos_id_, true, false, false}};
  tok.bpe_ = BytePairEncoding(read_merges(fs::path(path) / "merges.txt"));
  return tok;
}

void ClipTokenizer::append_word_ids(const std::string& word, std::vector<int64_t>& out) const {
  // The slow tokenizer's BPE cache starts with the two special tokens, so a match of the regex's
  // first two alternatives (e.g. "<|ENDOFTEXT|>" lower-cased) is that token, without "</w>".
  if (word == kBos || word == kEos) {
    out.push_back(encoder_.at(word));
    return;
  }
  std::vector<std::string> symbols = byte_level::symbols(word);
  symbols.back() += "</w>";
  for (const std::string& symbol : bpe_.merge(std::move(symbols))) {
    const auto it = encoder_.find(symbol);
    out.push_back(it != encoder_.end() ? it->second : eos_id_);  // unk_token is <|endoftext|>
  }
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int64_t> ids;
  if (add_special_tokens) ids.push_back(bos_id_);
  for (const TextPiece& piece : split_on_added_tokens(text, special_tokens_)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    const std::string cleaned = basic_clean(piece.text);
    for (const auto& [begin, end] : regex_.find_all(cleaned)) {
      append_word_ids(cleaned.substr(begin, end - begin), ids);
    }
  }
  if (add_special_tokens) ids.push_back(eos_id_);
  return ids;
}

PaddedIds ClipTokenizer::encode_padded(std::string_view text, size_t max_length) const {
  return truncate_and_pad(encode(text, false), {bos_id_}, {eos_id_}, max_length, pad_id(), source_);
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string joined;
  for (int64_t id : ids) {
    require(id >= 0 && id < vocab_size(),
            "token id " + std::to_string(id) + " is outside the vocabulary of " + source_);
    joined += id_to_token_[static_cast<size_t>(id)];
  }
  std::string text = byte_level::decode(joined);
  std::string out;
  for (size_t at = 0; at < text.size();) {
    if (text.compare(at, 4, "</w>") == 0) {
      out += ' ';
      at += 4;
    } else {
      out += text[at++];
    }
  }
  const size_t first = out.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return "";
  return out.substr(first, out.find_last_not_of(" \t\n\r\f\v") - first + 1);
}

}  // namespace uspdit::models::clip
