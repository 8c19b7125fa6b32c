// Llama 3's tokenizer (HunyuanVideo's text encoder) against transformers 4.46.3's fast tokenizer
// on the real Llama 3 vocabulary (tests/data/tokenizers/, tools/make_tokenizer_fixtures.py; the
// same ids as tiktoken's own encode), and its refusal of tokenizer.json files it cannot follow.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "models/llama/llama_tokenizer.h"

namespace uspdit::models::llama {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/tokenizers/";

std::vector<int64_t> ints(const io::Json& array) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < array.size(); ++i) out.push_back(array.item(i).as_int());
  return out;
}

const io::Json& references() {
  static const io::Json doc = io::Json::parse_file(kData + "references.json");
  return doc;
}

const LlamaTokenizer& real_tokenizer() {
  static const LlamaTokenizer tok = LlamaTokenizer::load(kData + "llama3");
  return tok;
}

TEST(LlamaTokenizer, IdsEqualTransformersOnEveryPrompt) {
  const LlamaTokenizer& tok = real_tokenizer();
  const io::Json& cases = *references().find("cases");
  ASSERT_GE(cases.size(), 20u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const io::Json& c = cases.item(i);
    const std::string& text = c.find("text")->as_string();
    const io::Json& ref = *c.find("llama");
    SCOPED_TRACE(c.find("name")->as_string());
    const std::vector<int64_t> ids = tok.encode(text);
    EXPECT_EQ(ids, ints(*ref.find("ids")));
    const PaddedIds padded = tok.encode_padded(text, 351);
    EXPECT_EQ(padded.ids, ints(*ref.find("padded_351")->find("ids")));
    EXPECT_EQ(padded.mask, ints(*ref.find("padded_351")->find("mask")));
    EXPECT_EQ(tok.decode(ids), ref.find("decoded")->as_string());
  }
}

TEST(LlamaTokenizer, SpecialTokensPadAndTemplate) {
  const LlamaTokenizer& tok = real_tokenizer();
  EXPECT_EQ(tok.token_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(tok.token_id("<|eot_id|>"), 128009);
  EXPECT_EQ(tok.pad_id(), references().find("llama_pad_id")->as_int());  // "<pad>" of tokenizer_config.json
  EXPECT_EQ(tok.pad_id(), 128257);
  EXPECT_EQ(tok.vocab_size(), 128258);
  EXPECT_EQ(tok.encode("", true), std::vector<int64_t>({128000}));
  EXPECT_TRUE(tok.encode("", false).empty());
  EXPECT_EQ(tok.encode("Hi", false).size() + 1, tok.encode("Hi").size());
  EXPECT_EQ(tok.decode(tok.encode("<|eot_id|>x"), true), "x");
}

// HunyuanVideo crops the encoder output at 95: the first kept position must be the prompt's
// first token (the BOS counts), right after the template's "\n\n".
TEST(LlamaTokenizer, VideoTemplateCropStart95IsTheFirstPromptToken) {
  const LlamaTokenizer& tok = real_tokenizer();
  const io::Json& crop = *references().find("crop_start_check");
  ASSERT_TRUE(crop.find("holds")->as_bool());
  const io::Json& cases = *references().find("cases");
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases.item(i).find("name")->as_string() != "template_cat") continue;
    const PaddedIds padded = tok.encode_padded(cases.item(i).find("text")->as_string(), 351);
    const std::vector<int64_t> prompt = tok.encode("A cat walks on the grass, realistic style.", false);
    ASSERT_EQ(std::vector<int64_t>(padded.ids.begin() + 95,
                                   padded.ids.begin() + 95 + static_cast<long>(prompt.size())),
              prompt);
    EXPECT_EQ(tok.decode({padded.ids[94]}), "\n\n");
    EXPECT_EQ(padded.ids[95 + prompt.size()], 128009);  // <|eot_id|>, mask 1
    EXPECT_EQ(padded.mask[95 + prompt.size()], 1);
    EXPECT_EQ(padded.mask[96 + prompt.size()], 0);
    EXPECT_EQ(padded.ids[96 + prompt.size()], tok.pad_id());
    return;
  }
  FAIL() << "no template_cat case";
}

TEST(LlamaTokenizer, TruncationKeepsTheBos) {
  const LlamaTokenizer& tok = real_tokenizer();
  const std::string text = "one two three four five six";
  const PaddedIds padded = tok.encode_padded(text, 4);
  const std::vector<int64_t> all = tok.encode(text);
  EXPECT_EQ(padded.ids, std::vector<int64_t>(all.begin(), all.begin() + 4));
  EXPECT_EQ(padded.mask, std::vector<int64_t>(4, 1));
  EXPECT_THROW(tok.encode_padded(text, 0), UsageError);
}

// A small byte-level BPE tokenizer.json written to a temporary directory.
class TinyTokenizerJson : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("uspdit_llama_tok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  // vocab: the bytes of "a b" and their merges; `merges`, `pre` and `post` are JSON fragments.
  static std::string tokenizer_json(const std::string& merges, const std::string& pre,
                                    const std::string& post, const std::string& extra_model = "") {
    return R"({"version":"1.0","added_tokens":[{"id":5,"content":"<s>","special":true,"lstrip":false,"rstrip":false,)"
           R"("normalized":false,"single_word":false}],"normalizer":null,"pre_tokenizer":)" +
           pre + R"(,"post_processor":)" + post +
           R"(,"model":{"type":"BPE","dropout":null,"unk_token":null,)" + extra_model +
           R"("vocab":{"a":0,"b":1,"Ġ":2,"Ġb":3,"ab":4},"merges":)" + merges + "}}";
  }
  fs::path dir_;
};

const char* kSplitByteLevel =
    R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":" ?\\p{L}+"},"behavior":"Isolated",)"
    R"("invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]})";
const char* kBosTemplate =
    R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],)"
    R"("pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[5],"tokens":["<s>"]}}})";

TEST_F(TinyTokenizerJson, MergesAsStringsOrPairsGiveTheSameIds) {
  write("tokenizer.json", tokenizer_json(R"(["a b","Ġ b"])", kSplitByteLevel, kBosTemplate));
  const LlamaTokenizer strings = LlamaTokenizer::load(dir_.string());
  write("tokenizer.json", tokenizer_json(R"([["a","b"],["Ġ","b"]])", kSplitByteLevel, kBosTemplate));
  const LlamaTokenizer pairs = LlamaTokenizer::load((dir_ / "tokenizer.json").string());
  const std::vector<int64_t> expected = {5, 4, 3, 0};  // <s> ab Ġb a
  EXPECT_EQ(strings.encode("ab ba"), expected);
  EXPECT_EQ(pairs.encode("ab ba"), expected);
  EXPECT_EQ(pairs.decode(expected), "<s>ab ba");
  // Without tokenizer_config.json / special_tokens_map.json the pad token is <|end_of_text|>;
  // this vocabulary has none, so padding is refused (encoding is not).
  EXPECT_EQ(pairs.pad_id(), -1);
  EXPECT_EQ(pairs.encode_padded("ab", 2).ids, std::vector<int64_t>({5, 4}));  // nothing to pad
  EXPECT_THROW(pairs.encode_padded("ab", 8), UsageError);
}

TEST_F(TinyTokenizerJson, PadTokenFromTokenizerConfigOrSpecialTokensMap) {
  write("tokenizer.json", tokenizer_json(R"([["a","b"]])", kSplitByteLevel, kBosTemplate));
  write("special_tokens_map.json", R"({"pad_token":{"content":"b","lstrip":false}})");
  EXPECT_EQ(LlamaTokenizer::load(dir_.string()).pad_id(), 1);
  write("tokenizer_config.json", R"({"pad_token":"ab"})");  // tokenizer_config.json first
  const LlamaTokenizer tok = LlamaTokenizer::load(dir_.string());
  EXPECT_EQ(tok.pad_id(), 4);
  const PaddedIds padded = tok.encode_padded("b", 4);
  EXPECT_EQ(padded.ids, std::vector<int64_t>({5, 1, 4, 4}));
  EXPECT_EQ(padded.mask, std::vector<int64_t>({1, 1, 0, 0}));
  write("tokenizer_config.json", R"({"pad_token":"<nope>"})");
  try {
    LlamaTokenizer::load(dir_.string());
    FAIL() << "unknown pad token accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}

TEST_F(TinyTokenizerJson, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  // "ba" is in the vocabulary (id 6) but no merge builds it.
  std::string json = tokenizer_json(R"([["a","b"]])", kSplitByteLevel, "null", R"("ignore_merges":true,)");
  json.replace(json.find(R"("ab":4})"), 7, R"("ab":4,"ba":6})");
  write("tokenizer.json", json);
  EXPECT_EQ(LlamaTokenizer::load(dir_.string()).encode("ba"), std::vector<int64_t>({6}));
  json.replace(json.find(R"("ignore_merges":true)"), 20, R"("ignore_merges":false)");
  write("tokenizer.json", json);
  EXPECT_EQ(LlamaTokenizer::load(dir_.string()).encode("ba"), std::vector<int64_t>({1, 0}));
}

TEST_F(TinyTokenizerJson, SplitRemovedInvertedKeepsOnlyTheMatches) {
  // CLIP's fast layout: Split(behavior Removed, invert true) keeps the matches, drops the rest.
  const std::string pre =
      R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\p{L}+"},"behavior":"Removed",)"
      R"("invert":true},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})";
  write("tokenizer.json", tokenizer_json(R"([["a","b"]])", pre, "null"));
  EXPECT_EQ(LlamaTokenizer::load(dir_.string()).encode("ab, b"), std::vector<int64_t>({4, 1}));
  // Removed without invert keeps what lies between the matches: ", " -> "," is not in this vocabulary.
  std::string removed = tokenizer_json(R"([["a","b"]])", pre, "null");
  removed.replace(removed.find(R"("invert":true)"), 13, R"("invert":false)");
  write("tokenizer.json", removed);
  EXPECT_EQ(LlamaTokenizer::load(dir_.string()).encode("a b"), std::vector<int64_t>({2}));  // "Ġ"
}

// A message that names the file, for every refused or broken tokenizer.json.
void expect_refused(const std::string& path, const std::string& what) {
  try {
    LlamaTokenizer::load(path);
    ADD_FAILURE() << "accepted: " << what;
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << what << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << what << ": " << message;
  }
}

TEST_F(TinyTokenizerJson, BadFilesAreUsageErrorsNamingTheFile) {
  expect_refused(dir_.string(), "directory without tokenizer.json");
  expect_refused((dir_ / "tokenizer.json").string(), "missing file");
  const std::string path = write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {)");
  expect_refused(path, "truncated JSON");
  write("tokenizer.json", tokenizer_json("[]", R"({"type":"Metaspace","replacement":"▁"})", "null"));
  expect_refused(path, "Metaspace pre-tokenizer (the transformers 5 LlamaTokenizer bug)");
  write("tokenizer.json", tokenizer_json("[]", R"({"type":"Whitespace"})", "null"));
  expect_refused(path, "unknown pre-tokenizer");
  write("tokenizer.json", tokenizer_json(R"(["a b c"])", kSplitByteLevel, "null"));
  expect_refused(path, "merge with three symbols");
  write("tokenizer.json", tokenizer_json("[]", kSplitByteLevel, R"({"type":"BertProcessing"})"));
  expect_refused(path, "unknown post-processor");
  std::string unigram = tokenizer_json("[]", kSplitByteLevel, "null");
  unigram.replace(unigram.find(R"("type":"BPE")"), 12, R"("type":"Unigram")");
  write("tokenizer.json", unigram);
  expect_refused(path, "Unigram model");
  write("tokenizer.json",
        tokenizer_json("[]", R"({"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"})",
                       "null"));
  expect_refused(path, "bad regex");
}

TEST(LlamaTokenizer, ModelsOtherThanBpeAreRefused) {
  // The project's umt5 tokenizer.json (a Unigram model) is not a Llama tokenizer.
  try {
    LlamaTokenizer::load(std::string(USPDIT_SOURCE_DIR) + "/tests/data/umt5/tokenizer/tokenizer.json");
    FAIL() << "accepted a Unigram tokenizer.json";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace uspdit::models::llama
