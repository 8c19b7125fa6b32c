// USP attention equals single-rank attention, on whatever world size this launch has, for
// every (ulysses, ring) factorisation of it (and cfg 2 where the size is even), with and
// without joint text (split, front, rear), padded text, and lengths that do not divide.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <vector>

#include "attention/usp_problem.h"
#include "parallel/mesh.h"
#include "core/device.h"
#include "parallel/mpi_communicator.h"
#include "parallel/staged_communicator.h"

namespace uspdit {
namespace {

struct TextCase {
  const char* name;
  int64_t text_len;  // 0: none; < 0: -k·P (a multiple of the degree)
  int64_t padding;
  attention::JointStrategy strategy;
};

double max_over_world(double value) {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return value;
}

std::vector<parallel::ParallelDegrees> all_meshes(int world) {
  std::vector<parallel::ParallelDegrees> out;
  for (int cfg = 1; cfg <= 2; ++cfg) {
    if (world % cfg) continue;
    for (int u = 1; u <= world / cfg; ++u) {
      if ((world / cfg) % u == 0) out.push_back({u, world / cfg / u, cfg});
    }
  }
  return out;
}

class UspParity : public ::testing::Test {
 protected:
  void SetUp() override { world_ = std::make_unique<parallel::MpiCommunicator>(MPI_COMM_WORLD, false); }

  // Runs one problem on one mesh; returns the max error over all ranks.
  double run(const parallel::ParallelDegrees& degrees, attention::AttnProblem problem,
             attention::JointStrategy strategy) {
    parallel::ProcessMesh mesh(*world_, degrees);
    auto global = attention::make_global_inputs(problem);
    auto local = attention::shard_inputs(global, mesh, strategy);
    auto out = attention::usp_attention(mesh, local.q, local.k, local.v, local.video_split,
                                        local.text ? &*local.text : nullptr);
    auto gathered = attention::gather_output(mesh, out, local, strategy);
    return max_over_world(attention::max_abs_error(gathered, attention::reference_output(global)));
  }

  std::unique_ptr<parallel::Communicator> world_;
};

TEST_F(UspParity, EveryFactorisationEveryTextLayoutFp32) {
  const int P = world_->size();
  for (const auto& degrees : all_meshes(P)) {
    const int sp = degrees.sequence_parallel();
    const std::vector<TextCase> text_cases = {
        {"no text", 0, 0, attention::JointStrategy::kSplit},
        {"split, divides", 2 * sp, 0, attention::JointStrategy::kSplit},
        {"split, divides, padded", 2 * sp, sp, attention::JointStrategy::kSplit},
        {"split, uneven, padded", 2 * sp + 1, 2, attention::JointStrategy::kSplit},
        {"front", 7, 0, attention::JointStrategy::kFront},
        {"front, padded", 7, 3, attention::JointStrategy::kFront},
        {"rear", 7, 0, attention::JointStrategy::kRear},
        {"rear, padded", 9, 4, attention::JointStrategy::kRear},
    };
    for (int64_t seq_len : {int64_t(8 * sp), int64_t(8 * sp + 3), int64_t(37 * sp + 5)}) {
      for (const auto& tc : text_cases) {
        attention::AttnProblem p;
        p.batch = 2;
        p.seq_len = seq_len;
        p.heads = 2 * degrees.ulysses;
        p.head_dim = 16;
        p.text_len = tc.text_len;
        p.text_padding = tc.padding;
        p.seed = 1234 + seq_len;
        double err = run(degrees, p, tc.strategy);
        EXPECT_LE(err, 1e-5) << parallel::describe(degrees) << ", L=" << seq_len << ", " << tc.name;
      }
    }
  }
}

// The host-staged path (device tensors copied through host buffers and sent over MPI, what ranks
// sharing a GPU use) gives the single-rank result on every mesh; on the CPU its copies are real
// host-to-host copies, so this is the code path a GPU run takes.
TEST_F(UspParity, HostStagedPathEqualsOneRank) {
  world_ = std::make_unique<parallel::StagedCommunicator>(
      std::make_unique<parallel::MpiCommunicator>(MPI_COMM_WORLD, false), core::host_device());
  const int P = world_->size();
  for (const auto& degrees : all_meshes(P)) {
    const int sp = degrees.sequence_parallel();
    for (auto strategy : {attention::JointStrategy::kSplit, attention::JointStrategy::kFront}) {
      attention::AttnProblem p;
      p.batch = 2;
      p.seq_len = 8 * sp + 3;
      p.heads = 2 * degrees.ulysses;
      p.head_dim = 16;
      p.text_len = strategy == attention::JointStrategy::kSplit ? 2 * sp + 1 : 7;
      p.text_padding = 2;
      p.seed = 77;
      EXPECT_LE(run(degrees, p, strategy), 1e-5)
          << parallel::describe(degrees) << " host-staged " << attention::joint_strategy_name(strategy);
    }
  }
}

TEST_F(UspParity, Bf16WithinTolerance) {
  const int P = world_->size();
  for (const auto& degrees : all_meshes(P)) {
    if (degrees.cfg != 1) continue;
    for (auto strategy : {attention::JointStrategy::kSplit, attention::JointStrategy::kFront}) {
      attention::AttnProblem p;
      p.batch = 1;
      p.seq_len = 16 * P + 1;
      p.heads = 2 * degrees.ulysses;
      p.head_dim = 32;
      p.text_len = strategy == attention::JointStrategy::kSplit ? 2 * P : 5;
      p.text_padding = 1;
      p.dtype = at::kBFloat16;
      p.seed = 99;
      EXPECT_LE(run(degrees, p, strategy), 2e-2)
          << parallel::describe(degrees) << " bf16 " << attention::joint_strategy_name(strategy);
    }
  }
}

TEST_F(UspParity, FewerTokensThanRanks) {
  // Some ranks hold no video token at all; the result must still be exact.
  const int P = world_->size();
  if (P < 2) GTEST_SKIP() << "needs at least 2 ranks";
  for (const auto& degrees : all_meshes(P)) {
    if (degrees.cfg != 1) continue;
    attention::AttnProblem p;
    p.seq_len = P - 1;
    p.heads = degrees.ulysses;
    p.head_dim = 8;
    p.text_len = 3;
    p.seed = 5;
    EXPECT_LE(run(degrees, p, attention::JointStrategy::kRear), 1e-5) << parallel::describe(degrees);
  }
}

}  // namespace
}  // namespace uspdit
