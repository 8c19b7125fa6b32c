#include "core/interrupt.h"

#include <unistd.h>

#include <csignal>
#include <cstring>

#include "core/temporaries.h"

namespace uspdit::core {
namespace {

char g_prefix[64] = {};
volatile sig_atomic_t g_silent = 0;

void append(char* line, size_t size, const char* text) {
  const size_t used = std::strlen(line);
  std::strncat(line, text, size - used - 1);
}

// Async-signal-safe only: unlink, write, _exit. No destructors run, no MPI_Finalize: the
// launcher sees the exit and ends the job; stdio buffers of an interrupted run are not worth a
// lock that the interrupted thread may hold.
void on_signal(int sig) {
  remove_temporaries_now();
  if (g_silent) ::_exit(128 + sig);
  char line[256] = {};
  append(line, sizeof line, g_prefix);
  append(line, sizeof line, sig == SIGINT ? "uspdit: interrupted (SIGINT)" : "uspdit: terminated (SIGTERM)");
  append(line, sizeof line, "; temporary outputs removed, no report written\n");
  const ssize_t ignored = ::write(STDERR_FILENO, line, std::strlen(line));
  (void)ignored;
  ::_exit(128 + sig);
}

}  // namespace

void silence_interrupt_line() { g_silent = 1; }

void exit_cleanly_on_interrupt(const char* rank_prefix) {
  g_prefix[0] = '\0';
  std::strncat(g_prefix, rank_prefix, sizeof g_prefix - 1);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace uspdit::core
