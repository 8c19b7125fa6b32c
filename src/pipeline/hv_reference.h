// Which reference a HunyuanVideo run reproduces, and why. The checkpoint folder decides: the
// release's ckpts/ samples as its sample_video.py does; a diffusers folder as stock
// HunyuanVideoPipeline does with its scheduler/scheduler_config.json. `--schedule original|
// diffusers` picks the other, and means the whole reference, not only the sigmas:
//
//                 original (sample_video.py)          diffusers (HunyuanVideoPipeline)
//   prompt        strip()ped; image template at 1 f   as given; the video template always
//   text states   as the encoders give them           cast to the DiT's dtype
//   sigmas        torch.linspace, shift --flow-shift  numpy.linspace, the folder's shift
//   latents, t    fp32 throughout                     the DiT's dtype after each step; t too
//   true CFG      --cfg-scale > 1 (default negative)  --cfg-scale > 1 with --neg-prompt only
//   VAE           64-frame + 256 px tiles, autocast   16-frame tiles (+ 256 px with
//                                                     --vae-tiling), no autocast
//   frames        truncated to uint8                  rounded (PIL output)
//
// Flags the user gave (--flow-shift, --infer-steps, --vae-tiling) win over the folder.
#pragma once

#include <string>
#include <vector>

#include "pipeline/hv_t2v_request.h"

namespace uspdit::pipeline {

// Sets request.schedule (reference, shift, num_train_timesteps) and, under the diffusers
// reference, load.vae_tiling, where the command line did not; returns the start-up lines saying
// what the run follows and where each choice came from ("sampling: reference diffusers (folder:
// diffusers layout), solver euler, shift 7 (folder: shift), 50 steps (default)"). `layout` is
// HvT2vFiles::layout. UsageError for a scheduler config diffusers would sample otherwise than
// FlowMatchEulerDiscreteScheduler does here.
std::vector<std::string> apply_hv_reference(HvT2vRequest& request, HvT2vLoadSettings& load,
                                            const std::string& layout);

}  // namespace uspdit::pipeline
