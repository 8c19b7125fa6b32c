// A minimal Python pickle reader (protocols 2-5, the binary opcodes torch.save emits) that
// builds a value tree and never runs code: classes are names, and what a class or function
// would build is decided by PickleHooks (torch_pickle.cpp knows tensors and storages).
// A call the hooks do not know yields an opaque Object that only errors when it is used, so a
// checkpoint carrying e.g. an argparse.Namespace next to its state dict still loads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/ScalarType.h>

#include "io/mapped_file.h"

namespace uspdit::io {

// A torch storage: one zip entry's bytes, with the dtype it was saved as.
struct PickleStorage {
  std::shared_ptr<const MappedFile> file;
  uint64_t offset = 0;  // in the file
  uint64_t nbytes = 0;
  at::ScalarType dtype = at::kByte;
  std::string key;
};

// A tensor as torch._utils._rebuild_tensor_v2/v3 describes it: a strided window of a storage.
struct PickleTensor {
  std::shared_ptr<const PickleStorage> storage;
  at::ScalarType dtype = at::kFloat;
  int64_t storage_offset = 0;  // elements
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  uint64_t span_bytes = 0;  // from element [0..0] to the end of the last element
};

class PyValue;
struct PyList;  // list, tuple and set items
struct PyDict;  // insertion-ordered items

class PyValue {
 public:
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kList,
    kTuple,
    kSet,
    kDict,
    kGlobal,
    kObject,
    kTensor,
    kStorage
  };

  PyValue() = default;
  static PyValue boolean(bool v);
  static PyValue integer(int64_t v);
  static PyValue floating(double v);
  static PyValue string(std::string v);
  static PyValue bytes(std::string v);
  static PyValue list(std::vector<PyValue> items = {});
  static PyValue tuple(std::vector<PyValue> items);
  static PyValue set();
  static PyValue dict();
  static PyValue global(std::string qualified_name);  // "torch._utils._rebuild_tensor_v2"
  static PyValue object(std::string built_by);        // opaque result of calling `built_by`
  static PyValue tensor(std::shared_ptr<const PickleTensor> t);
  static PyValue storage(std::shared_ptr<const PickleStorage> s);

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  // For messages: "a dict", "a list", "an int", "an object built by 'argparse.Namespace'", ...
  std::string type_name() const;

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }
  double as_float() const { return float_; }
  // String, bytes, or the qualified name of a global / the class an object was built by.
  const std::string& text() const { return text_; }
  // Items of a list, tuple or set (empty for other kinds).
  const std::vector<PyValue>& items() const;
  // Items of a dict (empty for other kinds).
  const std::vector<std::pair<PyValue, PyValue>>& dict_items() const;
  // Dict value under a string key, or nullptr.
  const PyValue* find(const std::string& key) const;
  const std::shared_ptr<const PickleTensor>& tensor() const { return tensor_; }
  const std::shared_ptr<const PickleStorage>& storage() const { return storage_; }

  // The unpickler fills containers in place (a memoized dict is filled after it is shared).
  PyList* mutable_list() const { return list_.get(); }
  PyDict* mutable_dict() const { return dict_.get(); }

 private:
  friend struct PyList;
  friend struct PyDict;
  // Moves the items of containers only this value owns into `out` (iterative destruction).
  void release_children(std::vector<PyValue>& out);
  // Destroys `pending` and everything only it owns without recursion.
  static void destroy_all(std::vector<PyValue>& pending);

  Kind kind_ = Kind::kNone;
  int64_t int_ = 0;
  double float_ = 0;
  std::string text_;
  std::shared_ptr<PyList> list_;
  std::shared_ptr<PyDict> dict_;
  std::shared_ptr<const PickleTensor> tensor_;
  std::shared_ptr<const PickleStorage> storage_;
};

// Destroyed iteratively: a hostile pickle can nest containers a million deep, and recursive
// destruction would overflow the stack.
struct PyList {
  std::vector<PyValue> items;
  ~PyList();
};
struct PyDict {
  std::vector<std::pair<PyValue, PyValue>> items;
  ~PyDict();
};

// What calls and persistent ids mean; the VM itself knows no classes.
class PickleHooks {
 public:
  virtual ~PickleHooks() = default;
  // REDUCE / NEWOBJ: `callable` (usually a kGlobal) applied to the tuple `args`.
  virtual PyValue call(const PyValue& callable, const PyValue& args) = 0;
  // BINPERSID.
  virtual PyValue persistent_load(const PyValue& pid) = 0;
};

// Runs the pickle in [data, data + size). Throws UsageError "<what>: byte N: <problem>" for
// truncated data, unsupported opcodes and malformed streams; errors the hooks throw pass through.
PyValue unpickle(const uint8_t* data, uint64_t size, PickleHooks& hooks, const std::string& what);

}  // namespace uspdit::io
