// The run's device decision (core/device.h): --device parsing, the GPU each launcher's local
// rank selects, the refusal of --device cuda where no GPU is, and the host paths of the
// uploader and memory figures that every CPU run goes through.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>
#include <optional>
#include <string>

#include "core/device.h"
#include "core/error.h"
#include "parallel/launch_env.h"
#include "parallel/runtime.h"

namespace uspdit::core {
namespace {

parallel::EnvLookup fake(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

const AcceleratorInfo kEightGpus{true, 8, false};
const AcceleratorInfo kNoGpuBackend{false, 0, false};
const AcceleratorInfo kBackendButNoGpu{true, 0, false};

TEST(DeviceRequest, ParsesTheThreeChoices) {
  EXPECT_EQ(parse_device_request("auto"), DeviceRequest::kAuto);
  EXPECT_EQ(parse_device_request("cpu"), DeviceRequest::kCpu);
  EXPECT_EQ(parse_device_request("cuda"), DeviceRequest::kCuda);
  EXPECT_EQ(parse_device_request("gpu"), DeviceRequest::kCuda);
  EXPECT_NE(message_of([] { parse_device_request("tpu"); }).find("use auto, cuda or cpu"), std::string::npos);
  // An explicit index would fight the launcher's assignment: the message says where it comes from.
  EXPECT_NE(message_of([] { parse_device_request("cuda:1"); }).find("LOCAL_RANK % GPUs"), std::string::npos);
}

TEST(ChooseDevice, AutoIsTheGpuWhenOneIsVisibleElseTheCpu) {
  EXPECT_EQ(choose_device(DeviceRequest::kAuto, 3, kEightGpus), c10::Device(c10::DeviceType::CUDA, 3));
  EXPECT_EQ(choose_device(DeviceRequest::kAuto, 3, kNoGpuBackend), host_device());
  EXPECT_EQ(choose_device(DeviceRequest::kAuto, 0, kBackendButNoGpu), host_device());
  EXPECT_EQ(choose_device(DeviceRequest::kCpu, 3, kEightGpus), host_device());
}

TEST(ChooseDevice, LocalRankModuloTheGpusOfTheNode) {
  for (int local = 0; local < 16; ++local) {
    EXPECT_EQ(choose_device(DeviceRequest::kCuda, local, kEightGpus).index(), local % 8);
  }
  const AcceleratorInfo one{true, 1, false};
  EXPECT_EQ(choose_device(DeviceRequest::kCuda, 5, one).index(), 0);  // ranks sharing one GPU
}

TEST(ChooseDevice, CudaWithoutAGpuNamesTheFix) {
  const auto no_backend = message_of([] { choose_device(DeviceRequest::kCuda, 0, kNoGpuBackend); });
  EXPECT_NE(no_backend.find("--device cuda"), std::string::npos) << no_backend;
  EXPECT_NE(no_backend.find("no GPU backend"), std::string::npos) << no_backend;
  EXPECT_NE(no_backend.find("--device cpu"), std::string::npos) << no_backend;
  const auto none_visible = message_of([] { choose_device(DeviceRequest::kCuda, 0, kBackendButNoGpu); });
  EXPECT_NE(none_visible.find("no GPU is visible"), std::string::npos) << none_visible;
  EXPECT_NE(none_visible.find("--device cpu"), std::string::npos) << none_visible;
}

// Every launcher's local-rank variable reaches the GPU choice.
TEST(ChooseDevice, FromEachLaunchersVariables) {
  struct Case {
    const char* launcher;
    std::map<std::string, std::string> vars;
    int gpu;
  };
  const Case cases[] = {
      {"torchrun",
       {{"TORCHELASTIC_RUN_ID", "r"},
        {"RANK", "13"},
        {"WORLD_SIZE", "16"},
        {"LOCAL_RANK", "5"},
        {"LOCAL_WORLD_SIZE", "8"},
        {"MASTER_ADDR", "n0"},
        {"MASTER_PORT", "29500"}},
       5},
      {"Open MPI",
       {{"OMPI_COMM_WORLD_RANK", "10"},
        {"OMPI_COMM_WORLD_SIZE", "16"},
        {"OMPI_COMM_WORLD_LOCAL_RANK", "2"},
        {"OMPI_COMM_WORLD_LOCAL_SIZE", "8"}},
       2},
      {"MPICH",
       {{"PMI_RANK", "7"}, {"PMI_SIZE", "8"}, {"MPI_LOCALRANKID", "7"}, {"MPI_LOCALNRANKS", "8"}},
       7},
      {"Slurm",
       {{"SLURM_PROCID", "9"},
        {"SLURM_NTASKS", "16"},
        {"SLURM_LOCALID", "1"},
        {"SLURM_NTASKS_PER_NODE", "8"}},
       1},
      {"single process", {}, 0},
  };
  for (const auto& c : cases) {
    const auto env = parallel::read_launch_env(fake(c.vars));
    EXPECT_EQ(choose_device(DeviceRequest::kCuda, env.local_rank, kEightGpus).index(), c.gpu) << c.launcher;
  }
}

TEST(DeviceProbe, ThisCpuBuildSeesNoGpu) {
  // The CPU test build links no GPU backend; the probe must say so rather than crash.
  const auto info = probe_accelerators();
  EXPECT_EQ(info.count, 0);
  EXPECT_EQ(choose_device(DeviceRequest::kAuto, 0, info), host_device());
}

TEST(DeviceUploader, HostPathReturnsTheStagedTensorAsFilled) {
  DeviceUploader upload(host_device());
  auto staged = upload.staging({2, 3}, at::kBFloat16);
  EXPECT_EQ(staged.scalar_type(), at::kBFloat16);
  EXPECT_EQ(staged.sizes(), at::IntArrayRef({2, 3}));
  staged.copy_(at::arange(6, at::kFloat).view({2, 3}));
  const auto placed = upload.upload(staged);
  EXPECT_EQ(placed.device(), host_device());
  EXPECT_TRUE(at::equal(placed.to(at::kFloat), at::arange(6, at::kFloat).view({2, 3})));
  // A second staging tensor is new memory: the first stays valid (a model's weights are kept).
  auto second = upload.staging({2, 3}, at::kBFloat16);
  second.fill_(7);
  EXPECT_TRUE(at::equal(placed.to(at::kFloat), at::arange(6, at::kFloat).view({2, 3})));
}

TEST(DeviceMemory, HostFiguresAreZeroAndCallsAreNoOps) {
  const auto m = device_memory(host_device());
  EXPECT_EQ(m.peak_allocated, 0);
  EXPECT_EQ(m.total, 0);
  reset_device_peak(host_device());
  release_cached_memory(host_device());
  synchronize(host_device());
  make_current(host_device());
  const auto t = at::ones({3});
  EXPECT_EQ(to_host(t).data_ptr(), t.data_ptr());  // already there: no copy
  EXPECT_EQ(device_label(host_device()), "cpu");
  EXPECT_EQ(device_label(c10::Device(c10::DeviceType::CUDA, 3)), "cuda:3");
}

}  // namespace
}  // namespace uspdit::core

namespace uspdit::parallel {
namespace {

using core::message_of;

LaunchEnv launched(Launcher launcher, int world, int local_world) {
  LaunchEnv env;
  env.launcher = launcher;
  env.world_size = world;
  env.local_world_size = local_world;
  return env;
}

TEST(CommBackendChoice, HostTensorsGoOverMpiOrItsStagedTwin) {
  const auto env = launched(Launcher::kOpenMpi, 4, 4);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, DeviceKind::kCpu, env, true, 0), CommBackend::kMpi);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kHostStaged, DeviceKind::kCpu, env, false, 0), CommBackend::kHostStaged);
  EXPECT_THROW(resolve_comm_backend(CommBackend::kNccl, DeviceKind::kCpu, env, true, 0), UsageError);
}

TEST(CommBackendChoice, GpuTensorsUseNcclUnlessRanksShareAGpu) {
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, DeviceKind::kCuda, launched(Launcher::kTorchrun, 16, 8), true, 8),
            CommBackend::kNccl);
  // 4 ranks on one GPU (the GPU check's machine): NCCL would hang, host-staged works under mpirun.
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, DeviceKind::kCuda, launched(Launcher::kOpenMpi, 4, 4), true, 1),
            CommBackend::kHostStaged);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, DeviceKind::kCuda, launched(Launcher::kOpenMpi, 1, 1), true, 1),
            CommBackend::kNccl);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, DeviceKind::kCuda, launched(Launcher::kSlurm, 8, 8), false, 8),
            CommBackend::kHostStaged);
  const auto shared = message_of([] {
    resolve_comm_backend(CommBackend::kNccl, DeviceKind::kCuda, launched(Launcher::kOpenMpi, 4, 4), true, 1);
  });
  EXPECT_NE(shared.find("4 ranks on this node share 1 GPU(s)"), std::string::npos) << shared;
  const auto torchrun = message_of([] {
    resolve_comm_backend(CommBackend::kHostStaged, DeviceKind::kCuda, launched(Launcher::kTorchrun, 2, 2), true, 1);
  });
  EXPECT_NE(torchrun.find("mpirun -np 2"), std::string::npos) << torchrun;
  EXPECT_EQ(parse_comm_backend("host_staged"), CommBackend::kHostStaged);
  EXPECT_THROW(parse_comm_backend("gloo"), UsageError);
}

}  // namespace
}  // namespace uspdit::parallel
