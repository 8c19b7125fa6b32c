// A .safetensors file of arbitrary bytes: open() validates the header; every tensor it then
// admits must be viewable and readable without leaving the mapping.
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "fuzz_touch.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uspdit::fuzz::InputFile file;
  try {
    const auto st = uspdit::io::SafetensorsFile::open(file.write(data, size));
    size_t read = 0;
    for (const auto& name : st->names()) {
      (void)st->info(name);
      // A few tensors, fully read: a range past the file's end would fault here.
      if (++read > 8) continue;
      const auto view = st->view(name);
      uspdit::fuzz::touch_every_byte(view);
    }
    (void)st->metadata();
  } catch (const uspdit::UsageError&) {
  }
  return 0;
}
