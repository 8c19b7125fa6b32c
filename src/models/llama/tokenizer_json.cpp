#include "models/llama/tokenizer_json.h"

#include "core/error.h"
#include "io/json.h"

namespace uspdit::models::llama {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw UsageError(path_ + ": " + what +
                     " (expected a Hugging Face tokenizer.json of a byte-level BPE "
                     "tokenizer such as Llama 3's)");
  }
  const io::Json& member(const io::Json& object, const char* key, const char* where) const {
    const io::Json* value = object.find(key);
    if (value == nullptr) fail(std::string(where) + " has no \"" + key + "\"");
    return *value;
  }
  std::string string(const io::Json& value, const std::string& where) const {
    if (!value.is_string()) fail(where + " is " + value.type_name() + ", expected a string");
    return value.as_string();
  }
  bool flag(const io::Json& object, const char* key, bool fallback) const {
    const io::Json* value = object.find(key);
    if (value == nullptr || value->is_null()) return fallback;
    if (!value->is_bool())
      fail(std::string("\"") + key + "\" is " + value->type_name() + ", expected a boolean");
    return value->as_bool();
  }

  void read_model(const io::Json& model, TokenizerJson& out) const {
    if (!model.is_object()) fail("\"model\" is " + model.type_name() + ", expected an object");
    const io::Json* type = model.find("type");
    if (type != nullptr && (!type->is_string() || type->as_string() != "BPE")) {
      fail("model type " + (type->is_string() ? type->as_string() : type->type_name()) +
           " is not supported, only BPE");
    }
    const io::Json& vocab = member(model, "vocab", "\"model\"");
    if (!vocab.is_object()) fail("model.vocab is " + vocab.type_name() + ", expected an object");
    out.vocab.reserve(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) {
      if (!vocab.item(i).is_int()) fail("model.vocab[\"" + vocab.key(i) + "\"] is not an integer");
      out.vocab.emplace(vocab.key(i), vocab.item(i).as_int());
    }
    const io::Json& merges = member(model, "merges", "\"model\"");
    if (!merges.is_array()) fail("model.merges is " + merges.type_name() + ", expected an array");
    out.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const io::Json& merge = merges.item(i);
      // Two forms: "left right" (tokenizers < 0.20) and ["left", "right"] (0.20 on).
      if (merge.is_string()) {
        const std::string& text = merge.as_string();
        const size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
          fail("model.merges[" + std::to_string(i) + "] \"" + text +
               "\" is not two symbols separated by a space");
        }
        out.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      } else if (merge.is_array() && merge.size() == 2 && merge.item(0).is_string() &&
                 merge.item(1).is_string()) {
        out.merges.emplace_back(merge.item(0).as_string(), merge.item(1).as_string());
      } else {
        fail("model.merges[" + std::to_string(i) + "] is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
    out.ignore_merges = flag(model, "ignore_merges", false);
    if (flag(model, "byte_fallback", false)) fail("model.byte_fallback true is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const io::Json* value = model.find(key);
      if (value != nullptr && !value->is_null() && !(value->is_string() && value->as_string().empty())) {
        fail(std::string("model.") + key + " is not supported");
      }
    }
    const io::Json* dropout = model.find("dropout");
    if (dropout != nullptr && !dropout->is_null() && !(dropout->is_number() && dropout->as_number() == 0.0)) {
      fail("model.dropout is not supported (training only)");
    }
    const io::Json* unk = model.find("unk_token");
    if (unk != nullptr && !unk->is_null()) {
      const auto it = out.vocab.find(string(*unk, "model.unk_token"));
      if (it == out.vocab.end()) fail("model.unk_token is not in model.vocab");
      out.unk_id = it->second;
    }
  }

  void read_added_tokens(const io::Json& doc, TokenizerJson& out) const {
    const io::Json* added = doc.find("added_tokens");
    if (added == nullptr || added->is_null()) return;
    if (!added->is_array()) fail("\"added_tokens\" is " + added->type_name() + ", expected an array");
    for (size_t i = 0; i < added->size(); ++i) {
      const io::Json& entry = added->item(i);
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!entry.is_object()) fail(where + " is not an object");
      AddedToken token;
      token.content = string(member(entry, "content", where.c_str()), where + ".content");
      const io::Json& id = member(entry, "id", where.c_str());
      if (!id.is_int() || id.as_int() < 0) fail(where + ".id is not a non-negative integer");
      token.id = id.as_int();
      token.special = flag(entry, "special", false);
      token.lstrip = flag(entry, "lstrip", false);
      token.rstrip = flag(entry, "rstrip", false);
      if (flag(entry, "single_word", false))
        fail(where + " (" + token.content + "): single_word is not supported");
      out.added_tokens.push_back(std::move(token));
    }
  }

  void read_pre_tokenizer_step(const io::Json& step, TokenizerJson& out) const {
    if (!step.is_object()) fail("pre_tokenizer step is " + step.type_name() + ", expected an object");
    const std::string type = string(member(step, "type", "pre_tokenizer"), "pre_tokenizer.type");
    PreTokenizerStep parsed;
    if (type == "Sequence") {
      const io::Json& steps = member(step, "pretokenizers", "pre_tokenizer Sequence");
      if (!steps.is_array()) fail("pre_tokenizer Sequence.pretokenizers is not an array");
      for (size_t i = 0; i < steps.size(); ++i) read_pre_tokenizer_step(steps.item(i), out);
      return;
    } else if (type == "Split") {
      parsed.kind = PreTokenizerStep::Kind::kSplit;
      const io::Json& pattern = member(step, "pattern", "pre_tokenizer Split");
      if (const io::Json* regex = pattern.find("Regex")) {
        parsed.pattern = string(*regex, "pre_tokenizer Split.pattern.Regex");
      } else if (const io::Json* literal = pattern.find("String")) {
        parsed.pattern = "\\Q" + string(*literal, "pre_tokenizer Split.pattern.String") + "\\E";
      } else {
        fail("pre_tokenizer Split.pattern has neither \"Regex\" nor \"String\"");
      }
      const std::string behavior = string(member(step, "behavior", "pre_tokenizer Split"), "Split.behavior");
      if (behavior != "Isolated" && behavior != "Removed") {
        fail("pre_tokenizer Split behavior " + behavior + " is not supported (Isolated, Removed)");
      }
      parsed.isolated = behavior == "Isolated";
      parsed.invert = flag(step, "invert", false);
    } else if (type == "ByteLevel") {
      parsed.kind = PreTokenizerStep::Kind::kByteLevel;
      if (flag(step, "add_prefix_space", false))
        fail("pre_tokenizer ByteLevel add_prefix_space true is not supported");
      parsed.use_regex = flag(step, "use_regex", true);
    } else {
      fail("pre_tokenizer type " + type + " is not supported (Sequence, Split, ByteLevel)");
    }
    out.pre_tokenizer.push_back(std::move(parsed));
  }

  void read_template(const io::Json& processor, TokenizerJson& out) const {
    const io::Json& single = member(processor, "single", "post_processor TemplateProcessing");
    const io::Json& specials = member(processor, "special_tokens", "post_processor TemplateProcessing");
    if (!single.is_array()) fail("post_processor TemplateProcessing.single is not an array");
    bool after_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const io::Json& piece = single.item(i);
      if (const io::Json* special = piece.find("SpecialToken")) {
        const std::string name =
            string(member(*special, "id", "TemplateProcessing SpecialToken"), "SpecialToken.id");
        const io::Json* entry = specials.find(name);
        if (entry == nullptr) fail("post_processor special_tokens has no \"" + name + "\"");
        const io::Json& ids = member(*entry, "ids", "TemplateProcessing special_tokens entry");
        if (!ids.is_array()) fail("post_processor special_tokens[\"" + name + "\"].ids is not an array");
        for (size_t k = 0; k < ids.size(); ++k) {
          if (!ids.item(k).is_int())
            fail("post_processor special_tokens[\"" + name + "\"].ids holds a non-integer");
          (after_sequence ? out.suffix_ids : out.prefix_ids).push_back(ids.item(k).as_int());
        }
      } else if (piece.find("Sequence") != nullptr) {
        if (after_sequence) fail("post_processor TemplateProcessing.single has two sequences");
        after_sequence = true;
      } else {
        fail("post_processor TemplateProcessing.single holds neither SpecialToken nor Sequence");
      }
    }
    if (!after_sequence) fail("post_processor TemplateProcessing.single has no $A sequence");
  }

  void read_post_processor(const io::Json& processor, TokenizerJson& out) const {
    if (processor.is_null()) return;
    const std::string type = string(member(processor, "type", "post_processor"), "post_processor.type");
    if (type == "Sequence") {
      const io::Json& steps = member(processor, "processors", "post_processor Sequence");
      if (!steps.is_array()) fail("post_processor Sequence.processors is not an array");
      for (size_t i = 0; i < steps.size(); ++i) read_post_processor(steps.item(i), out);
    } else if (type == "TemplateProcessing") {
      if (!out.prefix_ids.empty() || !out.suffix_ids.empty()) fail("post_processor has two templates");
      read_template(processor, out);
    } else if (type != "ByteLevel") {  // ByteLevel only adjusts offsets
      fail("post_processor type " + type + " is not supported (Sequence, TemplateProcessing, ByteLevel)");
    }
  }

 private:
  std::string path_;
};

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& path) {
  const io::Json doc =
      io::Json::parse_file(path, "the tokenizer.json of the text encoder, e.g. ckpts/text_encoder/");
  const Reader reader(path);
  if (!doc.is_object()) reader.fail("the document is " + doc.type_name() + ", expected an object");
  TokenizerJson out;
  reader.read_model(reader.member(doc, "model", "the document"), out);
  reader.read_added_tokens(doc, out);
  const io::Json* normalizer = doc.find("normalizer");
  if (normalizer != nullptr && !normalizer->is_null()) {
    const io::Json* type = normalizer->find("type");
    reader.fail("normalizer " +
                (type != nullptr && type->is_string() ? type->as_string() : std::string("?")) +
                " is not supported (Llama 3 has none)");
  }
  const io::Json* pre = doc.find("pre_tokenizer");
  if (pre != nullptr && !pre->is_null()) reader.read_pre_tokenizer_step(*pre, out);
  if (const io::Json* post = doc.find("post_processor")) reader.read_post_processor(*post, out);
  return out;
}

}  // namespace uspdit::models::llama
