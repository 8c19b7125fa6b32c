#include "planner/cpu_calibration.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "attention/local_attention.h"
#include "planner/model_profile.h"
#include "planner/plan_predictions.h"
#include "planner/time_model.h"

namespace uspdit::planner {
namespace {

namespace fs = std::filesystem;

// "cpu_rates3": the elementwise rate is what a real block leaves beyond its GEMMs and attention
// since this name; "cpu_rates2" timed the block's elementwise kernels alone (1.7x faster than
// what a block shows), "cpu_rates" a cheaper chain still: their lines mean something else.
constexpr const char* kCacheName = "cpu_rates3";

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

CpuRates calibrate_cpu(int dtype_bytes, bool force, const StepTimer& time_step) {
  const int threads = at::get_num_threads();
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
    // Everything a block does beyond the GEMMs and attention — layer and RMS norms, modulation,
    // RoPE, the MLP's GELU, gated residuals, the casts around the kernels, and what no kernel list
    // names (page faults of fresh activations, layout copies) — as one rate in the time model's
    // unit (elements per token per block: 37 of the hidden width, 2 of the MLP's). Measured on a
    // real block: a step of 2 blocks minus a step of 1 is one block and nothing else (the step's
    // embeddings and head cancel), less what the time model gives that block's GEMMs and
    // attention at the rates just measured. The block's elementwise kernels timed alone ran 1.7x
    // faster than this, and the 1-rank step prediction came out 16-20 % short.
    const ModelProfile* wan = published_profile(kCalibrationModel);
    RunFlags flags;
    flags.height = std::to_string(kCalibrationHeight);
    flags.width = std::to_string(kCalibrationWidth);
    flags.frames = std::to_string(kCalibrationFrames);
    HardwareProfile rates;
    rates.gemm_flops = r.gemm_flops;
    rates.attention_flops = r.attention_flops;
    auto modelled = [&](int layers) {
      const ModelProfile model = with_layers(*wan, layers);
      return estimate_time(model, run_from_flags(model, flags, false, dtype_bytes),
                           parallel::ParallelDegrees{}, Cluster{1, 1}, rates);
    };
    const TimeEstimate one = modelled(1), two = modelled(2);
    const double elements = two.elementwise_elements_per_step - one.elementwise_elements_per_step;
    const double kernels = two.compute_seconds - one.compute_seconds;
    // The fastest of three steps of each: other processes only add time.
    auto fastest = [&](int layers) {
      double best = time_step(layers);
      for (int i = 0; i < 2; ++i) best = std::min(best, time_step(layers));
      return best;
    };
    const double block = fastest(2) - fastest(1);
    // A block can hardly be cheaper than its GEMMs and attention; if noise says so, keep a floor
    // (a tenth of the kernels' time) rather than an infinite rate.
    r.elementwise_per_s = elements / std::max(block - kernels, 0.1 * kernels);
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
