// The model-family registry: families found from the files of both checkpoint layouts (and from
// --model), one table behind `plan`'s catalogue, and each family's hooks present.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "pipeline/family_registry.h"

namespace uspdit::pipeline {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/";

TEST(FamilyRegistry, DetectsTheFamilyFromTheFiles) {
  EXPECT_EQ(detect_family(kData + "wan_t2v/original", "auto").id, "wan2.1");
  EXPECT_EQ(detect_family(kData + "wan_t2v/diffusers", "auto").id, "wan2.1");  // transformer/config.json
  EXPECT_EQ(detect_family(kData + "hunyuan/tiny/original", "auto").id, "hunyuanvideo");
  EXPECT_EQ(detect_family(kData + "hunyuan/tiny/diffusers", "auto").id, "hunyuanvideo");
  EXPECT_EQ(detect_family(kData + "hunyuan/tiny/original/mp_rank_00_model_states.pt", "auto").id,
            "hunyuanvideo");
  // The release's ckpts/ root, without any config.json: found by its DiT file.
  const fs::path ckpts = fs::path(::testing::TempDir()) / "registry_ckpts";
  const fs::path transformers = ckpts / "hunyuan-video-t2v-720p" / "transformers";
  fs::remove_all(ckpts);
  fs::create_directories(transformers);
  fs::copy_file(kData + "hunyuan/tiny/original/mp_rank_00_model_states_fp8.pt",
                transformers / "mp_rank_00_model_states_fp8.pt");
  EXPECT_EQ(detect_family(ckpts.string(), "auto").id, "hunyuanvideo");
  // Nothing recognisable: the message asks for --model and names every family.
  const fs::path empty = fs::path(::testing::TempDir()) / "registry_empty";
  fs::create_directories(empty);
  try {
    detect_family(empty.string(), "auto");
    FAIL() << "an empty directory was given a family";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--model hunyuanvideo or --model wan2.1"), std::string::npos) << msg;
  }
  EXPECT_THROW(detect_family(kData + "nope", "auto"), UsageError);
}

TEST(FamilyRegistry, ModelFlagAndNames) {
  EXPECT_EQ(detect_family("/does/not/matter", "wan2.1-t2v-14b").id, "wan2.1");
  EXPECT_EQ(detect_family("/does/not/matter", "hunyuanvideo").id, "hunyuanvideo");
  try {
    detect_family("/x", "sora");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "--model sora: use auto, hunyuanvideo or wan2.1 (wan2.1-t2v-14b, wan2.1-t2v-1.3b)");
  }
  EXPECT_EQ(family_named("Wan-AI/Wan2.1-T2V-1.3B")->id, "wan2.1");
  EXPECT_EQ(family_named("hunyuan_video")->id, "hunyuanvideo");
  EXPECT_EQ(family_named("mochi"), nullptr);
  EXPECT_EQ(known_plan_model_names(), "hunyuanvideo, wan2.1-t2v-14b, wan2.1-t2v-1.3b");
  EXPECT_EQ(find_plan_model("wan-14b")->heads, 40);
}

TEST(FamilyRegistry, EveryFamilyHasItsHooks) {
  for (const auto& f : model_families()) {
    SCOPED_TRACE(f.id);
    EXPECT_FALSE(f.display_name.empty());
    EXPECT_FALSE(f.plan_models.empty());
    EXPECT_FALSE(f.config_classes.empty());
    EXPECT_TRUE(f.load_dit);
    EXPECT_TRUE(f.bench_dit);
    EXPECT_TRUE(f.read_t2v_job);
    EXPECT_GE(f.t2v.fps, 1);
  }
  EXPECT_TRUE(detect_family("/x", "hunyuanvideo").has_ema);
  EXPECT_FALSE(detect_family("/x", "wan2.1").has_ema);
}

}  // namespace
}  // namespace uspdit::pipeline
