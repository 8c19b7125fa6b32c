// CLIP's tokenizer (HunyuanVideo's second text encoder) against transformers 4.46.3's slow
// CLIPTokenizer with ftfy hidden (BasicTokenizer cleaning, as in HunyuanVideo's environment), on
// the real CLIP vocabulary (tests/data/tokenizers/clip, tools/make_tokenizer_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/json.h"
#include "models/clip/clip_text.h"
#include "models/clip/clip_tokenizer.h"

namespace uspdit::models::clip {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/tokenizers/";

std::vector<int64_t> ints(const io::Json& array) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < array.size(); ++i) out.push_back(array.item(i).as_int());
  return out;
}

const ClipTokenizer& real_tokenizer() {
  static const ClipTokenizer tok = ClipTokenizer::load(kData + "clip");
  return tok;
}

TEST(ClipTokenizer, IdsEqualSlowTransformersOnEveryPrompt) {
  const ClipTokenizer& tok = real_tokenizer();
  const io::Json refs = io::Json::parse_file(kData + "references.json");
  const io::Json& cases = *refs.find("cases");
  ASSERT_GE(cases.size(), 20u);
  size_t truncated = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const io::Json& c = cases.item(i);
    const std::string& text = c.find("text")->as_string();
    const io::Json& ref = *c.find("clip");
    SCOPED_TRACE(c.find("name")->as_string());
    EXPECT_EQ(basic_clean(text), ref.find("cleaned")->as_string());
    const std::vector<int64_t> ids = tok.encode(text);
    EXPECT_EQ(ids, ints(*ref.find("ids")));
    const PaddedIds padded = tok.encode_padded(text);
    EXPECT_EQ(padded.ids, ints(*ref.find("padded_77")->find("ids")));
    EXPECT_EQ(padded.mask, ints(*ref.find("padded_77")->find("mask")));
    truncated += ids.size() > 77;
  }
  EXPECT_GE(truncated, 2u);  // the long prompt and the templates
}

TEST(ClipTokenizer, SpecialIdsPaddingAndDigits) {
  const ClipTokenizer& tok = real_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 49408);
  EXPECT_EQ(tok.bos_id(), 49406);
  EXPECT_EQ(tok.eos_id(), 49407);
  EXPECT_EQ(tok.pad_id(), 49407);
  EXPECT_EQ(tok.encode(""), std::vector<int64_t>({49406, 49407}));
  const PaddedIds empty = tok.encode_padded("");
  ASSERT_EQ(empty.ids.size(), 77u);
  EXPECT_EQ(empty.ids[2], 49407);
  EXPECT_EQ(empty.mask[1], 1);
  EXPECT_EQ(empty.mask[2], 0);
  // Digits one per token: "1234" is four tokens ("1" ... "4</w>" each a word of its own).
  EXPECT_EQ(tok.encode("1234", false).size(), 4u);
  EXPECT_EQ(tok.decode(tok.encode("A Cat, 42!")), "<|startoftext|>a cat , 4 2 ! <|endoftext|>");
  std::string many_words;
  for (int i = 0; i < 100; ++i) many_words += "dog ";
  ASSERT_EQ(tok.encode(many_words).size(), 102u);
  const PaddedIds long_ids = tok.encode_padded(many_words);
  EXPECT_EQ(long_ids.ids.back(), 49407);
  EXPECT_EQ(long_ids.mask.back(), 1);
}

TEST(ClipText, BasicCleanSteps) {
  EXPECT_EQ(basic_clean("  Hello\tWORLD\n"), "hello world");
  EXPECT_EQ(basic_clean("猫a"), "猫 a");         // CJK ideographs spaced out
  EXPECT_EQ(basic_clean("ネコ"), "ネコ");        // kana are not
  EXPECT_EQ(basic_clean("a\u200Db\x01"), "ab");  // Cf / Cc dropped
  EXPECT_EQ(basic_clean("e\u0301"), "é");        // NFC
  EXPECT_EQ(basic_clean("Café"), "café");        // accents kept
  EXPECT_TRUE(is_cjk_ideograph(0x4E00));
  EXPECT_FALSE(is_cjk_ideograph(0x3042));
}

TEST(ClipTokenizer, MissingOrMalformedFilesNameTheFile) {
  const fs::path dir = fs::temp_directory_path() / "uspdit_clip_tok_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto expect_refused = [&](const std::string& file, const std::string& what) {
    try {
      ClipTokenizer::load(dir.string());
      ADD_FAILURE() << "accepted: " << what;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << what << ": " << e.what();
    }
  };
  expect_refused("vocab.json", "empty directory");
  std::ofstream(dir / "vocab.json") << R"({"a</w>": 0, "<|startoftext|>": 1)";
  expect_refused("vocab.json", "truncated vocab.json");
  std::ofstream(dir / "vocab.json") << R"({"a</w>": 0, "<|startoftext|>": 1})";
  expect_refused("vocab.json", "no <|endoftext|>");
  std::ofstream(dir / "vocab.json") << R"({"a</w>": 0, "<|startoftext|>": 1, "<|endoftext|>": 2})";
  expect_refused("merges.txt", "no merges.txt");
  std::ofstream(dir / "merges.txt") << "#version: 0.2\na b c\n";
  expect_refused("merges.txt", "three symbols on a merge line");
  std::ofstream(dir / "merges.txt") << "#version: 0.2\na </w>\n";
  const ClipTokenizer tiny = ClipTokenizer::load(dir.string());
  EXPECT_EQ(tiny.encode("A"), std::vector<int64_t>({1, 0, 2}));
  EXPECT_THROW(ClipTokenizer::load((dir / "vocab.json").string()), UsageError);  // a file, not the directory
  fs::remove_all(dir);
}

// The slow tokenizer reads merges [1, 1 + 48894) of merges.txt: a merge after those is unused.
TEST(ClipTokenizer, OnlyTheFirst48894MergesAreUsed) {
  const fs::path dir = fs::temp_directory_path() / "uspdit_clip_tok_cut";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.json")
      << R"({"a": 0, "b</w>": 1, "ab</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4})";
  const auto merges_with_ab_at = [&](size_t index) {
    std::ofstream merges(dir / "merges.txt");
    merges << "#version: 0.2\n";
    for (size_t i = 0; i < ClipTokenizer::kMergesUsed + 1; ++i) {
      if (i == index) {
        merges << "a b</w>\n";
      } else {
        merges << 'q' << i << " z\n";
      }
    }
  };
  merges_with_ab_at(ClipTokenizer::kMergesUsed - 1);  // the last one used
  EXPECT_EQ(ClipTokenizer::load(dir.string()).encode("ab", false), std::vector<int64_t>({2}));
  merges_with_ab_at(ClipTokenizer::kMergesUsed);  // the first one cut
  EXPECT_EQ(ClipTokenizer::load(dir.string()).encode("ab", false), std::vector<int64_t>({0, 1}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace uspdit::models::clip
