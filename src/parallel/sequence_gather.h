// The inverse of cutting a sequence into chunks: every rank of a group contributes its chunk
// [B, S_c, ...] (rank i holds chunk i of `split`) and every rank receives the whole [B, S, ...].
#pragma once

#include <ATen/core/Tensor.h>

#include "parallel/communicator.h"
#include "parallel/sequence_split.h"

namespace uspdit::parallel {

at::Tensor gather_sequence(Communicator& group, const at::Tensor& mine, const SequenceSplit& split);

}  // namespace uspdit::parallel
