// The process mesh: world = cfg × ring × ulysses (outermost to innermost).
//
// Ulysses groups are contiguous ranks [i·U, (i+1)·U) so their all-to-all stays inside a node;
// ring groups are strided {j, j+U, ...} and cross nodes; the CFG branches are the outermost
// halves. This is yunchang's/xDiT's layout (ulysses fastest). Further dimensions (pipefusion,
// data parallel) go outside cfg when they are added.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parallel/communicator.h"

namespace uspdit::parallel {

struct ParallelDegrees {
  int ulysses = 1;
  int ring = 1;
  int cfg = 1;

  int sequence_parallel() const { return ulysses * ring; }
  int world() const { return ulysses * ring * cfg; }
  bool operator==(const ParallelDegrees&) const = default;
};

std::string describe(const ParallelDegrees& degrees);  // "ulysses 2 × ring 2 × cfg 1"

struct MeshCoord {
  int ulysses = 0;
  int ring = 0;
  int cfg = 0;
  bool operator==(const MeshCoord&) const = default;
};

MeshCoord coord_of(int rank, const ParallelDegrees& degrees);
int rank_of(const MeshCoord& coord, const ParallelDegrees& degrees);
// Index of this rank's chunk of the sequence: ring-major so that after the Ulysses all-to-all
// each ring rank holds one contiguous block of the sequence.
inline int sequence_chunk(const MeshCoord& c, const ParallelDegrees& d) { return c.ring * d.ulysses + c.ulysses; }

// Every (ulysses, ring, cfg) whose product is world and whose Ulysses degree divides heads.
// cfg is 1, or also 2 when allow_cfg. Ordered by descending Ulysses degree.
std::vector<ParallelDegrees> valid_degrees(int world, int heads, bool allow_cfg);

// Throws UsageError with one line naming the problem and the valid choices when the degrees
// cannot run `heads` heads on `world` ranks. `model` names the model in the message.
void validate_degrees(const ParallelDegrees& degrees, int world, int heads, const std::string& model,
                      bool allow_cfg);

// This rank's view of the mesh: its coordinates and a communicator per mesh dimension.
class ProcessMesh {
 public:
  ProcessMesh(Communicator& world, const ParallelDegrees& degrees);

  const ParallelDegrees& degrees() const { return degrees_; }
  const MeshCoord& coord() const { return coord_; }
  Communicator& world() { return world_; }
  Communicator& ulysses() { return *ulysses_; }
  Communicator& ring() { return *ring_; }
  Communicator& sequence() { return *sequence_; }  // ulysses × ring: one CFG branch
  Communicator& cfg() { return *cfg_; }
  int sequence_chunk() const { return parallel::sequence_chunk(coord_, degrees_); }

 private:
  Communicator& world_;
  ParallelDegrees degrees_;
  MeshCoord coord_;
  std::unique_ptr<Communicator> ulysses_, ring_, sequence_, cfg_;
};

}  // namespace uspdit::parallel
