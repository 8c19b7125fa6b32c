// Where this rank is in a run (stage, denoising step, DiT block): the pipeline and the models
// set it, the collective watchdog (parallel/watchdog.h) reads it from its own thread to say
// where a stalled collective was, on every rank, in one line.
//
// Fault injection for the robustness tests: USPDIT_FAULT=RANK:STAGE:STEP:ACTION makes launcher
// rank RANK act when it reaches STAGE (STEP -1) or step STEP of STAGE, once. ACTION: kill
// (SIGKILL itself: a lost rank), stop (SIGSTOP itself: a stalled rank) or sleep (print a line and
// sleep 120 s: a rank stuck outside any collective, and a fixed point to signal the job at).
// Unset, it costs one branch per update.
#pragma once

#include <string>

namespace uspdit::where {

struct Position {
  std::string stage;  // the pipeline stage (load_dit, encode_text, denoise, decode, ...), or ""
  int step = -1;      // denoising step within the stage, -1 outside the loop
  int block = -1;     // transformer block within the step, -1 outside the blocks
};

void set_stage(const std::string& name);  // also clears step and block
void set_step(int step);                  // also clears block
void set_block(int block);
Position current();

// "stage denoise, step 3, block 7" (the parts that are set), or "before the first stage".
std::string describe(const Position& position);

// A fixed-size copy for the watchdog's messages between ranks.
struct PackedPosition {
  char stage[24] = {};
  int step = -1;
  int block = -1;
};
PackedPosition pack(const Position& position);
Position unpack(const PackedPosition& packed);

}  // namespace uspdit::where
