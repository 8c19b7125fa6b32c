#include "io/pickle.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace uspdit::io {

// ---- values ----------------------------------------------------------------------------------

PyValue PyValue::boolean(bool v) {
  PyValue r;
  r.kind_ = Kind::kBool;
  r.int_ = v ? 1 : 0;
  return r;
}
PyValue PyValue::integer(int64_t v) {
  PyValue r;
  r.kind_ = Kind::kInt;
  r.int_ = v;
  return r;
}
PyValue PyValue::floating(double v) {
  PyValue r;
  r.kind_ = Kind::kFloat;
  r.float_ = v;
  return r;
}
PyValue PyValue::string(std::string v) {
  PyValue r;
  r.kind_ = Kind::kString;
  r.text_ = std::move(v);
  return r;
}
PyValue PyValue::bytes(std::string v) {
  PyValue r = string(std::move(v));
  r.kind_ = Kind::kBytes;
  return r;
}
PyValue PyValue::list(std::vector<PyValue> items) {
  PyValue r;
  r.kind_ = Kind::kList;
  r.list_ = std::make_shared<PyList>();
  r.list_->items = std::move(items);
  return r;
}
PyValue PyValue::tuple(std::vector<PyValue> items) {
  PyValue r = list(std::move(items));
  r.kind_ = Kind::kTuple;
  return r;
}
PyValue PyValue::set() {
  PyValue r = list();
  r.kind_ = Kind::kSet;
  return r;
}
PyValue PyValue::dict() {
  PyValue r;
  r.kind_ = Kind::kDict;
  r.dict_ = std::make_shared<PyDict>();
  return r;
}
PyValue PyValue::global(std::string qualified_name) {
  PyValue r = string(std::move(qualified_name));
  r.kind_ = Kind::kGlobal;
  return r;
}
PyValue PyValue::object(std::string built_by) {
  PyValue r = string(std::move(built_by));
  r.kind_ = Kind::kObject;
  return r;
}
PyValue PyValue::tensor(std::shared_ptr<const PickleTensor> t) {
  PyValue r;
  r.kind_ = Kind::kTensor;
  r.tensor_ = std::move(t);
  return r;
}
PyValue PyValue::storage(std::shared_ptr<const PickleStorage> s) {
  PyValue r;
  r.kind_ = Kind::kStorage;
  r.storage_ = std::move(s);
  return r;
}

std::string PyValue::type_name() const {
  switch (kind_) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "a bool";
    case Kind::kInt:
      return "an int";
    case Kind::kFloat:
      return "a float";
    case Kind::kString:
      return "a str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "a list";
    case Kind::kTuple:
      return "a tuple";
    case Kind::kSet:
      return "a set";
    case Kind::kDict:
      return "a dict";
    case Kind::kGlobal:
      return "the class or function '" + text_ + "'";
    case Kind::kObject:
      return "an object of class '" + text_ + "'";
    case Kind::kTensor:
      return "a tensor";
    case Kind::kStorage:
      return "a storage";
  }
  return "?";
}

const std::vector<PyValue>& PyValue::items() const {
  static const std::vector<PyValue> kEmpty;
  return list_ ? list_->items : kEmpty;
}

const std::vector<std::pair<PyValue, PyValue>>& PyValue::dict_items() const {
  static const std::vector<std::pair<PyValue, PyValue>> kEmpty;
  return dict_ ? dict_->items : kEmpty;
}

const PyValue* PyValue::find(const std::string& key) const {
  for (const auto& [k, v] : dict_items())
    if (k.kind_ == Kind::kString && k.text_ == key) return &v;
  return nullptr;
}

void PyValue::release_children(std::vector<PyValue>& out) {
  if (list_ && list_.use_count() == 1) {
    for (auto& item : list_->items) out.push_back(std::move(item));
    list_->items.clear();
  }
  if (dict_ && dict_.use_count() == 1) {
    for (auto& [k, v] : dict_->items) {
      out.push_back(std::move(k));
      out.push_back(std::move(v));
    }
    dict_->items.clear();
  }
}

// Each value popped here is destroyed with its containers already emptied, so destruction never
// nests more than one level, whatever the depth of the tree.
void PyValue::destroy_all(std::vector<PyValue>& pending) {
  while (!pending.empty()) {
    PyValue v = std::move(pending.back());
    pending.pop_back();
    v.release_children(pending);
  }
}

PyList::~PyList() {
  PyValue::destroy_all(items);
}

PyDict::~PyDict() {
  std::vector<PyValue> pending;
  for (auto& [k, v] : items) {
    pending.push_back(std::move(k));
    pending.push_back(std::move(v));
  }
  items.clear();
  PyValue::destroy_all(pending);
}

// ---- the machine -----------------------------------------------------------------------------

namespace {

const char* unsupported_opcode_name(uint8_t op) {
  switch (op) {
    case 'I':
      return "INT";
    case 'L':
      return "LONG";
    case 'F':
      return "FLOAT";
    case 'S':
      return "STRING";
    case 'V':
      return "UNICODE";
    case 'P':
      return "PERSID";
    case 'p':
      return "PUT";
    case 'g':
      return "GET";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, uint64_t size, PickleHooks& hooks, const std::string& what)
      : data_(data), size_(size), hooks_(hooks), what_(what) {}

  PyValue run();

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw UsageError(what_ + ": byte " + std::to_string(op_pos_) + ": " + problem);
  }
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) fail("truncated pickle");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int bytes) {
    const uint8_t* p = take(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string text(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {  // GLOBAL's newline-terminated module and name
    const uint64_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("truncated pickle");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }
  // Two's-complement little-endian integer of n bytes (LONG1/LONG4).
  int64_t long_bytes(uint64_t n) {
    if (n > 8) fail("integer wider than 64 bits");
    if (n == 0) return 0;
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (uint64_t i = n; i-- > 0;) v = (v << 8) | p[i];
    if (n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }

  void push(PyValue v) { stack_.push_back(std::move(v)); }
  // The stack above the innermost mark is the current frame (as Python's metastack has it).
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  PyValue pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    PyValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PyValue& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PyValue> pop_mark() {
    if (marks_.empty()) fail("MARK expected");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyValue> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                               std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void add_to_list(const PyValue& target, std::vector<PyValue> items) {
    if (target.is(PyValue::Kind::kObject)) return;  // a list subclass we do not read: opaque
    if (!target.is(PyValue::Kind::kList) && !target.is(PyValue::Kind::kSet))
      fail("APPEND(S)/ADDITEMS on " + target.type_name());
    PyList* list = target.mutable_list();
    for (auto& item : items) list->items.push_back(std::move(item));
  }
  void set_items(const PyValue& target, std::vector<PyValue> kv) {
    if (target.is(PyValue::Kind::kObject)) return;  // a dict subclass we do not read: opaque
    if (!target.is(PyValue::Kind::kDict)) fail("SETITEM(S) on " + target.type_name());
    if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    PyDict* dict = target.mutable_dict();
    for (size_t i = 0; i < kv.size(); i += 2)
      dict->items.emplace_back(std::move(kv[i]), std::move(kv[i + 1]));
  }
  static PyValue make_tuple(std::vector<PyValue> items) { return PyValue::tuple(std::move(items)); }
  PyValue memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is not set");
    return it->second;
  }
  // Errors from the hooks name no byte position; they get the source's name in front.
  template <class F>
  PyValue hook(F&& f) {
    try {
      return f();
    } catch (const UsageError& e) {
      throw UsageError(what_ + ": " + e.what());
    }
  }

  const uint8_t* data_;
  uint64_t size_;
  PickleHooks& hooks_;
  const std::string& what_;
  uint64_t pos_ = 0;
  uint64_t op_pos_ = 0;
  std::vector<PyValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyValue> memo_;
};

PyValue Unpickler::run() {
  for (;;) {
    op_pos_ = pos_;
    if (pos_ >= size_) fail("truncated pickle (no STOP opcode)");
    const uint8_t op = data_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t version = le(1);
        if (version > 5) fail("pickle protocol " + std::to_string(version) + " is newer than 5");
        break;
      }
      case 0x95:
        le(8);
        break;     // FRAME: a read-ahead hint, the data follows inline
      case '.': {  // STOP
        if (stack_.empty()) fail("STOP with an empty stack");
        return stack_.back();
      }
      case '(':
        marks_.push_back(stack_.size());
        break;
      case 'N':
        push(PyValue());
        break;
      case 0x88:
        push(PyValue::boolean(true));
        break;
      case 0x89:
        push(PyValue::boolean(false));
        break;
      case 'J':
        push(PyValue::integer(static_cast<int32_t>(static_cast<uint32_t>(le(4)))));
        break;
      case 'K':
        push(PyValue::integer(static_cast<int64_t>(le(1))));
        break;
      case 'M':
        push(PyValue::integer(static_cast<int64_t>(le(2))));
        break;
      case 0x8a:
        push(PyValue::integer(long_bytes(le(1))));
        break;  // LONG1
      case 0x8b:
        push(PyValue::integer(long_bytes(le(4))));
        break;     // LONG4
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        double d;
        std::memcpy(&d, &bits, sizeof d);
        push(PyValue::floating(d));
        break;
      }
      case 'X':
        push(PyValue::string(text(le(4))));
        break;  // BINUNICODE
      case 0x8c:
        push(PyValue::string(text(le(1))));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push(PyValue::string(text(le(8))));
        break;  // BINUNICODE8
      case 'T':
        push(PyValue::string(text(le(4))));
        break;  // BINSTRING (Python 2 str)
      case 'U':
        push(PyValue::string(text(le(1))));
        break;  // SHORT_BINSTRING
      case 'B':
        push(PyValue::bytes(text(le(4))));
        break;  // BINBYTES
      case 'C':
        push(PyValue::bytes(text(le(1))));
        break;  // SHORT_BINBYTES
      case 0x8e:
        push(PyValue::bytes(text(le(8))));
        break;  // BINBYTES8
      case 0x96:
        push(PyValue::bytes(text(le(8))));
        break;  // BYTEARRAY8
      case '}':
        push(PyValue::dict());
        break;
      case ']':
        push(PyValue::list());
        break;
      case ')':
        push(PyValue::tuple({}));
        break;
      case 0x8f:
        push(PyValue::set());
        break;      // EMPTY_SET
      case 0x85: {  // TUPLE1
        PyValue a = pop();
        push(make_tuple({std::move(a)}));
        break;
      }
      case 0x86: {  // TUPLE2
        PyValue b = pop();
        PyValue a = pop();
        push(make_tuple({std::move(a), std::move(b)}));
        break;
      }
      case 0x87: {  // TUPLE3
        PyValue c = pop();
        PyValue b = pop();
        PyValue a = pop();
        push(make_tuple({std::move(a), std::move(b), std::move(c)}));
        break;
      }
      case 't':
        push(make_tuple(pop_mark()));
        break;
      case 'l':
        push(PyValue::list(pop_mark()));
        break;
      case 0x91: {  // FROZENSET
        PyValue s = PyValue::set();
        add_to_list(s, pop_mark());
        push(std::move(s));
        break;
      }
      case 'd': {  // DICT
        PyValue d = PyValue::dict();
        set_items(d, pop_mark());
        push(std::move(d));
        break;
      }
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        push(top());
        break;
      case 'q':
        memo_[le(1)] = top();
        break;  // BINPUT
      case 'r':
        memo_[le(4)] = top();
        break;      // LONG_BINPUT
      case 0x94: {  // MEMOIZE
        const uint64_t index = memo_.size();
        memo_[index] = top();
        break;
      }
      case 'h':
        push(memo_get(le(1)));
        break;  // BINGET
      case 'j':
        push(memo_get(le(4)));
        break;     // LONG_BINGET
      case 's': {  // SETITEM
        PyValue v = pop();
        PyValue k = pop();
        std::vector<PyValue> kv;
        kv.push_back(std::move(k));
        kv.push_back(std::move(v));
        set_items(top(), std::move(kv));
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<PyValue> kv = pop_mark();
        set_items(top(), std::move(kv));
        break;
      }
      case 'a': {  // APPEND
        PyValue v = pop();
        std::vector<PyValue> one;
        one.push_back(std::move(v));
        add_to_list(top(), std::move(one));
        break;
      }
      case 'e':     // APPENDS
      case 0x90: {  // ADDITEMS
        std::vector<PyValue> items = pop_mark();
        add_to_list(top(), std::move(items));
        break;
      }
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string name = line();
        push(PyValue::global(module + "." + name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyValue name = pop();
        PyValue module = pop();
        if (!module.is(PyValue::Kind::kString) || !name.is(PyValue::Kind::kString))
          fail("STACK_GLOBAL needs two strings");
        push(PyValue::global(module.text() + "." + name.text()));
        break;
      }
      case 'R':     // REDUCE
      case 0x81: {  // NEWOBJ
        PyValue args = pop();
        PyValue callable = pop();
        if (!args.is(PyValue::Kind::kTuple))
          fail("arguments of a call are " + args.type_name() + ", not a tuple");
        push(hook([&] { return hooks_.call(callable, args); }));
        break;
      }
      case 0x92: {  // NEWOBJ_EX: keyword arguments are dropped; no class we build takes any
        pop();
        PyValue args = pop();
        PyValue cls = pop();
        if (!args.is(PyValue::Kind::kTuple))
          fail("arguments of a call are " + args.type_name() + ", not a tuple");
        push(hook([&] { return hooks_.call(cls, args); }));
        break;
      }
      case 'b':  // BUILD: sets an object's state (__setstate__ / __dict__). Nothing we build
        pop();   // keeps state (an OrderedDict's _metadata, a Parameter's attributes): dropped.
        top();
        break;
      case 'Q': {  // BINPERSID
        PyValue pid = pop();
        push(hook([&] { return hooks_.persistent_load(pid); }));
        break;
      }
      default: {
        const char* name = unsupported_opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex + (name ? std::string(" (") + name + ")" : ""));
      }
    }
  }
}

}  // namespace

PyValue unpickle(const uint8_t* data, uint64_t size, PickleHooks& hooks, const std::string& what) {
  return Unpickler(data, size, hooks, what).run();
}

}  // namespace uspdit::io
