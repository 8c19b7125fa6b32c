// The umt5 encoder against transformers' UMT5EncoderModel on the committed fixtures
// (tools/make_umt5_fixtures.py): both checkpoint layouts, bf16, relative distances beyond
// max_distance, and broken checkpoints refused with one-line errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/safetensors_writer.h"
#include "models/umt5/umt5.h"
#include "device_under_test.h"

namespace uspdit::models::umt5 {
namespace {
namespace fs = std::filesystem;

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/umt5/";

double max_error(const Umt5Encoder& enc, const std::string& suffix) {
  auto ref = io::open_checkpoint(kData + "outputs.safetensors");
  TokenBatch tokens{ref->load("ids" + suffix), ref->load("mask" + suffix)};
  auto out = enc.encode(tokens).cpu();
  auto expected = ref->load("out" + suffix, at::kFloat);
  EXPECT_EQ(out.sizes(), expected.sizes());
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  return (out - expected).abs().max().item<double>();
}

TEST(Umt5Encoder, MatchesTransformersFp32BothLayouts) {
  for (const char* path : {"hf", "original/umt5_enc_fp32.pth"}) {
    const auto enc = Umt5Encoder::load(kData + path, at::kFloat, testing::device_under_test());
    EXPECT_EQ(enc.config().num_layers, 2) << path;
    EXPECT_EQ(enc.config().num_heads, 4) << path;
    EXPECT_EQ(enc.config().head_dim, 8) << path;
    EXPECT_EQ(enc.config().ffn_dim, 64) << path;
    EXPECT_LE(max_error(enc, ""), 1e-4) << path;
    EXPECT_LE(max_error(enc, "_long"), 1e-4) << path;
  }
}

TEST(Umt5Encoder, TokenizerToEncoder) {
  // The whole path: raw prompts -> our tokenizer -> our encoder == transformers' output.
  std::ifstream in(kData + "prompts.json", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const auto ref = io::Json::parse(text.str(), "prompts.json");
  std::vector<std::string> raw;
  for (size_t i = 0; i < ref.find("prompts")->size(); ++i) {
    raw.push_back(ref.find("prompts")->item(i).find("raw")->as_string());
  }
  const auto tok = Umt5Tokenizer::load(kData + "tokenizer");
  const auto enc = Umt5Encoder::load(kData + "hf", at::kFloat, testing::device_under_test());
  EXPECT_EQ(tok.vocab_size(), enc.config().vocab);
  const auto out = enc.encode(tok.encode(raw, ref.find("max_len")->as_int())).cpu();
  const auto expected = io::open_checkpoint(kData + "outputs.safetensors")->load("out", at::kFloat);
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_LE((out - expected).abs().max().item<double>(), 1e-4);
}

TEST(Umt5Encoder, Bf16StaysClose) {
  // bf16 weights (the release's file) and bf16 matmuls against the fp32 reference: the error is
  // bf16 rounding over two layers (|out| <= 4), a wiring mistake would be O(1).
  // "original" is the release folder: it finds models_t5_umt5-xxl-enc-bf16.pth.
  for (const char* path : {"original", "hf"}) {
    const auto enc = Umt5Encoder::load(kData + path, at::kBFloat16, testing::device_under_test());
    EXPECT_EQ(enc.weights().layers[0].q.scalar_type(), at::kBFloat16);
    EXPECT_EQ(enc.weights().layers[0].norm1.scalar_type(), at::kFloat);
    EXPECT_EQ(enc.weights().layers[0].rel_bias.scalar_type(), at::kFloat);
    const double err = max_error(enc, "");
    EXPECT_LE(err, 0.15) << path;
    std::printf("umt5 %s bf16 max abs error vs fp32 reference: %.4g\n", path, err);
  }
}

TEST(Umt5Encoder, Config) {
  const auto c = umt5_xxl_config();
  EXPECT_EQ(c.vocab, 256384);
  EXPECT_EQ(c.dim, 4096);
  EXPECT_EQ(c.ffn_dim, 10240);
  EXPECT_EQ(c.num_heads * c.head_dim, 4096);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_buckets, 32);
  EXPECT_EQ(c.max_distance, 128);
  // T5 buckets: 0..7 exact, log-spaced to 15 at >= 128, keys after the query in the upper half.
  const auto b = relative_position_buckets(200, c);
  EXPECT_EQ(b[0][0].item<int64_t>(), 0);
  EXPECT_EQ(b[5][0].item<int64_t>(), 5);
  EXPECT_EQ(b[0][5].item<int64_t>(), 21);
  EXPECT_EQ(b[199][0].item<int64_t>(), 15);
  EXPECT_EQ(b[0][199].item<int64_t>(), 31);
  EXPECT_EQ(hf_to_engine_name("encoder.block.3.layer.1.DenseReluDense.wi_0.weight"), "blocks.3.ffn.gate.0.weight");
  EXPECT_EQ(hf_to_engine_name("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
            "blocks.0.pos_embedding.embedding.weight");
  EXPECT_EQ(hf_to_engine_name("decoder.block.0.layer.0.SelfAttention.q.weight"), "");
  for (const auto& spec : umt5_tensor_specs(c)) EXPECT_EQ(hf_to_engine_name(engine_to_hf_name(spec.name)), spec.name);
}

// A copy of the HF fixture as safetensors with one change, and the error it must produce.
class Umt5BrokenCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uspdit_umt5_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto src = io::open_checkpoint(kData + "hf");
    for (const auto& name : src->names()) tensors_.emplace_back(name, src->load(name));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an HF dir (with config.json) or a bare original-layout safetensors file.
  std::string write(const std::vector<std::pair<std::string, at::Tensor>>& tensors, bool hf) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (!hf) {
      const auto file = (dir_ / "enc.safetensors").string();
      io::write_safetensors(file, tensors);
      return file;
    }
    fs::copy_file(kData + "hf/config.json", dir_ / "config.json", fs::copy_options::overwrite_existing);
    io::write_safetensors((dir_ / "model.safetensors").string(), tensors);
    return dir_.string();
  }

  std::vector<std::pair<std::string, at::Tensor>> original() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& [name, t] : tensors_) out.emplace_back(hf_to_engine_name(name), t);
    return out;
  }

  static std::string error_of(const std::string& path) {
    try {
      Umt5Encoder::load(path, at::kFloat, at::kCPU);
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      return msg;
    }
    ADD_FAILURE() << "no UsageError for " << path;
    return "";
  }

  fs::path dir_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

TEST_F(Umt5BrokenCheckpoint, OriginalNamesInSafetensorsLoad) {
  const auto enc = Umt5Encoder::load(write(original(), false), at::kFloat, at::kCPU);
  EXPECT_LE(max_error(enc, ""), 1e-4);
}

TEST_F(Umt5BrokenCheckpoint, MissingTensor) {
  auto t = original();
  t.erase(std::remove_if(t.begin(), t.end(), [](const auto& p) { return p.first == "blocks.1.attn.k.weight"; }),
          t.end());
  const auto msg = error_of(write(t, false));
  EXPECT_NE(msg.find("missing tensor 'blocks.1.attn.k.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("enc.safetensors"), std::string::npos) << msg;

  auto h = tensors_;
  h.erase(std::remove_if(h.begin(), h.end(), [](const auto& p) { return p.first == "encoder.final_layer_norm.weight"; }),
          h.end());
  const auto msg_hf = error_of(write(h, true));
  EXPECT_NE(msg_hf.find("missing tensor 'encoder.final_layer_norm.weight'"), std::string::npos) << msg_hf;
}

TEST_F(Umt5BrokenCheckpoint, WrongShapeAndUnexpected) {
  auto t = tensors_;
  for (auto& [name, tensor] : t) {
    if (name == "encoder.block.0.layer.1.DenseReluDense.wo.weight") tensor = at::zeros({32, 65});
  }
  const auto msg = error_of(write(t, true));
  EXPECT_NE(msg.find("'encoder.block.0.layer.1.DenseReluDense.wo.weight' has shape [32, 65], expected [32, 64]"),
            std::string::npos)
      << msg;

  auto u = tensors_;
  u.emplace_back("encoder.block.2.layer.0.SelfAttention.q.weight", at::zeros({32, 32}));
  const auto msg_u = error_of(write(u, true));
  EXPECT_NE(msg_u.find("unexpected tensor 'encoder.block.2.layer.0.SelfAttention.q.weight'"), std::string::npos)
      << msg_u;

  auto i = tensors_;
  for (auto& [name, tensor] : i) {
    if (name == "shared.weight") tensor = tensor.to(at::kInt);
  }
  const auto msg_i = error_of(write(i, true));
  EXPECT_NE(msg_i.find("'shared.weight' is int32, expected a floating-point dtype"), std::string::npos) << msg_i;
}

TEST_F(Umt5BrokenCheckpoint, NotAStateDict) {
  const auto msg = error_of(kData + "broken/not_a_state_dict.pth");
  EXPECT_NE(msg.find("not a state dict"), std::string::npos) << msg;
  const auto notes = (dir_ / "notes.pth").string();
  std::ofstream(notes) << "not a checkpoint";
  const auto msg_text = error_of(notes);
  EXPECT_NE(msg_text.find("notes.pth"), std::string::npos) << msg_text;
  const auto msg_dir = error_of(dir_.string());
  EXPECT_NE(msg_dir.find("neither config.json"), std::string::npos) << msg_dir;
  std::ofstream(dir_ / "config.json") << R"({"d_model": 32, "feed_forward_proj": "relu"})";
  const auto msg_cfg = error_of(dir_.string());
  EXPECT_NE(msg_cfg.find("feed_forward_proj"), std::string::npos) << msg_cfg;
}

TEST_F(Umt5BrokenCheckpoint, DiffusersPipelineRoot) {
  // A diffusers pipeline keeps the encoder in text_encoder/ and the tokenizer in tokenizer/.
  fs::create_directory_symlink(kData + "hf", dir_ / "text_encoder");
  fs::create_directory_symlink(kData + "tokenizer", dir_ / "tokenizer");
  const auto enc = Umt5Encoder::load(dir_.string(), at::kFloat, at::kCPU);
  const auto tok = Umt5Tokenizer::load(dir_.string());
  EXPECT_EQ(tok.vocab_size(), enc.config().vocab);
  EXPECT_LE(max_error(enc, ""), 1e-4);
}

TEST_F(Umt5BrokenCheckpoint, TokenIdOutsideVocabulary) {
  const auto enc = Umt5Encoder::load(kData + "hf", at::kFloat, at::kCPU);
  TokenBatch tokens{at::full({1, 3}, enc.config().vocab, at::kLong), at::ones({1, 3}, at::kLong)};
  EXPECT_THROW(enc.encode(tokens), UsageError);
}

}  // namespace
}  // namespace uspdit::models::umt5
