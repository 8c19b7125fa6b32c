// SIGINT and SIGTERM (Ctrl-C, `kill`, or the launcher passing either on: Open MPI's mpirun
// sends SIGTERM to every rank when it is itself interrupted or when a rank fails): the process
// removes its temporary files (core/temporaries.h), prints one line and exits 128 + signal
// (130, 143) at once. Nothing else runs: no report is written for an interrupted job, and
// outputs only ever appear by rename once complete, so none is left half-written.
#pragma once

namespace uspdit::core {

// Installs the handlers; `rank_prefix` (e.g. "[rank 1] ", copied) starts the printed line.
void exit_cleanly_on_interrupt(const char* rank_prefix);

// The process is already ending with its own line (the watchdog): a SIGTERM from the launcher
// then exits without a second line.
void silence_interrupt_line();

}  // namespace uspdit::core
