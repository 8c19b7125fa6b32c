// The pieces both HunyuanVideo tokenizers share: the BPE merge engine, GPT-2's byte-level
// alphabet, ICU's Unicode services, added-token splitting and fixed-length padding.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/common/added_tokens.h"
#include "models/common/byte_level.h"
#include "models/common/byte_pair_encoding.h"
#include "models/common/padded_ids.h"
#include "models/common/unicode_text.h"

namespace uspdit::models {
namespace {

using Symbols = std::vector<std::string>;

TEST(BytePairEncoding, MergesLowestRankFirst) {
  const BytePairEncoding bpe({{"l", "o"}, {"lo", "w"}, {"e", "r"}, {"low", "er"}, {"o", "w"}});
  EXPECT_EQ(bpe.size(), 5u);
  EXPECT_EQ(bpe.rank("lo", "w"), 1);
  EXPECT_EQ(bpe.rank("w", "lo"), -1);
  EXPECT_EQ(bpe.merge({"l", "o", "w", "e", "r"}), Symbols({"lower"}));
  // (o,w) has rank 4 but (l,o) wins first, so "ow" never forms.
  EXPECT_EQ(bpe.merge({"l", "o", "w", "s"}), Symbols({"low", "s"}));
  EXPECT_EQ(bpe.merge({"o", "w", "l"}), Symbols({"ow", "l"}));
  EXPECT_EQ(bpe.merge({"x"}), Symbols({"x"}));
  EXPECT_EQ(bpe.merge({}), Symbols({}));
}

TEST(BytePairEncoding, MergesEveryOccurrenceWithoutOverlap) {
  const BytePairEncoding bpe({{"a", "a"}, {"aa", "a"}});
  // One round merges (a,a) left to right: aa aa a; then (aa,a) at the end.
  EXPECT_EQ(bpe.merge({"a", "a", "a", "a", "a"}), Symbols({"aa", "aaa"}));
  EXPECT_EQ(bpe.merge({"a", "a", "a"}), Symbols({"aaa"}));
  // A repeated merge keeps its first rank.
  const BytePairEncoding repeated({{"b", "c"}, {"a", "b"}, {"b", "c"}});
  EXPECT_EQ(repeated.rank("b", "c"), 0);
  EXPECT_EQ(repeated.merge({"a", "b", "c"}), Symbols({"a", "bc"}));
}

TEST(ByteLevel, AlphabetAndRoundTrip) {
  const auto& alphabet = byte_level::alphabet();
  EXPECT_EQ(alphabet[' '], "\xC4\xA0");   // Ġ (U+0120)
  EXPECT_EQ(alphabet['\n'], "\xC4\x8A");  // Ċ (U+010A)
  EXPECT_EQ(alphabet['A'], "A");
  EXPECT_EQ(alphabet[0xE9], "\xC3\xA9");  // é is shown as itself
  EXPECT_EQ(alphabet[0xAD], "\xC5\x83");  // the soft hyphen byte is not: U+0143
  const std::string text = "caf\xC3\xA9 \t\n\x01\xFF";
  EXPECT_EQ(byte_level::symbols(text).size(), text.size());
  EXPECT_EQ(byte_level::encode("a b"),
            "a\xC4\xA0"
            "b");
  EXPECT_EQ(byte_level::decode(byte_level::encode(text)), text);
}

TEST(UnicodeText, RegexFindsByteSpansWithUnicodeProperties) {
  const unicode::Regex words(R"(\p{L}+|\p{N})", false, "test");
  const std::string text = "naïve 42 猫";
  const auto spans = words.find_all(text);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(text.substr(spans[0].first, spans[0].second - spans[0].first), "naïve");
  EXPECT_EQ(text.substr(spans[1].first, spans[1].second - spans[1].first), "4");
  EXPECT_EQ(text.substr(spans[3].first, spans[3].second - spans[3].first), "猫");
  // \s is Unicode White_Space, as in Oniguruma: U+0085 (NEL) and U+000B count.
  const unicode::Regex space(R"(\s+)", false, "test");
  EXPECT_EQ(space
                .find_all("a\xC2\x85\x0B"
                          "b")
                .size(),
            1u);
  EXPECT_EQ(unicode::translate_whitespace_classes(R"([^\s\p{L}]\S\\s)"),
            R"([^\p{White_Space}\p{L}]\P{White_Space}\\s)");
  const unicode::Regex caseless("'s", true, "test");
  EXPECT_EQ(caseless.find_all("it'S").size(), 1u);
  EXPECT_THROW(unicode::Regex("(unclosed", false, "file.json"), UsageError);
}

TEST(UnicodeText, NormalizationCaseAndCategories) {
  EXPECT_EQ(unicode::nfc("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(unicode::to_lower("ÀB İ"), "àb i̇");
  EXPECT_EQ(unicode::to_lower("ΟΔΥΣΣΕΥΣ"), "οδυσσευς");  // final sigma
  EXPECT_TRUE(unicode::is_other_category(0x200D));       // ZWJ is Cf
  EXPECT_FALSE(unicode::is_other_category(U'a'));
  EXPECT_TRUE(unicode::is_space_separator(0x3000));
  EXPECT_TRUE(unicode::is_python_space(0x2028));  // Zl: Python splits on it
  EXPECT_FALSE(unicode::is_python_space(0x200B));
  EXPECT_EQ(unicode::code_points("a\xFF"), std::u32string(U"a\uFFFD"));
}

TEST(AddedTokens, LeftmostLongestWithStrip) {
  const std::vector<AddedToken> tokens = {{"<a>", 1}, {"<a><b>", 2}, {"<s>", 3, true, true, true}};
  const auto pieces = split_on_added_tokens("x<a><b>y<a> z <s>  w", tokens);
  ASSERT_EQ(pieces.size(), 7u);
  EXPECT_EQ(pieces[0].text, "x");
  EXPECT_EQ(pieces[1].id, 2);
  EXPECT_EQ(pieces[2].text, "y");
  EXPECT_EQ(pieces[3].id, 1);
  EXPECT_EQ(pieces[4].text, " z");  // <s> takes the spaces on both sides
  EXPECT_EQ(pieces[5].id, 3);
  EXPECT_EQ(pieces[5].text, " <s>  ");
  EXPECT_EQ(pieces[6].text, "w");
  EXPECT_TRUE(split_on_added_tokens("", tokens).empty());
}

TEST(PaddedIds, TruncatesTextKeepsSpecialTokensPadsRight) {
  const auto padded = truncate_and_pad({5, 6, 7, 8}, {1}, {2}, 5, 0, "t");
  EXPECT_EQ(padded.ids, std::vector<int64_t>({1, 5, 6, 7, 2}));
  EXPECT_EQ(padded.mask, std::vector<int64_t>({1, 1, 1, 1, 1}));
  const auto short_text = truncate_and_pad({5}, {1}, {}, 4, 9, "t");
  EXPECT_EQ(short_text.ids, std::vector<int64_t>({1, 5, 9, 9}));
  EXPECT_EQ(short_text.mask, std::vector<int64_t>({1, 1, 0, 0}));
  EXPECT_THROW(truncate_and_pad({5}, {1}, {2}, 1, 0, "t"), UsageError);
}

}  // namespace
}  // namespace uspdit::models
