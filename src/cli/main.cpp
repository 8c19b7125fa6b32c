// uspdit: the command-line front end. Only dispatch and error reporting live here.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/version.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "core/device.h"
#include "core/device_errors.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/path_error.h"
#include "parallel/library_versions.h"

namespace {

struct Command {
  const char* name;
  int (*run)(uspdit::cli::Args&);
  const char* summary;
};

const Command kCommands[] = {
    {"generate", uspdit::cli::run_generate,
     "text-to-video: prompt -> mp4 (Wan 2.1; HunyuanVideo: flags and checks only, pipeline pending), any mesh"},
    {"forward", uspdit::cli::run_forward,
     "one DiT forward: checkpoint + inputs.safetensors -> output.safetensors, on any mesh"},
    {"plan", uspdit::cli::run_plan,
     "list valid (ulysses, ring, cfg) configurations for a model and cluster, with traffic"},
    {"check", uspdit::cli::run_check,
     "measure link bandwidth/latency between and inside nodes; flag slow links and bad env"},
    {"bench-attn", uspdit::cli::run_bench_attn,
     "time (and --verify) USP attention on a given shape and parallel degrees"},
    {"bench-dit", uspdit::cli::run_bench_dit,
     "time one DiT forward step (random weights, settable layer count); also `bench dit`"},
};

void print_usage(FILE* out) {
  std::fprintf(out, "usage: uspdit <command> [--flags]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-11s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nMulti-rank commands run under a launcher, e.g. `mpirun -np 4 build/uspdit "
               "bench-attn --ulysses-degree 2 --ring-degree 2 --verify`.\n");
}

// The version, libtorch's, what this build can run on, and the communication libraries.
void print_version() {
  const auto gpus = uspdit::core::probe_accelerators();
  const std::string visible = gpus.backend_linked ? ", " + std::to_string(gpus.count) + " GPU(s) visible" : "";
  std::printf("uspdit %s (libtorch %d.%d.%d; %s build%s)\n", USPDIT_VERSION, TORCH_VERSION_MAJOR,
              TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, gpus.backend_linked ? (gpus.rocm ? "ROCm" : "CUDA") : "CPU",
              visible.c_str());
  for (const auto& line : uspdit::parallel::communication_library_versions())
    std::printf("%s\n", line.c_str());
}

// `uspdit <command> --help` (or -h anywhere among its flags).
bool asks_for_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  }
  return false;
}

// The rank as the launcher states it, for error lines printed before (or without) MPI.
std::string rank_prefix() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "RANK"}) {
    if (const char* value = std::getenv(var)) return std::string("[rank ") + value + "] ";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  uspdit::tune_allocator_for_tensors();
  uspdit::core::exit_cleanly_on_interrupt(rank_prefix().c_str());  // SIGINT/SIGTERM: 130/143, no temporaries
  // USPDIT_VERBOSE=1: every rank logs its launch details (rendezvous, device), not just rank 0.
  if (const char* verbose = std::getenv("USPDIT_VERBOSE")) uspdit::log::set_verbose(std::strcmp(verbose, "0") != 0);
  if (argc >= 2 && (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version"))) {
    print_version();
    return 0;
  }
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "-h")) {
    print_usage(stdout);
    return argc < 2 ? uspdit::kUsageExitCode : 0;
  }
  // `uspdit bench dit` is `uspdit bench-dit` (and `bench attn` is `bench-attn`).
  std::string name = argv[1];
  if (name == "bench" && argc >= 3 && argv[2][0] != '-') {
    name += std::string("-") + argv[2];
    ++argv;
    --argc;
  }
  for (const auto& command : kCommands) {
    if (name != command.name) continue;
    const uspdit::cli::CommandHelp* help = uspdit::cli::command_help(name);
    if (asks_for_help(argc, argv)) {
      std::fputs(uspdit::cli::render_help(*help).c_str(), stdout);
      return 0;
    }
    try {
      uspdit::cli::Args args(name, std::vector<std::string>(argv + 2, argv + argc));
      args.list(uspdit::cli::listed_flags(*help));
      return command.run(args);
    } catch (const uspdit::UsageError& e) {
      std::fprintf(stderr, "%suspdit %s: error: %s\n", rank_prefix().c_str(), name.c_str(), e.what());
      return uspdit::kUsageExitCode;
    } catch (const std::filesystem::filesystem_error& e) {
      std::fprintf(stderr, "%suspdit %s: error: %s\n", rank_prefix().c_str(), name.c_str(),
                   uspdit::core::describe_path_error(e).c_str());
      return uspdit::kUsageExitCode;
    } catch (const c10::Error& e) {
      // libtorch's own errors carry a C++ backtrace after the message: one line is the report.
      std::string message = e.what_without_backtrace();
      message = message.substr(0, message.find('\n'));
      if (dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr) {
        const auto asked = uspdit::core::requested_bytes(e.what_without_backtrace());
        message = "out of memory" + (asked >= 0 ? ": asked for " + uspdit::core::human_bytes(asked) : std::string()) +
                  " (more ranks split the activations; --dtype bf16 halves them; " + message + ")";
      }
      std::fprintf(stderr, "%suspdit %s: failed: %s\n", rank_prefix().c_str(), name.c_str(), message.c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%suspdit %s: failed: %s\n", rank_prefix().c_str(), name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "uspdit: unknown command '%s'\n", name.c_str());
  print_usage(stderr);
  return uspdit::kUsageExitCode;
}
