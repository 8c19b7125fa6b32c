// Which DiT a checkpoint holds, so that `uspdit forward --ckpt-dir DIR` needs no --model.
#pragma once

#include <string>

namespace uspdit::models {

enum class DitFamily { kWan21, kHunyuanVideo };

const char* family_name(DitFamily family);

// From --model when given ("wan…", "hunyuan…"; "auto" = detect), else from the files: the
// config.json's _class_name (in the path or its transformer/ folder), or HunyuanVideo's
// mp_rank_00_model_states*.pt. Throws UsageError asking for --model when it cannot tell.
DitFamily detect_family(const std::string& ckpt_path, const std::string& model_flag);

}  // namespace uspdit::models
