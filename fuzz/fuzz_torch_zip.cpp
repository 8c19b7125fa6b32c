// A PyTorch checkpoint (zip + pickle) of arbitrary bytes: the archive, the unpickler and the
// state dict view; every tensor admitted must be readable inside the mapping.
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "fuzz_touch.h"
#include "io/torch_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uspdit::fuzz::InputFile file;
  try {
    const auto archive = uspdit::io::TorchArchive::open(file.write(data, size));
    for (const char* key : {"", "module"}) {
      try {
        const auto dict = uspdit::io::TorchStateDict::open(archive, key);
        size_t read = 0;
        for (const auto& name : dict->names()) {
          (void)dict->info(name);
          if (++read > 8) continue;
          const auto view = dict->view(name);
          uspdit::fuzz::touch_every_byte(view);
        }
      } catch (const uspdit::UsageError&) {
      }
    }
  } catch (const uspdit::UsageError&) {
  }
  return 0;
}
