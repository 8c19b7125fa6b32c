#include "models/wan_vae/wan_vae_loader.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"

namespace uspdit::models::wan_vae {
namespace fs = std::filesystem;

namespace {

void add_conv(std::vector<TensorSpec>& specs, const std::string& name, int64_t out, int64_t in,
              std::vector<int64_t> kernel) {
  std::vector<int64_t> shape{out, in};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  specs.push_back({name + ".weight", shape, true});
  specs.push_back({name + ".bias", {out}, true});
}

void add_residual(std::vector<TensorSpec>& specs, const std::string& p, int64_t in, int64_t out) {
  specs.push_back({p + "residual.0.gamma", {in, 1, 1, 1}, true});
  add_conv(specs, p + "residual.2", out, in, {3, 3, 3});
  specs.push_back({p + "residual.3.gamma", {out, 1, 1, 1}, true});
  add_conv(specs, p + "residual.6", out, out, {3, 3, 3});
  if (in != out) add_conv(specs, p + "shortcut", out, in, {1, 1, 1});
}

std::string describe(const WanVaeConfig& c) {
  std::ostringstream out;
  out << "base_dim " << c.base_dim << ", z_dim " << c.z_dim << ", dim_mult [";
  for (size_t i = 0; i < c.dim_mult.size(); ++i) out << (i ? "," : "") << c.dim_mult[i];
  out << "], num_res_blocks " << c.num_res_blocks;
  return out.str();
}

// Where the weights and (optionally) the config are.
struct Files {
  std::string weights;
  std::string config;  // empty: from the tensor shapes
};

Files locate(const std::string& path) {
  require(fs::exists(path), "VAE path " + path + " does not exist");
  if (!fs::is_directory(path)) return {path, ""};
  fs::path dir(path);
  // A diffusers pipeline keeps the VAE in vae/; the Wan 2.1 release beside the DiT.
  if (fs::is_regular_file(dir / "vae" / "config.json")) dir /= "vae";
  if (fs::is_regular_file(dir / "Wan2.1_VAE.pth")) return {(dir / "Wan2.1_VAE.pth").string(), ""};
  require(fs::is_regular_file(dir / "config.json"),
          "VAE path " + path +
              ": no Wan2.1_VAE.pth, vae/config.json or config.json (expected the Wan 2.1 release "
              "directory, Wan2.1_VAE.pth, or a diffusers AutoencoderKLWan folder)");
  return {dir.string(), (dir / "config.json").string()};
}

// Diffusers files without a config: R from the largest resnet index of the first up block.
int64_t diffusers_num_res_blocks(const std::vector<std::string>& names) {
  const std::string p = "decoder.up_blocks.0.resnets.";
  int64_t max_j = -1;
  for (const auto& n : names) {
    if (n.rfind(p, 0) != 0) continue;
    const auto dot = n.find('.', p.size());
    if (dot == std::string::npos) continue;
    try {
      max_j = std::max<int64_t>(max_j, std::stoll(n.substr(p.size(), dot - p.size())));
    } catch (const std::exception&) {
    }
  }
  return max_j;  // R + 1 resnets: indices 0..R
}

}  // namespace

std::vector<TensorSpec> wan_vae_decoder_specs(const WanVaeConfig& c) {
  std::vector<TensorSpec> specs;
  add_conv(specs, "conv2", c.z_dim, c.z_dim, {1, 1, 1});
  const int64_t mid = middle_dim(c);
  add_conv(specs, "decoder.conv1", mid, c.z_dim, {3, 3, 3});
  add_residual(specs, "decoder.middle.0.", mid, mid);
  specs.push_back({"decoder.middle.1.norm.gamma", {mid, 1, 1}, true});
  add_conv(specs, "decoder.middle.1.to_qkv", 3 * mid, mid, {1, 1});
  add_conv(specs, "decoder.middle.1.proj", mid, mid, {1, 1});
  add_residual(specs, "decoder.middle.2.", mid, mid);
  int64_t k = 0;
  int64_t last = mid;
  for (const auto& s : decoder_stages(c)) {
    int64_t in = s.in_dim;
    for (int64_t j = 0; j <= c.num_res_blocks; ++j, ++k) {
      add_residual(specs, "decoder.upsamples." + std::to_string(k) + ".", in, s.out_dim);
      in = s.out_dim;
    }
    if (s.upsample) {
      const std::string p = "decoder.upsamples." + std::to_string(k++) + ".";
      add_conv(specs, p + "resample.1", s.out_dim / 2, s.out_dim, {3, 3});
      if (s.temporal) add_conv(specs, p + "time_conv", 2 * s.out_dim, s.out_dim, {3, 1, 1});
    }
    last = s.out_dim;
  }
  specs.push_back({"decoder.head.0.gamma", {last, 1, 1, 1}, true});
  add_conv(specs, "decoder.head.2", 3, last, {3, 3, 3});
  return specs;
}

std::map<std::string, at::Tensor> random_wan_vae_weights(const WanVaeConfig& config, uint64_t seed, c10::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> out;
  for (const auto& spec : wan_vae_decoder_specs(config)) {
    auto t = at::randn(spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
    if (spec.name.ends_with(".gamma")) {
      t = 1.0 + 0.1 * t;
    } else if (spec.name.ends_with(".weight")) {
      t = t / std::sqrt(static_cast<double>(t[0].numel()));
    } else {
      t = 0.1 * t;
    }
    out[spec.name] = t.to(device);
  }
  return out;
}

LoadedWanVae load_wan_vae(const std::string& path, c10::Device device) {
  const Files files = locate(path);
  auto source = io::open_checkpoint(files.weights);
  LoadedWanVae vae;
  vae.label = source->label();
  vae.layout = detect_layout(source->names());
  const bool diffusers = vae.layout == WanVaeLayout::kDiffusers;
  const std::string where = "checkpoint " + source->label() + " (" + layout_name(vae.layout) + " layout)";

  // The decoder's tensors by engine name -> name in the file. The diffusers names depend on
  // num_res_blocks, so that comes first (from config.json or the keys).
  int64_t res_blocks = 0;
  if (!files.config.empty()) {
    vae.config = read_wan_vae_config(files.config);
    res_blocks = vae.config.num_res_blocks;
  } else if (diffusers) {
    res_blocks = diffusers_num_res_blocks(source->names());
    require(res_blocks >= 0,
            where + ": no 'decoder.up_blocks.0.resnets.N.*' tensors (is this a Wan 2.1 VAE?)");
  }
  std::map<std::string, std::string> file_name_of;
  for (const auto& name : source->names()) {
    if (is_encoder_key(name, vae.layout)) continue;
    file_name_of[diffusers ? diffusers_to_engine_name(name, res_blocks) : name] = name;
  }
  if (files.config.empty()) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [engine, file] : file_name_of) shapes[engine] = source->info(file).shape;
    vae.config = wan_vae_config_from_shapes(shapes, where);
  }

  const auto specs = wan_vae_decoder_specs(vae.config);
  core::DeviceUploader upload(device);
  const auto [missing, unexpected] = io::match_names(spec_names(specs), file_name_of);
  const std::string context = "config: " + describe(vae.config);
  require(missing.empty(), where + ": missing tensor" + (missing.size() > 1 ? "s " : " ") +
                               io::quote_first_few(missing) + " (original names; " + context + ")");
  require(unexpected.empty(), where + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                                  io::quote_first_few(unexpected) + " (" + context + "; is it the right config?)");
  for (const auto& spec : specs) {
    const std::string& file_name = file_name_of.at(spec.name);
    io::expect_shape(*source, file_name, spec.shape, context);
    const auto stored = source->info(file_name).dtype;
    require(at::isFloatingType(stored), where + ": tensor '" + file_name + "' is " + io::dtype_name(stored) +
                                            ", expected a floating-point dtype");
    vae.weights[spec.name] = source->load(file_name, at::kFloat, upload);
  }
  return vae;
}

}  // namespace uspdit::models::wan_vae
