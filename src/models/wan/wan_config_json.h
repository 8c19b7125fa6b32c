// Reading a Wan 2.1 DiT config.json of either layout: the original release
// (`_class_name: WanModel`: dim, num_heads, in_dim, ...) or diffusers
// (`WanTransformer3DModel`: num_attention_heads × attention_head_dim, in_channels, ...).
#pragma once

#include <string>

#include "io/json.h"
#include "models/wan/wan_config.h"

namespace uspdit::models::wan {

// `source` names the file in error messages. Throws UsageError for a config that is not a
// Wan T2V DiT or is inconsistent, naming the field.
WanConfig wan_config_from_json(const io::Json& json, const std::string& source);

// Reads and parses `path`.
WanConfig read_wan_config(const std::string& path);

}  // namespace uspdit::models::wan
