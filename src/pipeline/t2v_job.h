// `uspdit generate`'s per-family part: the family's own flags read into its request, files and
// settings, and the checks that run on every rank before any weight is read. The command itself
// (cli/cmd_generate.cpp) does what is the same for every family: location, runtime, mesh,
// degree check, output checks, the run, the mp4 and the benchmark report.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/bench_report.h"
#include "pipeline/planned_run.h"
#include "pipeline/t2v_family.h"
#include "video/video_writer.h"

namespace uspdit::pipeline {

class T2vJob {
 public:
  virtual ~T2vJob() = default;

  // The family's settings flags (dtypes, text encoder placement, VAE tiling, offload) on top of
  // the command's; `device` is the runtime's device decision. Called after check_files and
  // validate, so it may follow what the checkpoint's files decided.
  virtual void apply_settings(T2vSettings& settings, const c10::Device& device) const = 0;
  // On every rank, inside run_agreed: finds every part of the checkpoint and opens the weight
  // files' indexes (headers, zip directories: cheap), so a missing or truncated file fails the
  // run now rather than after the text encoder ran. UsageError naming the file and the fix.
  virtual void check_files() = 0;
  // After check_files, on every rank: the request's checks (UsageError naming the flag and fix).
  virtual void validate() = 0;

  virtual int heads() const = 0;                     // the DiT's attention heads: the degree check
  virtual std::string model_label() const = 0;       // "Wan 2.1 t2v-1.3B", for messages
  virtual std::string no_guidance_hint() const = 0;  // why --use_cfg_parallel is refused without CFG
  virtual T2vRequest request() const = 0;
  virtual std::string output_path() const = 0;  // the mp4 to write
  virtual std::string describe() const = 0;     // "Wan 2.1 t2v-1.3B from DIR (...), 832x480, ..."
  virtual std::vector<std::string> notes() const { return {}; }  // shown before the run
  // After check_files and validate: how the run was configured and where each setting came from
  // (flag, folder, default), logged at start-up after describe().
  virtual std::vector<std::string> startup_lines() const { return {}; }
  // How the reference this run follows turns float pixels into bytes.
  virtual video::Rounding frame_rounding() const { return video::Rounding::kTruncate; }
  // The report's family fields (model, checkpoint, request); the command adds the mesh and run.
  virtual BenchConfig bench_config() const = 0;
  virtual std::string bench_stem() const = 0;  // "wan_t2v-1.3B": the report's file name starts so

  // After check_files and validate: the model and run as the memory preflight sees them (parameters
  // counted in the files' indexes), for `settings` as apply_settings left them; nullopt: the
  // family has no estimate and the preflight is skipped.
  virtual std::optional<PlannedRun> planned_run(const T2vSettings& settings) const {
    (void)settings;
    return std::nullopt;
  }
  // The family's pipeline plug-in; nullptr while the family has no text-to-video pipeline (the
  // command then says so, after every check passed).
  virtual std::unique_ptr<T2vFamily> make_family(const T2vSettings& settings) const = 0;
};

}  // namespace uspdit::pipeline
