#include "planner/cpu_calibration.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "attention/local_attention.h"
#include "core/device.h"
#include "nn/layers.h"
#include "nn/rope3d.h"

namespace uspdit::planner {
namespace {

namespace fs = std::filesystem;

// "cpu_rates2": the elementwise rate is measured on a block's own kernels since this name; the
// lines of "cpu_rates" measured a cheaper chain and must not be read as such.
constexpr const char* kCacheName = "cpu_rates2";

fs::path cache_file() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "uspdit" / kCacheName;
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "uspdit" / kCacheName;
  return {};
}

// FLOP/s of `work` (which does `flops`), repeated for about `seconds` after one warm-up call.
template <typename Work>
double rate(double flops, double seconds, Work&& work) {
  work();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int calls = 0;
  double elapsed = 0;
  do {
    work();
    ++calls;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return flops * calls / elapsed;
}

}  // namespace

CpuRates calibrate_cpu(int dtype_bytes, bool force) {
  const int threads = at::get_num_threads();
  const std::string key = std::to_string(threads) + " " + std::to_string(dtype_bytes);
  const fs::path file = cache_file();
  if (!force && !file.empty()) {
    // --calibrate appends; the newest line for these threads and dtype is the one to use.
    std::ifstream in(file);
    std::string line;
    std::optional<CpuRates> newest;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      int t = 0, b = 0;
      CpuRates r;
      if (fields >> t >> b >> r.gemm_flops >> r.attention_flops >> r.elementwise_per_s && t == threads &&
          b == dtype_bytes) {
        r.from_cache = true;
        newest = r;
      }
    }
    if (newest) return *newest;
  }
  const auto dtype = dtype_bytes == 2 ? at::kBFloat16 : at::kFloat;
  const auto opts = at::TensorOptions().dtype(dtype);
  CpuRates r;
  {
    // A DiT block's projection: 1024 tokens of a 1536-wide model into 1536 outputs.
    const int64_t n = 1024, k = 1536, m = 1536;
    const auto a = at::randn({n, k}, opts), w = at::randn({k, m}, opts);
    r.gemm_flops = rate(2.0 * n * k * m, 1.0, [&] { (void)at::matmul(a, w); });
  }
  {
    // One attention call as the blocks make it (attention::attention: tokens-before-heads
    // layout, the kernel, the fp32 result and its cast back), 12 heads of 128 over 1024 tokens
    // (FLOPs: 4 L² D per head). The bare kernel on [B, H, L, D] ran 1.08x faster than this.
    const int64_t heads = 12, len = 1024, dim = 128;
    const auto q = at::randn({1, len, heads, dim}, opts), k = at::randn({1, len, heads, dim}, opts),
               v = at::randn({1, len, heads, dim}, opts);
    r.attention_flops = rate(4.0 * heads * len * len * dim, 1.0,
                             [&] { (void)attention::attention(q, k, v, {}, std::nullopt); });
  }
  {
    // A DiT block's non-GEMM work with the block's own kernels (nn/), on 1024 tokens at Wan
    // 1.3B's widths (1536 wide, 12 heads of 128, MLP 8960): three layer norms (one affine), two
    // modulations, four q/k RMS norms, RoPE on q and k, the MLP's GELU, three gated residuals
    // and the casts around the GEMMs. Counted in the time model's unit (37 elements of the
    // hidden width and 2 of the MLP's per token, time_model.cpp), so a block's elementwise term
    // costs what these kernels cost here, whichever of them a model's widths make dear.
    const int64_t n = 1024, d = 1536, f = 8960, heads = 12, head_dim = d / heads;
    const auto fp32 = at::TensorOptions().dtype(at::kFloat);
    const auto x = at::randn({1, n, d}, fp32), mod = at::randn({6, 1, 1, d}, fp32);
    const auto norm_w = at::randn({d}, fp32), norm_b = at::randn({d}, fp32), rms_w = at::randn({d}, opts);
    const auto proj = at::randn({1, n, d}, opts), mlp = at::randn({1, n, f}, opts);
    const auto rope = nn::make_rope_3d(4, 16, 16, nn::wan_rope_split(head_dim), 10000.0, core::host_device());
    const double elements = static_cast<double>(n) * (37 * d + 2 * f);
    r.elementwise_per_s = rate(elements, 1.0, [&] {
      (void)nn::modulate(nn::layer_norm_fp32(x, 1e-6), mod[0], mod[1]).to(dtype);
      auto q = nn::rms_norm(proj, rms_w, 1e-6).view({1, n, heads, head_dim});
      auto k = nn::rms_norm(proj, rms_w, 1e-6).view({1, n, heads, head_dim});
      (void)nn::apply_rope_interleaved(q, rope);
      (void)nn::apply_rope_interleaved(k, rope);
      auto h = x + proj.to(at::kFloat) * mod[2];
      auto yc = nn::layer_norm_fp32(h, 1e-6, norm_w, norm_b).to(dtype);
      (void)nn::rms_norm(yc, rms_w, 1e-6);    // the cross-attention's q
      (void)nn::rms_norm(proj, rms_w, 1e-6);  // its k (text tokens, counted per video token)
      h = h + proj.to(at::kFloat);
      (void)nn::modulate(nn::layer_norm_fp32(h, 1e-6), mod[3], mod[4]).to(dtype);
      (void)nn::gelu_tanh(mlp);
      (void)(h + proj.to(at::kFloat) * mod[5]);
    });
  }
  if (!file.empty()) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::app);
    out << threads << " " << dtype_bytes << " " << r.gemm_flops << " " << r.attention_flops << " "
        << r.elementwise_per_s << "\n";
  }
  return r;
}

HardwareProfile cpu_profile(const CpuRates& rates) {
  HardwareProfile p;
  p.name = "cpu";
  p.description =
      "this machine's CPU (" + std::to_string(at::get_num_threads()) + " threads per rank, measured)";
  p.peak_flops = rates.gemm_flops;
  p.achieved_fraction = 1.0;
  p.gemm_flops = rates.gemm_flops;
  p.attention_flops = rates.attention_flops;
  p.elementwise_per_s = rates.elementwise_per_s;
  p.memory_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  // MPI over shared memory moves a few GB/s per rank; 10 GbE between nodes.
  p.intra_node_bytes_per_s = 4e9;
  p.inter_node_bytes_per_s = 1.25e9;
  p.source = "measured by uspdit plan --calibrate";
  p.link_efficiency = 1.0;  // the figures above are estimates of what MPI reaches, not peaks
  return p;
}

}  // namespace uspdit::planner
