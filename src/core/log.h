// Minimal rank-aware logging: lines go to stderr, prefixed with the rank when the job has more
// than one. Info is printed by rank 0 only, so a 24-rank job does not print everything 24 times.
#pragma once

#include <string>

namespace uspdit::log {

void set_rank(int rank, int world_size);
void set_verbose(bool verbose);

void info(const std::string& line);   // rank 0 only
void warn(const std::string& line);   // every rank, prefixed
void error(const std::string& line);  // every rank, prefixed
void debug(const std::string& line);  // every rank when verbose

}  // namespace uspdit::log
