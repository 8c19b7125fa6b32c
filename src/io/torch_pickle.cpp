#include "io/torch_pickle.h"

#include <c10/core/ScalarType.h>

#include "core/error.h"

namespace uspdit::io {
namespace {

using Kind = PyValue::Kind;

// Legacy typed-storage classes, as torch.save names a tensor's storage. float8 tensors are
// saved as UntypedStorage (bytes) plus a dtype argument; the Float8 names are accepted too.
struct StorageClass {
  const char* name;
  at::ScalarType dtype;
};
constexpr StorageClass kStorageClasses[] = {
    {"torch.DoubleStorage", at::kDouble},
    {"torch.FloatStorage", at::kFloat},
    {"torch.HalfStorage", at::kHalf},
    {"torch.BFloat16Storage", at::kBFloat16},
    {"torch.LongStorage", at::kLong},
    {"torch.IntStorage", at::kInt},
    {"torch.ShortStorage", at::kShort},
    {"torch.CharStorage", at::kChar},
    {"torch.ByteStorage", at::kByte},
    {"torch.BoolStorage", at::kBool},
    {"torch.UntypedStorage", at::kByte},
    {"torch.storage.UntypedStorage", at::kByte},  // the module torch.save names since 2.0
    {"torch.Float8_e4m3fnStorage", at::kFloat8_e4m3fn},
    {"torch.Float8_e5m2Storage", at::kFloat8_e5m2},
};

// torch dtype globals, as _rebuild_tensor_v3 passes them.
struct DtypeGlobal {
  const char* name;
  at::ScalarType dtype;
};
constexpr DtypeGlobal kDtypeGlobals[] = {
    {"torch.float64", at::kDouble},
    {"torch.float32", at::kFloat},
    {"torch.float16", at::kHalf},
    {"torch.bfloat16", at::kBFloat16},
    {"torch.int64", at::kLong},
    {"torch.int32", at::kInt},
    {"torch.int16", at::kShort},
    {"torch.int8", at::kChar},
    {"torch.uint8", at::kByte},
    {"torch.bool", at::kBool},
    {"torch.uint16", at::kUInt16},
    {"torch.uint32", at::kUInt32},
    {"torch.uint64", at::kUInt64},
    {"torch.float8_e4m3fn", at::kFloat8_e4m3fn},
    {"torch.float8_e5m2", at::kFloat8_e5m2},
};

bool is_int(const PyValue& v) {
  return v.is(Kind::kInt);
}

// Reads a tuple/list of non-negative ints.
bool read_dims(const PyValue& v, std::vector<int64_t>* out) {
  if (!v.is(Kind::kTuple) && !v.is(Kind::kList)) return false;
  for (const auto& d : v.items()) {
    if (!is_int(d) || d.as_int() < 0) return false;
    out->push_back(d.as_int());
  }
  return true;
}

class TorchHooks : public PickleHooks {
 public:
  TorchHooks(const ZipArchive& zip, std::string prefix) : zip_(zip), prefix_(std::move(prefix)) {}

  PyValue call(const PyValue& callable, const PyValue& args) override {
    if (!callable.is(Kind::kGlobal))
      return PyValue::object("<result of calling " + callable.type_name() + ">");
    const std::string& name = callable.text();
    const auto& a = args.items();
    if (name == "collections.OrderedDict" || name == "builtins.dict") return make_dict(a);
    if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(name, a, false);
    if (name == "torch._utils._rebuild_tensor_v3") return rebuild_tensor(name, a, true);
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      // A Parameter is its data tensor; requires_grad, hooks and Python attributes do not matter.
      if (!a.empty() && a[0].is(Kind::kTensor)) return a[0];
      return PyValue::object(name);
    }
    if (name == "copyreg._reconstructor" && !a.empty() && a[0].is(Kind::kGlobal)) {
      return PyValue::object(a[0].text());  // protocol < 2 instances: name their class
    }
    if (name == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3 && a[1].is(Kind::kGlobal) &&
        (a[1].text() == "torch.Tensor" || a[1].text() == "torch.nn.parameter.Parameter") &&
        a[2].is(Kind::kTuple)) {
      return call(a[0], a[2]);  // a plain tensor that carried Python attributes
    }
    return PyValue::object(name);
  }

  PyValue persistent_load(const PyValue& pid) override {
    const auto& t = pid.items();
    if (!pid.is(Kind::kTuple) || t.size() != 5 || !t[0].is(Kind::kString) || t[0].text() != "storage")
      throw UsageError("unsupported persistent id (" + pid.type_name() + "), expected ('storage', ...)");
    const PyValue& cls = t[1];
    if (!cls.is(Kind::kGlobal) || !t[2].is(Kind::kString) || !is_int(t[4]) || t[4].as_int() < 0)
      throw UsageError("malformed storage persistent id");
    const StorageClass* known = nullptr;
    for (const auto& c : kStorageClasses)
      if (cls.text() == c.name) known = &c;
    if (known == nullptr) return PyValue::object(cls.text());  // quantized, complex, ...: unread

    const std::string& key = t[2].text();
    if (auto it = storages_.find(key); it != storages_.end()) return PyValue::storage(it->second);
    const std::string entry_name = prefix_ + "/data/" + key;
    const ZipEntry* entry = zip_.find(entry_name);
    if (entry == nullptr) throw UsageError("storage '" + key + "' has no entry " + entry_name);
    if (entry->method != 0)
      throw UsageError("entry " + entry_name + " is compressed; torch.save stores entries");
    const auto numel = static_cast<uint64_t>(t[4].as_int());
    const uint64_t elem = c10::elementSize(known->dtype);
    if (numel > UINT64_MAX / elem || numel * elem > entry->size) {
      throw UsageError("storage '" + key + "' needs " + std::to_string(numel) + " elements of " +
                       dtype_name(known->dtype) + ", but its entry holds " + std::to_string(entry->size) +
                       " bytes (truncated?)");
    }
    auto storage = std::make_shared<PickleStorage>();
    storage->file = zip_.file_ptr();
    storage->offset = entry->offset;
    storage->nbytes = numel * elem;
    storage->dtype = known->dtype;
    storage->key = key;
    storages_.emplace(key, storage);
    return PyValue::storage(storage);
  }

 private:
  static PyValue make_dict(const std::vector<PyValue>& args) {
    PyValue d = PyValue::dict();
    // OrderedDict([(k, v), ...]) as old protocols write it; protocol 2 fills it by SETITEMS.
    if (!args.empty() && args[0].is(Kind::kList)) {
      for (const auto& pair : args[0].items()) {
        if (pair.items().size() != 2) throw UsageError("malformed OrderedDict items");
        d.mutable_dict()->items.emplace_back(pair.items()[0], pair.items()[1]);
      }
    }
    return d;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
  // [, metadata]); v3 adds the dtype after backward_hooks (the storage is then bytes).
  static PyValue rebuild_tensor(const std::string& name, const std::vector<PyValue>& a, bool v3) {
    const size_t fixed = v3 ? 7 : 6;
    if (a.size() < fixed || a.size() > fixed + 1) throw UsageError("malformed " + name + " arguments");
    if (a[0].is(Kind::kObject)) return a[0];  // a storage class we do not read
    if (!a[0].is(Kind::kStorage) || !is_int(a[1]) || a[1].as_int() < 0)
      throw UsageError("malformed " + name + " arguments");
    auto tensor = std::make_shared<PickleTensor>();
    tensor->storage = a[0].storage();
    tensor->dtype = tensor->storage->dtype;
    if (v3) {
      if (!a[6].is(Kind::kGlobal)) throw UsageError("malformed " + name + " arguments");
      const DtypeGlobal* known = nullptr;
      for (const auto& d : kDtypeGlobals)
        if (a[6].text() == d.name) known = &d;
      if (known == nullptr) return PyValue::object("tensor of dtype " + a[6].text());
      tensor->dtype = known->dtype;
    }
    // Metadata records conjugate/negative bits (complex views), which nothing here supports.
    if (a.size() == fixed + 1 && !a.back().dict_items().empty())
      return PyValue::object("tensor with conjugate/negative bits");
    tensor->storage_offset = a[1].as_int();
    if (!read_dims(a[2], &tensor->shape) || !read_dims(a[3], &tensor->strides) ||
        tensor->shape.size() != tensor->strides.size())
      throw UsageError("malformed " + name + " size/stride");

    // The farthest element must lie inside the storage: views are built over these bytes.
    const uint64_t elem = c10::elementSize(tensor->dtype);
    const uint64_t storage_elems = tensor->storage->nbytes / elem;
    bool empty = false;
    bool overflow = false;
    uint64_t last = 0;  // farthest element index relative to storage_offset
    for (size_t d = 0; d < tensor->shape.size(); ++d) {
      if (tensor->shape[d] == 0) {
        empty = true;
        continue;
      }
      uint64_t reach = 0;
      overflow |= __builtin_mul_overflow(static_cast<uint64_t>(tensor->shape[d] - 1),
                                         static_cast<uint64_t>(tensor->strides[d]), &reach);
      overflow |= __builtin_add_overflow(last, reach, &last);
    }
    if (empty) {
      tensor->storage_offset = 0;  // nothing is read; keep the address inside the file
      return PyValue::tensor(tensor);
    }
    uint64_t end = 0;
    overflow |= __builtin_add_overflow(static_cast<uint64_t>(tensor->storage_offset), last, &end);
    if (overflow || end >= storage_elems) {
      throw UsageError("a tensor of shape " + shape_string(tensor->shape) + " at offset " +
                       std::to_string(tensor->storage_offset) + " reaches beyond storage '" +
                       tensor->storage->key + "' (" + std::to_string(storage_elems) + " elements)");
    }
    tensor->span_bytes = (last + 1) * elem;
    return PyValue::tensor(tensor);
  }

  const ZipArchive& zip_;
  std::string prefix_;
  std::unordered_map<std::string, std::shared_ptr<const PickleStorage>> storages_;
};

[[noreturn]] void fail_torch(const std::string& path, const std::string& problem) {
  throw UsageError("torch checkpoint " + path + ": " + problem);
}

// "'module', 'ema'" (at most 10, then how many in all); non-string keys by type.
std::string key_list(const PyValue& dict) {
  std::string s;
  size_t shown = 0;
  for (const auto& [k, v] : dict.dict_items()) {
    if (shown == 10) {
      s += ", ... (" + std::to_string(dict.dict_items().size()) + " keys)";
      break;
    }
    if (shown++ > 0) s += ", ";
    if (k.is(Kind::kString))
      s += "'" + k.text() + "'";
    else if (k.is(Kind::kInt))
      s += std::to_string(k.as_int());
    else
      s += k.type_name();
  }
  return s.empty() ? "no keys" : s;
}

}  // namespace

std::shared_ptr<const TorchArchive> TorchArchive::open(const std::string& path) {
  const auto file = MappedFile::open(path);
  if (!looks_like_zip(*file)) {
    if (file->size() >= 2 && file->data()[0] == 0x80)
      fail_torch(path,
                 "legacy torch.save format (before PyTorch 1.6, or _use_new_zipfile_serialization=False) "
                 "is not supported; re-save it with a current torch.save");
    fail_torch(path, "not a torch.save zip archive");
  }
  std::unique_ptr<ZipArchive> zip;
  try {
    zip = std::make_unique<ZipArchive>(file);
  } catch (const UsageError& e) {
    throw UsageError(std::string("torch checkpoint ") + e.what());
  }
  if (zip->entries().empty()) fail_torch(path, "empty zip archive");
  // Every record sits in one top-level folder, named after the file by recent torch versions.
  const std::string& first = zip->entries().front().name;
  const std::string prefix = first.substr(0, first.find('/'));
  const ZipEntry* pkl = zip->find(prefix + "/data.pkl");
  if (pkl == nullptr)
    fail_torch(path, "zip archive without " + prefix + "/data.pkl: not a torch.save checkpoint");
  if (pkl->method != 0) fail_torch(path, prefix + "/data.pkl is compressed; torch.save stores entries");
  if (const ZipEntry* order = zip->find(prefix + "/byteorder"); order != nullptr && order->method == 0) {
    const std::string_view text(reinterpret_cast<const char*>(file->data() + order->offset), order->size);
    if (text != "little")
      fail_torch(path, "byte order '" + std::string(text) + "' is not supported (only little)");
  }

  std::shared_ptr<TorchArchive> archive(new TorchArchive());
  archive->path_ = path;
  TorchHooks hooks(*zip, prefix);
  archive->root_ =
      unpickle(file->data() + pkl->offset, pkl->size, hooks, "torch checkpoint " + path + ": data.pkl");
  return archive;
}

std::shared_ptr<const TorchStateDict> TorchStateDict::open(std::shared_ptr<const TorchArchive> archive,
                                                           const std::string& key) {
  const std::string& path = archive->path();
  const PyValue& root = archive->root();
  const PyValue* sd = &root;
  std::string under;  // " under key 'module'" in messages
  if (!key.empty()) {
    if (!root.is(Kind::kDict)) fail_torch(path, "no key '" + key + "': the top level is " + root.type_name());
    sd = root.find(key);
    if (sd == nullptr) fail_torch(path, "no key '" + key + "' (found: " + key_list(root) + ")");
    under = " under key '" + key + "'";
  }
  if (!sd->is(Kind::kDict)) fail_torch(path, "not a state dict" + under + ": it is " + sd->type_name());

  std::shared_ptr<TorchStateDict> result(new TorchStateDict());
  result->archive_ = archive;
  result->label_ = key.empty() ? path : path + " (key '" + key + "')";
  for (const auto& [k, v] : sd->dict_items()) {
    if (k.is(Kind::kString) && v.is(Kind::kTensor)) {
      result->names_.push_back(k.text());
      result->tensors_.emplace(k.text(), v.tensor());
      continue;
    }
    if (key.empty()) {  // perhaps a wrapper such as {'module': sd, 'ema': sd}: say which key to name
      for (const char* known : kStateDictKeys) {
        const PyValue* inner = root.find(known);
        if (inner != nullptr && inner->is(Kind::kDict)) {
          fail_torch(path, "not a state dict at the top level (keys: " + key_list(root) +
                               "); name the key that holds the weights, e.g. '" + known + "'");
        }
      }
    }
    const std::string what =
        k.is(Kind::kString) ? "entry '" + k.text() + "'" : "a key that is " + k.type_name();
    fail_torch(path, "not a state dict" + under + ": " + what + " is " + v.type_name() + ", not a tensor");
  }
  return result;
}

TensorSource::Location TorchStateDict::locate(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) missing_tensor(name);
  const PickleTensor& t = *it->second;
  Location loc;
  loc.file = t.storage->file;
  loc.offset = t.storage->offset + static_cast<uint64_t>(t.storage_offset) * c10::elementSize(t.dtype);
  loc.span = t.span_bytes;
  loc.info.dtype = t.dtype;
  loc.info.shape = t.shape;
  loc.strides = t.strides;
  return loc;
}

}  // namespace uspdit::io
