#include "models/hv_vae/hv_vae_loader.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/torch_pickle.h"

namespace uspdit::models::hv_vae {
namespace fs = std::filesystem;

namespace {

constexpr const char* kOriginalWeights = "pytorch_model.pt";
constexpr const char* kDiffusersWeights = "diffusion_pytorch_model.safetensors";
constexpr const char* kReleasePrefix = "vae.";

void add_conv(std::vector<TensorSpec>& specs, const std::string& name, int64_t out, int64_t in, int64_t k) {
  specs.push_back({name + ".weight", {out, in, k, k, k}, false});
  specs.push_back({name + ".bias", {out}, false});
}

void add_norm(std::vector<TensorSpec>& specs, const std::string& name, int64_t channels) {
  specs.push_back({name + ".weight", {channels}, false});
  specs.push_back({name + ".bias", {channels}, false});
}

void add_resnet(std::vector<TensorSpec>& specs, const std::string& p, int64_t in, int64_t out) {
  add_norm(specs, p + "norm1", in);
  add_conv(specs, p + "conv1.conv", out, in, 3);
  add_norm(specs, p + "norm2", out);
  add_conv(specs, p + "conv2.conv", out, out, 3);
  if (in != out) add_conv(specs, p + "conv_shortcut.conv", out, in, 1);
}

std::string describe(const HvVaeConfig& c) {
  std::ostringstream out;
  out << "latent_channels " << c.latent_channels << ", block_out_channels [";
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) out << (i ? "," : "") << c.block_out_channels[i];
  out << "], layers_per_block " << c.layers_per_block << ", mid_block_add_attention "
      << (c.mid_block_add_attention ? "true" : "false");
  return out.str();
}

struct Files {
  std::string config, weights;
};

Files locate(const std::string& path) {
  require(fs::exists(path), "VAE path " + path + " does not exist");
  fs::path dir(path);
  if (!fs::is_directory(dir)) {
    dir = dir.parent_path();
    require(fs::is_regular_file(dir / "config.json"),
            "VAE weights " + path + ": no config.json beside it (pass the VAE folder holding both)");
    return {(dir / "config.json").string(), path};
  }
  // The release keeps the VAE in hunyuan-video-t2v-720p/vae/, a diffusers pipeline in vae/.
  if (!fs::is_regular_file(dir / "config.json") && fs::is_regular_file(dir / "vae" / "config.json"))
    dir /= "vae";
  require(fs::is_regular_file(dir / "config.json"), "VAE path " + path +
                                                        ": no config.json or vae/config.json (expected the "
                                                        "release's vae/ folder with pytorch_model.pt, or a "
                                                        "diffusers AutoencoderKLHunyuanVideo folder)");
  HvVaeFamily family = HvVaeFamily::kOriginal;
  read_hv_vae_config((dir / "config.json").string(), &family);
  const char* wanted = family == HvVaeFamily::kOriginal ? kOriginalWeights : kDiffusersWeights;
  require(fs::is_regular_file(dir / wanted), "VAE folder " + dir.string() + ": config.json is the " +
                                                 family_name(family) + " layout but there is no " + wanted);
  return {(dir / "config.json").string(), (dir / wanted).string()};
}

// Torch files: the top-level dict, or the one under "state_dict" (as the release's loader).
std::shared_ptr<const io::TensorSource> open_weights(const std::string& file) {
  std::ifstream probe(file, std::ios::binary);
  char magic[2] = {0, 0};
  probe.read(magic, 2);
  if (magic[0] == 'P' && magic[1] == 'K') {
    auto archive = io::TorchArchive::open(file);
    const bool wrapped = archive->root().find("state_dict") != nullptr;
    return io::TorchStateDict::open(archive, wrapped ? "state_dict" : "");
  }
  return io::open_checkpoint(file);
}

}  // namespace

bool is_decoder_key(const std::string& name) {
  return name.rfind("decoder.", 0) == 0 || name.rfind("post_quant_conv.", 0) == 0;
}

std::vector<TensorSpec> hv_vae_decoder_specs(const HvVaeConfig& c) {
  std::vector<TensorSpec> specs;
  add_conv(specs, "post_quant_conv", c.latent_channels, c.latent_channels, 1);
  const int64_t mid = c.block_out_channels.back();
  add_conv(specs, "decoder.conv_in.conv", mid, c.latent_channels, 3);
  add_resnet(specs, "decoder.mid_block.resnets.0.", mid, mid);
  if (c.mid_block_add_attention) {
    const std::string a = "decoder.mid_block.attentions.0.";
    add_norm(specs, a + "group_norm", mid);
    for (const char* proj : {"to_q", "to_k", "to_v", "to_out.0"}) add_linear_spec(specs, a + proj, mid, mid);
  }
  add_resnet(specs, "decoder.mid_block.resnets.1.", mid, mid);
  const auto blocks = decoder_up_blocks(c);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::string p = "decoder.up_blocks." + std::to_string(i) + ".";
    for (int64_t j = 0; j <= c.layers_per_block; ++j)
      add_resnet(specs, p + "resnets." + std::to_string(j) + ".", j == 0 ? b.in_channels : b.out_channels,
                 b.out_channels);
    if (b.upsample_space || b.upsample_time)
      add_conv(specs, p + "upsamplers.0.conv.conv", b.out_channels, b.out_channels, 3);
  }
  add_norm(specs, "decoder.conv_norm_out", c.block_out_channels.front());
  add_conv(specs, "decoder.conv_out.conv", c.out_channels, c.block_out_channels.front(), 3);
  return specs;
}

std::map<std::string, at::Tensor> random_hv_vae_weights(const HvVaeConfig& config, uint64_t seed,
                                                        c10::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> out;
  for (const auto& spec : hv_vae_decoder_specs(config)) {
    auto t = at::randn(spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool weight = spec.name.ends_with(".weight");
    if (weight && spec.shape.size() == 1) {
      t = 1.0 + 0.1 * t;  // GroupNorm scale
    } else if (weight) {
      t = t / std::sqrt(static_cast<double>(t[0].numel()));
    } else {
      t = 0.1 * t;
    }
    out[spec.name] = t.to(device);
  }
  return out;
}

LoadedHvVae load_hv_vae(const std::string& path, c10::Device device, at::ScalarType dtype) {
  require(dtype == at::kFloat || dtype == at::kHalf,
          "HunyuanVideo VAE: dtype must be float32 or float16 (the release runs it in fp16)");
  const Files files = locate(path);
  LoadedHvVae vae;
  vae.config = read_hv_vae_config(files.config, &vae.family);
  auto source = open_weights(files.weights);
  vae.label = source->label();
  const std::string where = "checkpoint " + source->label();

  // Engine name -> name in the file. The release's loader keeps only `vae.`-prefixed keys when
  // any key has the prefix, and strips it.
  bool prefixed = false;
  for (const auto& n : source->names()) prefixed = prefixed || n.rfind(kReleasePrefix, 0) == 0;
  std::map<std::string, std::string> file_name_of;
  for (const auto& name : source->names()) {
    if (prefixed && name.rfind(kReleasePrefix, 0) != 0) continue;
    const std::string engine = prefixed ? name.substr(std::string(kReleasePrefix).size()) : name;
    if (is_decoder_key(engine)) file_name_of[engine] = name;
  }
  require(!file_name_of.empty(),
          where +
              ": no 'decoder.*' or 'post_quant_conv.*' tensors (is this a HunyuanVideo "
              "VAE? expected " +
              std::string(kOriginalWeights) + " or " + kDiffusersWeights + ")");

  const auto specs = hv_vae_decoder_specs(vae.config);
  const auto [missing, unexpected] = io::match_names(spec_names(specs), file_name_of);
  const std::string context = "config " + files.config + ": " + describe(vae.config);
  require(missing.empty(), where + ": missing tensor" + (missing.size() > 1 ? "s " : " ") +
                               io::quote_first_few(missing) + " (" + context + ")");
  require(unexpected.empty(), where + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                                  io::quote_first_few(unexpected) + " (" + context +
                                  "; is it the right config?)");
  core::DeviceUploader upload(device);
  for (const auto& spec : specs) {
    const std::string& file_name = file_name_of.at(spec.name);
    io::expect_shape(*source, file_name, spec.shape, context);
    const auto stored = source->info(file_name).dtype;
    require(at::isFloatingType(stored), where + ": tensor '" + file_name + "' is " + io::dtype_name(stored) +
                                            ", expected a floating-point dtype");
    vae.weights[spec.name] = source->load(file_name, dtype, upload);
  }
  return vae;
}

}  // namespace uspdit::models::hv_vae
