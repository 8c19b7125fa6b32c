// The flag parser on arbitrary argv: NUL-separated tokens, then the lookups a command makes.
// Bad flags must be UsageErrors; nothing else may escape.
#include <cstdint>
#include <string>
#include <vector>

#include "core/args.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> tokens(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      tokens.emplace_back();
    } else {
      tokens.back() += static_cast<char>(data[i]);
    }
  }
  try {
    uspdit::core::Args args("fuzz", tokens);
    args.list({"ulysses-degree", "ulysses_size", "ring-degree", "prompt", "video-size", "fps", "verify"});
    (void)args.get_int_any({"ulysses-degree", "ulysses-size"}, 1);
    (void)args.get_double_any({"ring-degree", "ring-size"}, 1.0);
    (void)args.get_string("prompt", "");
    (void)args.get_ints("video-size", 2, "HEIGHT WIDTH");
    (void)args.get_list("fps");
    (void)args.flag("verify");
    for (const auto& token : tokens) (void)args.nearest_flag(token);
    args.finish();
  } catch (const uspdit::UsageError&) {
  } catch (const std::logic_error&) {
    // finish(): a lookup of an unlisted flag (ring-size above) — the help-table check, by design.
  }
  return 0;
}
