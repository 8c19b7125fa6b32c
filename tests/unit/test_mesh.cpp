// Mesh coordinates and the validation users see before any work starts.
#include <gtest/gtest.h>

#include "core/error.h"
#include "parallel/mesh.h"
#include "parallel/sequence_split.h"

namespace uspdit::parallel {
namespace {

TEST(Mesh, UlyssesIsContiguousRingStridedCfgOutermost) {
  ParallelDegrees d{4, 2, 2};  // 16 ranks
  EXPECT_EQ(coord_of(0, d), (MeshCoord{0, 0, 0}));
  EXPECT_EQ(coord_of(3, d), (MeshCoord{3, 0, 0}));
  EXPECT_EQ(coord_of(4, d), (MeshCoord{0, 1, 0}));
  EXPECT_EQ(coord_of(9, d), (MeshCoord{1, 0, 1}));
  for (int r = 0; r < 16; ++r) EXPECT_EQ(rank_of(coord_of(r, d), d), r);
  EXPECT_EQ(sequence_chunk(coord_of(6, d), d), 6);
}

TEST(Mesh, ValidDegreesRespectHeads) {
  auto v = valid_degrees(8, 24, false);
  ASSERT_EQ(v.size(), 4u);  // U = 8, 4, 2, 1
  EXPECT_EQ(v[0], (ParallelDegrees{8, 1, 1}));
  EXPECT_EQ(v[3], (ParallelDegrees{1, 8, 1}));
  auto w = valid_degrees(8, 12, true);  // 12 heads: U=8 impossible
  for (const auto& d : w) {
    EXPECT_EQ(12 % d.ulysses, 0);
    EXPECT_EQ(d.world(), 8);
  }
  EXPECT_EQ(std::count(w.begin(), w.end(), ParallelDegrees{8, 1, 1}), 0);
  EXPECT_EQ(std::count(w.begin(), w.end(), ParallelDegrees{4, 1, 2}), 1);
}

std::string message_of(const ParallelDegrees& d, int world, int heads) {
  try {
    validate_degrees(d, world, heads, "hunyuanvideo", false);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Mesh, ValidationNamesTheProblemAndTheChoices) {
  auto product = message_of({3, 1, 1}, 4, 24);
  EXPECT_NE(product.find("= 3 ranks, but the job has 4"), std::string::npos) << product;
  EXPECT_NE(product.find("U=4 R=1, U=2 R=2, U=1 R=4"), std::string::npos) << product;
  auto heads = message_of({5, 1, 1}, 5, 24);
  EXPECT_NE(heads.find("does not divide the 24 attention heads"), std::string::npos) << heads;
  EXPECT_NE(heads.find("U=1 R=5"), std::string::npos) << heads;
  auto zero = message_of({0, 4, 1}, 4, 24);
  EXPECT_NE(zero.find(">= 1"), std::string::npos) << zero;
  EXPECT_EQ(message_of({2, 2, 1}, 4, 24), "");
  EXPECT_EQ(message_of({2, 2, 1}, 4, 24).find('\n'), std::string::npos);
}

TEST(SequenceSplit, UnevenChunksCoverTheSequence) {
  auto s = SequenceSplit::even(10, 4);
  EXPECT_EQ(s.lengths, (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(s.offsets, (std::vector<int64_t>{0, 3, 6, 8}));
  EXPECT_EQ(s.total(), 10);
  EXPECT_EQ(s.length_of(1, 3), 5);
  auto tiny = SequenceSplit::even(2, 4);
  EXPECT_EQ(tiny.lengths, (std::vector<int64_t>{1, 1, 0, 0}));
}

}  // namespace
}  // namespace uspdit::parallel
