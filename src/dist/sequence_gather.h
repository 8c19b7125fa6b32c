// The inverse of cutting a sequence into chunks: every rank of a group contributes its chunk
// [B, S_c, ...] (rank i holds chunk i of `split`) and every rank receives the whole [B, S, ...].
#pragma once

#include <ATen/core/Tensor.h>

#include "dist/communicator.h"
#include "dist/sequence_split.h"

namespace uspdit::dist {

at::Tensor gather_sequence(Communicator& group, const at::Tensor& mine, const SequenceSplit& split);

}  // namespace uspdit::dist
