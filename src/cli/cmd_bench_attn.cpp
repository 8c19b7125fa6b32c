// `uspdit bench-attn`: USP attention on a global shape with given degrees; times it, counts the
// bytes each rank sends, and with --verify compares against single-rank attention.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <string>

#include "attention/usp_problem.h"
#include "cli/commands.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory_budget.h"
#include "core/timer.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"

namespace uspdit::cli {
namespace {

double max_over_ranks(parallel::Communicator& comm, double value) {
  auto t = at::full({1}, value, at::kDouble);
  comm.host_all_reduce_max(t);
  return t.item<double>();
}

}  // namespace

int run_bench_attn(Args& args) {
  attention::AttnProblem p;
  p.batch = args.get_int("batch", 1);
  p.seq_len = args.get_int("seq-len", 4096);
  p.heads = args.get_int("heads", 24);
  p.head_dim = args.get_int("head-dim", 64);
  p.text_len = args.get_int("text-len", 0);
  p.text_padding = args.get_int("text-padding", 0);
  p.seed = static_cast<uint64_t>(args.get_int("seed", 0));
  const std::string dtype_name = args.get_string("dtype", "fp32");
  p.dtype = parse_dtype(dtype_name);
  parallel::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  const std::string strategy_name = args.get_string("joint-strategy", "auto");
  const int iters = static_cast<int>(args.get_int("iters", 5));
  const int warmup = static_cast<int>(args.get_int("warmup", 1));
  const bool verify = args.flag("verify");
  const int threads = static_cast<int>(args.get_int("threads", 0));
  const auto device = device_request(args);
  const auto comm = comm_backend(args);
  read_collective_timeout(args);
  args.finish();

  require(p.batch >= 1 && p.seq_len >= 1 && p.heads >= 1 && p.head_dim >= 1,
          "--batch, --seq-len, --heads and --head-dim must be >= 1");
  require(p.text_len >= 0 && p.text_padding >= 0 && p.text_padding <= p.text_len,
          "--text-padding must be between 0 and --text-len");
  require(iters >= 1 && warmup >= 0, "--iters must be >= 1 and --warmup >= 0");
  // Every rank draws the global q, k and v before taking its shard.
  core::require_fits_in_memory(
      3.0 * static_cast<double>(p.batch) *
          (static_cast<double>(p.seq_len) + static_cast<double>(p.text_len)) * static_cast<double>(p.heads) *
          static_cast<double>(p.head_dim) * static_cast<double>(c10::elementSize(p.dtype)),
      "bench-attn with batch " + std::to_string(p.batch) + ", " + std::to_string(p.seq_len) + "+" +
          std::to_string(p.text_len) + " tokens, " + std::to_string(p.heads) + " heads x " +
          std::to_string(p.head_dim),
      "the global q, k and v on every rank", "use a smaller --seq-len/--heads/--batch");

  auto rt = parallel::Runtime::start(device, comm);
  parallel::validate_degrees(degrees, rt->world_size(), static_cast<int>(p.heads),
                         "this attention", false);
  auto strategy = attention::parse_joint_strategy(strategy_name, p.text_len, degrees.sequence_parallel());
  if (threads > 0) at::set_num_threads(threads);
  parallel::ProcessMesh mesh(rt->world(), degrees);

  auto global = attention::make_global_inputs(p);
  auto local = attention::shard_inputs(global, mesh, strategy);
  attention::move_to(local, rt->device());
  const attention::JointText* text = local.text ? &*local.text : nullptr;

  for (int i = 0; i < warmup; ++i) {
    attention::usp_attention(mesh, local.q, local.k, local.v, local.video_split, text);
  }
  rt->world().barrier();
  rt->world().reset_stats();
  attention::RingTimings ring_total;
  Stopwatch sw;
  attention::UspOutput out;
  for (int i = 0; i < iters; ++i) {
    out = attention::usp_attention(mesh, local.q, local.k, local.v, local.video_split, text);
    ring_total.compute_seconds += out.ring.compute_seconds;
    ring_total.wait_seconds += out.ring.wait_seconds;
  }
  core::synchronize(rt->device());  // GPU kernels run asynchronously: time them to completion
  const double local_seconds = sw.seconds() / iters;
  const double bytes_per_call = static_cast<double>(rt->world().stats().bytes_sent) / iters;
  rt->world().barrier();
  const double seconds = max_over_ranks(rt->world(), local_seconds);
  const double max_bytes = max_over_ranks(rt->world(), bytes_per_call);
  const double compute = max_over_ranks(rt->world(), ring_total.compute_seconds / iters);
  const double wait = max_over_ranks(rt->world(), ring_total.wait_seconds / iters);

  const auto formula = attention::traffic_formula(p.batch, p.seq_len, p.heads, p.head_dim,
                                                  degrees.ulysses, degrees.ring);
  const double elem = static_cast<double>(c10::elementSize(p.dtype));
  if (rt->rank() == 0) {
    std::printf("bench-attn: ranks %d (%s), B=%lld L=%lld H=%lld D=%lld text=%lld (%s, padding %lld) dtype=%s threads/rank=%d\n",
                rt->world_size(), parallel::describe(degrees).c_str(), (long long)p.batch,
                (long long)p.seq_len, (long long)p.heads, (long long)p.head_dim,
                (long long)p.text_len, p.text_len ? attention::joint_strategy_name(strategy) : "-",
                (long long)p.text_padding, dtype_name.c_str(), at::get_num_threads());
    std::printf("time per call: %.3f ms (slowest rank)\n", seconds * 1e3);
    std::printf("attention kernels: %.3f ms, waiting on ring transfers: %.3f ms\n", compute * 1e3, wait * 1e3);
    std::printf("bytes sent per rank per call: %.0f measured (max over ranks), %.0f by formula (video tokens only: ulysses %.0f + ring %.0f)\n",
                max_bytes, (formula.ulysses_elements + formula.ring_elements) * elem,
                formula.ulysses_elements * elem, formula.ring_elements * elem);
  }
  int status = 0;
  if (verify) {
    auto gathered = attention::gather_output(mesh, out, local, strategy);
    double err = attention::max_abs_error(gathered, attention::reference_output(global));
    err = max_over_ranks(rt->world(), err);
    const double tolerance = p.dtype == at::kFloat ? 1e-5 : 2e-2;
    if (rt->rank() == 0) {
      std::printf("max abs error: %.3g (tolerance %.0e) %s\n", err, tolerance,
                  err <= tolerance ? "PASS" : "FAIL");
    }
    status = err <= tolerance ? 0 : 1;
  }
  std::fflush(stdout);
  return status;
}

}  // namespace uspdit::cli
