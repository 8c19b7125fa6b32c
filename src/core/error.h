// Error types shared by every tier.
//
// A UsageError is an input the user can fix (flags, degrees, config, checkpoint): the binary
// prints its one-line message and exits with kUsageExitCode on every rank. Anything else
// escaping main is a bug or an environment failure and exits with 1.
#pragma once

#include <stdexcept>
#include <string>

namespace uspdit {

inline constexpr int kUsageExitCode = 2;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws UsageError(message) when cond is false. For checks on user input only.
inline void require(bool cond, const std::string& message) {
  if (!cond) throw UsageError(message);
}

}  // namespace uspdit
