// PyTorch checkpoints written by torch.save (>= 1.6): a zip archive holding `<archive>/data.pkl`
// (the pickled object), `<archive>/data/<key>` (one entry per storage, stored uncompressed) and
// `<archive>/byteorder`. The pickle is read into a value tree whose tensors point into the
// mapped storages; no tensor byte is read until a tensor is viewed or loaded.
//
// Understood: dicts (incl. collections.OrderedDict), lists, tuples, scalars, strings,
// torch._utils._rebuild_tensor_v2/_v3, _rebuild_parameter(_with_state), torch.*Storage
// (Float, Half, BFloat16, Double, Long, Int, Short, Char, Byte, Bool; UntypedStorage with a
// torch dtype, as float8 tensors are saved). Anything else becomes an opaque object that is an
// error naming its class only if the state dict is looked for inside it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/pickle.h"
#include "io/tensor_source.h"
#include "io/zip.h"

namespace uspdit::io {

class TorchArchive {
 public:
  // Throws UsageError "torch checkpoint <path>: <problem>".
  static std::shared_ptr<const TorchArchive> open(const std::string& path);

  const std::string& path() const { return path_; }
  const PyValue& root() const { return root_; }

 private:
  TorchArchive() = default;
  std::string path_;
  PyValue root_;
};

// Well-known keys a training framework puts the state dict under (DeepSpeed's "module",
// "ema", ...), listed in messages when the caller named none.
inline const char* const kStateDictKeys[] = {"module", "ema", "state_dict", "model"};

// A dict of tensors inside a TorchArchive, as a TensorSource.
class TorchStateDict : public TensorSource {
 public:
  // key empty: the top level must be a dict of tensors; otherwise the top level must be a dict
  // holding one under `key`. Errors: "torch checkpoint <path>: not a state dict: ..." and
  // "torch checkpoint <path>: no key 'module' (found: 'ema', 'args')".
  static std::shared_ptr<const TorchStateDict> open(std::shared_ptr<const TorchArchive> archive,
                                                    const std::string& key = "");
  static std::shared_ptr<const TorchStateDict> open(const std::string& path, const std::string& key = "") {
    return open(TorchArchive::open(path), key);
  }

  const std::string& label() const override { return label_; }
  const std::vector<std::string>& names() const override { return names_; }
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }

 protected:
  Location locate(const std::string& name) const override;

 private:
  TorchStateDict() = default;
  std::shared_ptr<const TorchArchive> archive_;  // owns the tree the tensors come from
  std::string label_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::shared_ptr<const PickleTensor>> tensors_;
};

}  // namespace uspdit::io
