// The device lives in one place: no file under src/ names a device type, moves tensors to a
// fixed device, or calls CUDA/NCCL, except the device module, the communicators and the
// attention kernel choice. A model or pipeline that hard-codes the CPU (or CUDA) would run on
// the wrong device on the other kind of machine, which no CPU test would otherwise notice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Files whose job is to know the device, relative to src/.
const std::set<std::string> kAllowed = {
    "core/device.h",  // the device decision and the device-generic GPU calls
    "core/device.cpp",
    "parallel/communicator.h",  // each communicator states the device it moves
    "parallel/mpi_communicator.h",
    "parallel/mpi_communicator.cpp",
    "parallel/self_communicator.h",
    "parallel/runtime.cpp",           // MPI for host tensors, NCCL for GPU tensors
    "attention/attention_kernels.h",  // which fused kernel a device offers
    "attention/attention_kernels.cpp",
};

// A device type named, a tensor sent to a fixed device, or a CUDA/HIP/NCCL header or call.
const std::regex& device_name() {
  static const std::regex pattern(
      R"(\bk(CPU|CUDA|HIP)\b|DeviceType::(CPU|CUDA|HIP)|\bis_(cuda|cpu|hip)\(\)|\.(cuda|cpu)\(\)|)"
      R"(#include\s*[<"](cuda|c10/cuda|ATen/cuda|hip|nccl|rccl)|\b(cuda|hip|nccl)[A-Z]\w*\s*\()");
  return pattern;
}

bool allowed(const std::string& relative) {
  return kAllowed.count(relative) != 0 || relative.rfind("parallel/nccl/", 0) == 0;
}

// Code only: a comment may well say "CPU" or "CUDA".
std::string strip_line_comment(const std::string& line) {
  bool in_string = false;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] == '"' && (i == 0 || line[i - 1] != '\\')) in_string = !in_string;
    if (!in_string && line[i] == '/' && line[i + 1] == '/') return line.substr(0, i);
  }
  return line;
}

TEST(DeviceLint, NoFileOutsideTheDeviceModuleNamesADevice) {
  const fs::path src = fs::path(USPDIT_SOURCE_DIR) / "src";
  std::vector<std::string> found;
  int scanned = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
    const std::string relative = fs::relative(entry.path(), src).generic_string();
    ++scanned;
    if (allowed(relative)) continue;
    std::ifstream in(entry.path());
    std::string line;
    bool in_block_comment = false;
    for (int number = 1; std::getline(in, line); ++number) {
      if (in_block_comment) {
        const auto end = line.find("*/");
        if (end == std::string::npos) continue;
        line = line.substr(end + 2);
        in_block_comment = false;
      }
      if (const auto start = line.find("/*");
          start != std::string::npos && line.find("*/", start) == std::string::npos) {
        in_block_comment = true;
        line = line.substr(0, start);
      }
      if (std::regex_search(strip_line_comment(line), device_name())) {
        found.push_back("src/" + relative + ":" + std::to_string(number) + ": " + line);
      }
    }
  }
  EXPECT_GT(scanned, 100) << "the scan did not find the sources under " << src;
  std::string report;
  for (const auto& f : found) report += "\n  " + f;
  EXPECT_TRUE(found.empty())
      << "device named outside core/device (pass the run's device down instead, or use "
         "core::host_device()/core::to_host() for host-side work):"
      << report;
}

// The scan itself must catch what it is for: a planted line of each kind is found.
TEST(DeviceLint, PatternCatchesEachKind) {
  for (const char* bad : {"auto t = x.to(at::kCPU);", "at::Device d(c10::DeviceType::CUDA, 0);",
                          "if (x.is_cuda()) {", "y = x.cpu();", "#include <c10/cuda/CUDAStream.h>",
                          "cudaSetDevice(0);", "ncclAllReduce(a, b);", "at::zeros({2}, at::kCUDA)"}) {
    EXPECT_TRUE(std::regex_search(std::string(bad), device_name())) << bad;
  }
  for (const char* fine : {"auto t = x.to(device);", "core::to_host(video)", "int kCpuCount = 1;",
                           "x.options().dtype(at::kFloat)"}) {
    EXPECT_FALSE(std::regex_search(std::string(fine), device_name())) << fine;
  }
}

}  // namespace
