// The `--bench_output DIR` report: one JSON file per run with the configuration, every rank's
// per-stage times, peak memory and bytes sent, and the denoising step times — what the seeds'
// `--bench_output results` gives, in a form a script can compare across runs.
#pragma once

#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "pipeline/run_record.h"

namespace uspdit::pipeline {

struct BenchConfig {
  std::vector<std::pair<std::string, std::string>> text;    // e.g. {"task", "t2v-1.3B"}
  std::vector<std::pair<std::string, double>> numbers;      // e.g. {"width", 832}
};

// Every rank's stages, in rank order (all ranks run the same stages in the same order).
// Collective over `world`; the result is meaningful on rank 0.
std::vector<std::vector<StageRecord>> gather_stage_records(parallel::Communicator& world, const RunRecord& mine);

// The report document. `ranks` from gather_stage_records; `node_of_rank` the node index of each.
std::string bench_report_json(const BenchConfig& config, const RunRecord& rank0,
                              const std::vector<std::vector<StageRecord>>& ranks, const std::vector<int>& node_of_rank);

// Writes the report as DIR/<stem>.json atomically (creating DIR); returns the path.
std::string write_bench_report(const std::string& dir, const std::string& stem, const std::string& json);

}  // namespace uspdit::pipeline
