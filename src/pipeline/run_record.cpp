#include "pipeline/run_record.h"

namespace uspdit::pipeline {

double RunRecord::seconds_of(const std::string& stage, int repeat) const {
  for (const auto& s : stages) {
    if (s.name == stage && s.repeat == repeat) return s.seconds;
  }
  return 0;
}

}  // namespace uspdit::pipeline
