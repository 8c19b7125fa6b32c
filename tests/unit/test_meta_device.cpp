// Every stage follows the device it is given: the models and the whole Wan text-to-video pipeline
// run on the meta device (shapes only, no data), where any tensor created on the CPU and mixed
// with the activations fails with "expected all tensors to be on the same device", exactly as it
// would on a GPU. So the CPU suite catches a stage that would leave a GPU run's device.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/library.h>

#include "models/hunyuan_video/hv_config.h"
#include "models/hunyuan_video/hv_model.h"
#include "models/hunyuan_video/hv_tensors.h"
#include "models/wan/wan_config.h"
#include "models/wan/wan_model.h"
#include "models/wan/wan_tensors.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/wan_t2v.h"
#include "pipeline/wan_t2v_files.h"

namespace uspdit {
namespace {

const c10::Device kMeta(c10::DeviceType::Meta);

// libtorch's C++ has no meta kernel for convolution (PyTorch registers it in Python): the output
// shape of a plain convolution, enough for the patch embeddings and the VAE's convolutions.
at::Tensor meta_convolution(const at::Tensor& input, const at::Tensor& weight,
                            const std::optional<at::Tensor>&, c10::SymIntArrayRef stride,
                            c10::SymIntArrayRef padding, c10::SymIntArrayRef dilation, bool transposed,
                            c10::SymIntArrayRef, c10::SymInt) {
  if (transposed) throw std::invalid_argument("meta convolution: transposed convolutions are not needed");
  std::vector<int64_t> shape = {input.size(0), weight.size(0)};
  for (size_t d = 0; d + 2 < static_cast<size_t>(input.dim()); ++d) {
    const int64_t in = input.size(static_cast<int64_t>(d) + 2), k = weight.size(static_cast<int64_t>(d) + 2);
    const int64_t s = stride[d].expect_int(), p = padding[d].expect_int(), dil = dilation[d].expect_int();
    shape.push_back((in + 2 * p - dil * (k - 1) - 1) / s + 1);
  }
  return at::empty(shape, input.options());
}

// Nor for at::complex (the RoPE table): the output takes the real part's shape.
at::Tensor& meta_complex_out(const at::Tensor& real, const at::Tensor&, at::Tensor& out) {
  out.resize_(real.sizes());
  return out;
}

// Nor for native_batch_norm, which layer_norm decomposes into on the meta device.
std::tuple<at::Tensor, at::Tensor, at::Tensor> meta_batch_norm(
    const at::Tensor& input, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&,
    const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, bool, double, double) {
  const auto stats = at::empty({input.size(1)}, input.options().dtype(at::kFloat));
  return {at::empty_like(input), stats, at::empty_like(stats)};
}

// Nor for where.self (masks) and index_select (embedding tables): broadcast / gathered shapes.
at::Tensor meta_where(const at::Tensor& condition, const at::Tensor& self, const at::Tensor& other) {
  const auto shape = at::infer_size(at::infer_size(condition.sizes(), self.sizes()), other.sizes());
  return at::empty(shape, self.options().dtype(at::result_type(self, other)).device(kMeta));
}

at::Tensor& meta_where_out(const at::Tensor& condition, const at::Tensor& self, const at::Tensor& other,
                           at::Tensor& out) {
  out.resize_(at::infer_size(at::infer_size(condition.sizes(), self.sizes()), other.sizes()));
  return out;
}

at::Tensor meta_index_select(const at::Tensor& self, int64_t dim, const at::Tensor& index) {
  auto shape = self.sizes().vec();
  shape[static_cast<size_t>(at::maybe_wrap_dim(dim, self.dim()))] = index.numel();
  return at::empty(shape, self.options());
}

TORCH_LIBRARY_IMPL(aten, Meta, m) {
  m.impl("where.self", meta_where);
  m.impl("where.self_out", meta_where_out);
  m.impl("index_select", meta_index_select);
  m.impl("native_batch_norm", meta_batch_norm);
  m.impl("convolution_overrideable", meta_convolution);
  m.impl("complex.out", meta_complex_out);
}

TEST(MetaDevice, WanDitForwardStaysOnTheDevice) {
  auto config = models::wan::wan_preset("wan2.1-t2v-1.3b");
  config.num_layers = 1;
  const models::wan::WanModel model(config, models::wan::random_wan_weights(config, at::kFloat, 1, kMeta));
  models::wan::WanInputs in;
  in.hidden_states = at::empty({1, 16, 3, 8, 8}, at::TensorOptions().device(kMeta));
  in.timestep = at::empty({1}, at::TensorOptions().device(kMeta));
  in.encoder_hidden_states = at::empty({1, 12, config.text_dim}, at::TensorOptions().device(kMeta));
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  const auto out = model.forward(mesh, in);
  EXPECT_EQ(out.device(), kMeta);
  EXPECT_EQ(out.sizes(), in.hidden_states.sizes());
}

at::Tensor on_meta(at::IntArrayRef shape) {
  return at::empty(shape, at::TensorOptions().device(kMeta));
}

TEST(MetaDevice, HunyuanVideoDitForwardStaysOnTheDevice) {
  auto config = models::hunyuan_video::hv_preset("hunyuanvideo");
  config.double_blocks = 1;
  config.single_blocks = 1;
  config.refiner_blocks = 1;
  config.hidden = 128;  // 4 heads of 32: the real layout at a width the CPU initialises quickly
  config.heads = 4;
  config.rope_axes = {8, 12, 12};
  config.text_dim = 64;
  config.pooled_dim = 32;
  const models::hunyuan_video::HvModel model(
      config, models::hunyuan_video::random_hv_weights(config, at::kFloat, 1, kMeta));
  models::hunyuan_video::HvInputs in{on_meta({1, 16, 3, 8, 8}),         on_meta({1}),
                                     on_meta({1, 10, config.text_dim}), on_meta({1, 10}),
                                     on_meta({1, config.pooled_dim}),   on_meta({1})};
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  for (const char* strategy : {"split", "front", "rear"}) {
    const auto out = model.forward(mesh, in, strategy);
    EXPECT_EQ(out.device(), kMeta) << strategy;
    EXPECT_EQ(out.sizes(), in.hidden_states.sizes()) << strategy;
  }
}

// The text encoder (tokens from the host), noise (drawn on the CPU generator and moved), the
// sampler's state with guidance, and the VAE decode: all on the pipeline's device.
TEST(MetaDevice, WanTextToVideoStagesStayOnTheDevice) {
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  pipeline::WanT2vSettings settings;
  settings.show_progress = false;
  settings.device = kMeta;
  settings.text_device = kMeta;
  pipeline::WanT2vPipeline pipe(
      mesh, pipeline::locate_wan_t2v_files(std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original"),
      settings);
  pipeline::WanT2vRequest request;
  request.task = "t2v-1.3B";
  request.prompt = "a cat";
  request.width = 64;
  request.height = 48;
  request.frames = 5;
  request.steps = 2;
  request.text_len = 16;
  const auto text = pipe.encode_prompts(request);
  EXPECT_EQ(text.cond.states.device(), kMeta);
  EXPECT_EQ(text.uncond.states.device(), kMeta);
  const auto noise = pipe.initial_noise(request);
  EXPECT_EQ(noise.device(), kMeta);
  const auto latents = pipe.denoise(request, text, noise, request.steps, nullptr);
  EXPECT_EQ(latents.device(), kMeta);
  EXPECT_EQ(latents.sizes(), noise.sizes());
  const auto video = pipe.decode(latents);
  EXPECT_EQ(video.device(), kMeta);
  EXPECT_EQ(video.sizes(), at::IntArrayRef({1, 3, 5, 48, 64}));
}

}  // namespace
}  // namespace uspdit
