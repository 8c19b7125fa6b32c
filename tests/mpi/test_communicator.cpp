// The MPI communicator's collectives, its byte counting, and the mesh's group layout.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <vector>

#include "attention/usp_problem.h"
#include "parallel/mesh.h"
#include "core/device.h"
#include "parallel/mpi_communicator.h"
#include "parallel/staged_communicator.h"

namespace uspdit {
namespace {

class Comm : public ::testing::Test {
 protected:
  void SetUp() override { world_ = std::make_unique<parallel::MpiCommunicator>(MPI_COMM_WORLD, false); }
  std::unique_ptr<parallel::MpiCommunicator> world_;
};

TEST_F(Comm, AllToAllVUnevenCounts) {
  const int P = world_->size(), me = world_->rank();
  // Rank i sends (i + j + 1) elements to rank j, valued 1000·i + j.
  std::vector<int64_t> send_counts(P), recv_counts(P);
  std::vector<at::Tensor> parts;
  for (int j = 0; j < P; ++j) {
    send_counts[j] = me + j + 1;
    recv_counts[j] = j + me + 1;
    parts.push_back(at::full({send_counts[j]}, 1000.0 * me + j, at::kFloat));
  }
  auto send = at::cat(parts);
  auto recv = at::empty({at::sum(at::tensor(recv_counts)).item<int64_t>()}, at::kFloat);
  world_->reset_stats();
  world_->all_to_all_v(send, send_counts, recv, recv_counts);
  int64_t offset = 0;
  for (int j = 0; j < P; ++j) {
    auto got = recv.narrow(0, offset, recv_counts[j]);
    EXPECT_TRUE(at::all(got == 1000.0f * j + me).item<bool>()) << "from rank " << j;
    offset += recv_counts[j];
  }
  EXPECT_EQ(world_->stats().bytes_sent, 4 * (send.numel() - send_counts[me]));
}

TEST_F(Comm, SendRecvAsyncRing) {
  const int P = world_->size(), me = world_->rank();
  auto send = at::full({1000}, static_cast<float>(me), at::kFloat);
  auto recv = at::empty({1000}, at::kFloat);
  auto op = world_->send_recv_async(send, (me + 1) % P, recv, (me - 1 + P) % P);
  op->wait();
  EXPECT_TRUE(at::all(recv == static_cast<float>((me - 1 + P) % P)).item<bool>());
}

TEST_F(Comm, MeshGroupsFollowTheLayout) {
  const int P = world_->size();
  for (int u = 1; u <= P; ++u) {
    if (P % u) continue;
    parallel::ParallelDegrees d{u, P / u, 1};
    parallel::ProcessMesh mesh(*world_, d);
    const int me = world_->rank();
    // Ulysses groups are contiguous, ring groups strided by U.
    EXPECT_EQ(mesh.ulysses().rank(), me % u);
    EXPECT_EQ(mesh.ring().rank(), me / u);
    auto ids = at::full({1}, static_cast<int64_t>(me), at::kLong);
    auto ulysses_members = at::empty({u}, at::kLong);
    std::vector<int64_t> ones_u(u, 1);
    mesh.ulysses().all_gather_v(ids, ulysses_members, ones_u);
    for (int i = 0; i < u; ++i) EXPECT_EQ(ulysses_members[i].item<int64_t>(), (me / u) * u + i);
    auto ring_members = at::empty({P / u}, at::kLong);
    std::vector<int64_t> ones_r(P / u, 1);
    mesh.ring().all_gather_v(ids, ring_members, ones_r);
    for (int i = 0; i < P / u; ++i) EXPECT_EQ(ring_members[i].item<int64_t>(), me % u + i * u);
    EXPECT_EQ(mesh.sequence_chunk(), me);
  }
}

TEST_F(Comm, MeasuredBytesEqualTheFormula) {
  // With a length that divides, each rank sends exactly 4·(U−1)/U·(L/P)·H·D elements in the
  // Ulysses all-to-alls (QKV packed + output: two calls) and 2·(R−1)·(L/P)·H·D in the ring.
  const int P = world_->size();
  for (int u = 1; u <= P; ++u) {
    if (P % u) continue;
    parallel::ParallelDegrees d{u, P / u, 1};
    parallel::ProcessMesh mesh(*world_, d);
    attention::AttnProblem p;
    p.seq_len = 12 * P;
    p.heads = 2 * u;
    p.head_dim = 8;
    auto global = attention::make_global_inputs(p);
    auto local = attention::shard_inputs(global, mesh, attention::JointStrategy::kSplit);
    world_->reset_stats();
    attention::usp_attention(mesh, local.q, local.k, local.v, local.video_split, nullptr);
    const auto f = attention::traffic_formula(p.batch, p.seq_len, p.heads, p.head_dim, d.ulysses, d.ring);
    EXPECT_EQ(world_->stats().bytes_sent, static_cast<int64_t>((f.ulysses_elements + f.ring_elements) * 4))
        << parallel::describe(d);
    // Calls: two all-to-alls when U > 1 (not four), R − 1 ring hops.
    EXPECT_EQ(world_->stats().calls, (u > 1 ? 2 : 0) + (d.ring - 1)) << parallel::describe(d);
  }
}

// The host-staged communicator moves what MPI moves, counts what MPI counts, and its groups and
// background transfers behave the same (on the CPU its staging copies are real copies).
TEST(StagedComm, SameDataAndBytesAsMpi) {
  parallel::StagedCommunicator staged(std::make_unique<parallel::MpiCommunicator>(MPI_COMM_WORLD, false),
                                      core::host_device());
  const int P = staged.size(), me = staged.rank();
  EXPECT_EQ(staged.backend(), "mpi+host-staged");
  std::vector<int64_t> counts(P);
  for (int r = 0; r < P; ++r) counts[r] = r + 1;
  const int64_t total = P * (P + 1) / 2;
  auto send = at::full({total}, static_cast<float>(me), at::kFloat);
  std::vector<int64_t> recv_counts(P, me + 1);
  auto recv = at::empty({static_cast<int64_t>(P) * (me + 1)}, at::kFloat);
  staged.all_to_all_v(send, counts, recv, recv_counts);
  for (int r = 0; r < P; ++r) {
    EXPECT_TRUE(at::all(recv.narrow(0, r * (me + 1), me + 1) == static_cast<float>(r)).item<bool>()) << r;
  }
  EXPECT_EQ(staged.stats().bytes_sent, 4 * (total - counts[me]));

  auto ring_send = at::full({1000}, static_cast<float>(me), at::kFloat);
  auto ring_recv = at::zeros({1000}, at::kFloat);
  auto op = staged.send_recv_async(ring_send, (me + 1) % P, ring_recv, (me - 1 + P) % P);
  op->wait();
  EXPECT_TRUE(at::all(ring_recv == static_cast<float>((me - 1 + P) % P)).item<bool>());

  auto value = at::full({3}, static_cast<double>(me), at::kDouble);
  staged.all_reduce_max(value);
  EXPECT_TRUE(at::all(value == static_cast<double>(P - 1)).item<bool>());
  auto group = staged.split(me % 2, me);
  auto sum = at::ones({2}, at::kLong);
  group->all_reduce_sum(sum);
  EXPECT_EQ(sum[0].item<int64_t>(), group->size());
  EXPECT_EQ(group->backend(), "mpi+host-staged");
}

}  // namespace
}  // namespace uspdit
