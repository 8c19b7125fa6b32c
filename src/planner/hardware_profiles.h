// The accelerators `uspdit plan --gpu NAME` predicts for: each with its datasheet peak (dense
// bf16 tensor FLOP/s), memory, and the one-direction bandwidths of its links inside a node and
// between nodes, and ONE stated achieved fraction of the peak that every GEMM, attention and
// convolution of a run is assumed to reach. The fraction is a property of the chip and its
// kernels (flash attention, cuBLAS), stated once per profile, never fitted per model or row.
// The CPU profile has no datasheet: its rates are measured on the machine (cpu_calibration.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::planner {

struct HardwareProfile {
  std::string name;
  std::string description;
  double peak_flops = 0;         // dense bf16, per device
  double achieved_fraction = 0;  // of peak_flops, for every kernel of a run
  double gemm_flops = 0;         // measured rates (the CPU profile); 0: peak × fraction
  double attention_flops = 0;
  // Measured rate of a block's elementwise work (the CPU profile), elements/s; 0: folded into the
  // achieved fraction (GPU kernels fuse it or hide it behind the GEMMs).
  double elementwise_per_s = 0;
  int64_t memory_bytes = 0;           // per device
  double intra_node_bytes_per_s = 0;  // one direction, per device (NVLink, xGMI, PCIe)
  double inter_node_bytes_per_s = 0;  // one direction, per device (its NIC share)
  std::string source;                 // the datasheet
  // Share of the link bandwidths transfers reach: kLinkEfficiency for datasheet figures, 1 for
  // measured ones (--links).
  double link_efficiency = 0.7;
  // Share of gemm_rate() the VAE's decode reaches (3-D convolutions, group norms and upsampling at
  // full resolution); 1: the same rate (the CPU profile, not measured apart).
  double vae_share = 1.0;

  double gemm_rate() const { return gemm_flops > 0 ? gemm_flops : peak_flops * achieved_fraction; }
  double vae_rate() const { return gemm_rate() * vae_share; }
  double attention_rate() const {
    return attention_flops > 0 ? attention_flops : peak_flops * achieved_fraction;
  }
};

// h100, h200, a100, mi300x, rtx4090 (the names --gpu takes); nullptr for others ("cpu" is
// calibrated, not listed here).
const HardwareProfile* find_gpu_profile(const std::string& name);
const std::vector<HardwareProfile>& gpu_profiles();
std::string known_gpu_names();  // "h100, h200, a100, mi300x, rtx4090, cpu"

// All-to-all and ring transfers reach this share of a link's one-direction datasheet bandwidth
// (NCCL's measured bus bandwidth for all-to-all on NVLink and InfiniBand, 60-80 %).
inline constexpr double kLinkEfficiency = 0.7;

}  // namespace uspdit::planner
