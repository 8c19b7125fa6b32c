#include "planner/hardware_profiles.h"

#include <algorithm>
#include <cctype>

namespace uspdit::planner {
namespace {

constexpr double kTera = 1e12;
constexpr double kGB = 1e9;
constexpr double kGpuVaeShare = 0.63;

std::vector<HardwareProfile> make_profiles() {
  std::vector<HardwareProfile> p;
  // NVIDIA H100 SXM5 datasheet: BF16 tensor 1,979 TFLOPS with sparsity = 989 dense; 80 GB HBM3;
  // NVLink 900 GB/s (both directions: 450 each way); a ConnectX-7 NDR 400 Gb/s (50 GB/s) per GPU.
  // Achieved 0.35: flash attention 2 and cuBLAS at video-DiT shapes on H100 (FA2 reaches
  // 335-350 TFLOPS forward at head dim 128, Dao 2023), the xDiT/Wan single-GPU timings agree.
  p.push_back({"h100", "NVIDIA H100 SXM5 80GB", 989 * kTera, 0.35, 0, 0, 0, 80LL * 1000 * 1000 * 1000,
               450 * kGB, 50 * kGB, "NVIDIA H100 Tensor Core GPU datasheet (SXM5)"});
  // H200 SXM: the H100's compute (989 dense bf16), 141 GB HBM3e, NVLink 900 GB/s.
  p.push_back({"h200", "NVIDIA H200 SXM 141GB", 989 * kTera, 0.35, 0, 0, 0, 141LL * 1000 * 1000 * 1000,
               450 * kGB, 50 * kGB, "NVIDIA H200 Tensor Core GPU datasheet"});
  // A100 SXM4 80GB: BF16 tensor 312 TFLOPS dense; NVLink 600 GB/s (300 each way); HDR 200 Gb/s.
  // Achieved 0.5: flash attention 2 reaches 50-70 % of A100's peak forward (Dao 2023).
  p.push_back({"a100", "NVIDIA A100 SXM4 80GB", 312 * kTera, 0.5, 0, 0, 0, 80LL * 1000 * 1000 * 1000,
               300 * kGB, 25 * kGB, "NVIDIA A100 Tensor Core GPU datasheet"});
  // AMD Instinct MI300X: BF16 1307.4 TFLOPS dense, 192 GB HBM3, Infinity Fabric 896 GB/s peer
  // aggregate (7 links × 64 GB/s each way = 448); 400 Gb/s NIC per GPU. Achieved 0.3: ROCm flash
  // attention reaches ~400 TFLOPS forward.
  p.push_back({"mi300x", "AMD Instinct MI300X", 1307.4 * kTera, 0.3, 0, 0, 0, 192LL * 1000 * 1000 * 1000,
               448 * kGB, 50 * kGB, "AMD Instinct MI300X data sheet"});
  // GeForce RTX 4090: 165.2 TFLOPS dense FP16/BF16 tensor with FP32 accumulate (Ada whitepaper,
  // appendix), 24 GB; no NVLink: PCIe 4.0 x16 (32 GB/s each way); 100 Gb/s Ethernet between nodes.
  p.push_back({"rtx4090", "NVIDIA GeForce RTX 4090", 165.2 * kTera, 0.45, 0, 0, 0, 24LL * 1000 * 1000 * 1000,
               32 * kGB, 12.5 * kGB, "NVIDIA Ada Lovelace architecture whitepaper, RTX 4090 specifications"});
  // The VAE decode reaches less than the GEMMs: HunyuanVideo's tiled decode of 848x480x77 took
  // 5.71 s on one H200 (sglang PR #36012, sequential tiles, the mean of its "lossless" runs), where
  // vae_flops_per_pixel counts 1.25 PFLOP (40 MFLOP a pixel with the tiles' overlaps): 3.62 s at
  // the 0.35 rate, so 0.63 of it. Stated once for every GPU profile: none of the others measured.
  for (auto& profile : p) profile.vae_share = kGpuVaeShare;
  return p;
}

}  // namespace

const std::vector<HardwareProfile>& gpu_profiles() {
  static const std::vector<HardwareProfile> profiles = make_profiles();
  return profiles;
}

const HardwareProfile* find_gpu_profile(const std::string& name) {
  std::string want = name;
  std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& p : gpu_profiles()) {
    if (p.name == want) return &p;
  }
  return nullptr;
}

std::string known_gpu_names() {
  std::string names;
  for (const auto& p : gpu_profiles()) names += p.name + ", ";
  return names + "cpu";
}

}  // namespace uspdit::planner
