// torch.save checkpoints: the committed fixtures in tests/data/io (written by real PyTorch with
// tools/make_io_fixtures.py), ZIP64 repackings of them, and hand-made zips and pickles for
// every malformed input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/pickle.h"
#include "io/torch_pickle.h"
#include "io/zip.h"

namespace uspdit::io {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;  // literals below embed NUL bytes

std::string fixture(const std::string& name) {
  return std::string(USPDIT_SOURCE_DIR) + "/tests/data/io/" + name;
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("uspdit_io_pt_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file(name);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle)                                  \
  do {                                                                     \
    const std::string h_ = (haystack);                                     \
    EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_;    \
    EXPECT_EQ(h_.find('\n'), std::string::npos) << "not one line: " << h_; \
  } while (0)

// ---- a minimal zip writer (stored entries; optionally every size and offset in ZIP64 form) ----

void put(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

struct ZipItem {
  std::string name;
  std::string data;
  uint16_t method = 0;
};

std::string make_zip(const std::vector<ZipItem>& items, bool zip64) {
  std::string out, central;
  const uint64_t sat32 = 0xFFFFFFFF;
  for (const auto& item : items) {
    const uint64_t local = out.size();
    const uint64_t size = item.data.size();
    std::string local_extra, central_extra;
    if (zip64) {
      put(local_extra, 1, 2), put(local_extra, 16, 2), put(local_extra, size, 8), put(local_extra, size, 8);
      put(central_extra, 1, 2), put(central_extra, 24, 2);
      put(central_extra, size, 8), put(central_extra, size, 8), put(central_extra, local, 8);
    }
    put(out, 0x04034b50, 4), put(out, zip64 ? 45 : 20, 2), put(out, 0, 2), put(out, item.method, 2);
    put(out, 0, 4), put(out, 0, 4);  // time, date, crc (not checked)
    put(out, zip64 ? sat32 : size, 4), put(out, zip64 ? sat32 : size, 4);
    put(out, item.name.size(), 2), put(out, local_extra.size(), 2);
    out += item.name + local_extra + item.data;

    put(central, 0x02014b50, 4), put(central, 45, 2), put(central, zip64 ? 45 : 20, 2), put(central, 0, 2);
    put(central, item.method, 2), put(central, 0, 4), put(central, 0, 4);
    put(central, zip64 ? sat32 : size, 4), put(central, zip64 ? sat32 : size, 4);
    put(central, item.name.size(), 2), put(central, central_extra.size(), 2), put(central, 0, 2);
    put(central, 0, 2), put(central, 0, 2), put(central, 0, 4), put(central, zip64 ? sat32 : local, 4);
    central += item.name + central_extra;
  }
  const uint64_t dir_offset = out.size();
  out += central;
  if (zip64) {
    const uint64_t record = out.size();
    put(out, 0x06064b50, 4), put(out, 44, 8), put(out, 45, 2), put(out, 45, 2), put(out, 0, 4),
        put(out, 0, 4);
    put(out, items.size(), 8), put(out, items.size(), 8), put(out, central.size(), 8),
        put(out, dir_offset, 8);
    put(out, 0x07064b50, 4), put(out, 0, 4), put(out, record, 8), put(out, 1, 4);
  }
  put(out, 0x06054b50, 4), put(out, 0, 2), put(out, 0, 2);
  put(out, zip64 ? 0xFFFF : items.size(), 2), put(out, zip64 ? 0xFFFF : items.size(), 2);
  put(out, zip64 ? sat32 : central.size(), 4), put(out, zip64 ? sat32 : dir_offset, 4), put(out, 0, 2);
  return out;
}

std::vector<ZipItem> entries_of(const std::string& path) {
  const ZipArchive zip(MappedFile::open(path));
  std::vector<ZipItem> items;
  for (const auto& e : zip.entries())
    items.push_back(
        {e.name, std::string(reinterpret_cast<const char*>(zip.file().data() + e.offset), e.size)});
  return items;
}

// ---- hand-written pickles --------------------------------------------------------------------

std::string str(const std::string& s) {  // BINUNICODE
  std::string o = "X";
  put(o, s.size(), 4);
  return o + s;
}
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}

// {'w': tensor of `shape` (1-D, stride 1) over storage '0' of `numel` floats}, protocol 2.
std::string tensor_dict_pickle(int numel, int size) {
  std::string p = "\x80\x02}(" + str("w") + global("torch._utils", "_rebuild_tensor_v2") + "((" +
                  str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") + "K" +
                  std::string(1, char(numel)) + "tQK\x00K"s + std::string(1, char(size)) +
                  "\x85K\x01\x85\x89" + global("collections", "OrderedDict") + ")RtRu.";
  return p;
}

std::string torch_zip(const std::string& pickle, std::vector<ZipItem> more = {}) {
  std::vector<ZipItem> items = {{"archive/data.pkl", pickle}, {"archive/byteorder", "little"}};
  for (auto& m : more) items.push_back(std::move(m));
  return make_zip(items, false);
}

std::string floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// ---- the real fixtures -----------------------------------------------------------------------

at::Tensor f32_arange(int64_t n) {
  return at::arange(n, at::kFloat);
}

void check_plain_state_dict(const TensorSource& sd) {
  EXPECT_EQ(sd.names(),
            (std::vector<std::string>{"weight", "bias", "a.f32", "b.bf16", "c.f16", "d.base", "e.view",
                                      "f.i64", "g.param", "h.fp8", "i.empty", "j.scalar", "k.bool"}));
  EXPECT_TRUE(at::equal(sd.load("weight", at::kFloat), f32_arange(12).reshape({3, 4}) / 10));
  EXPECT_TRUE(at::equal(sd.load("bias", at::kFloat), f32_arange(3)));
  EXPECT_TRUE(at::equal(sd.load("a.f32", at::kFloat), f32_arange(12).reshape({3, 4})));
  EXPECT_TRUE(at::equal(sd.load("a.f32", at::kBFloat16), f32_arange(12).reshape({3, 4}).to(at::kBFloat16)));
  EXPECT_EQ(sd.info("b.bf16").dtype, at::kBFloat16);
  EXPECT_TRUE(at::equal(sd.load("b.bf16", at::kFloat), (f32_arange(6) * 0.5).reshape({2, 3})));
  EXPECT_EQ(sd.info("c.f16").dtype, at::kHalf);
  EXPECT_TRUE(at::equal(sd.load("c.f16", at::kFloat), f32_arange(8) - 4));
  // The view: base[1:, 1:4].t() of a 4x5 arange, sharing the storage of d.base.
  const at::Tensor base = f32_arange(20).reshape({4, 5});
  const at::Tensor expected_view = base.slice(0, 1).slice(1, 1, 4).t();
  EXPECT_EQ(sd.info("e.view").shape, (std::vector<int64_t>{3, 3}));
  const at::Tensor view = sd.view("e.view");
  EXPECT_EQ(view.strides(), (std::vector<int64_t>{1, 5}));
  EXPECT_TRUE(at::equal(view, expected_view));
  const at::Tensor loaded = sd.load("e.view", at::kFloat);
  EXPECT_TRUE(loaded.is_contiguous());
  EXPECT_TRUE(at::equal(loaded, expected_view));
  EXPECT_TRUE(at::equal(sd.load("d.base", at::kFloat), base));
  EXPECT_TRUE(at::equal(sd.load("f.i64"), at::arange(5, at::kLong) * 1000000000000LL));
  EXPECT_TRUE(at::equal(sd.load("g.param", at::kFloat), f32_arange(4) + 0.25));
  EXPECT_EQ(sd.info("h.fp8").dtype, at::kFloat8_e4m3fn);
  EXPECT_TRUE(at::equal(sd.load("h.fp8", at::kFloat), at::tensor({0.0f, 0.5f, 1.0f, -2.0f, 448.0f})));
  EXPECT_EQ(sd.load("i.empty", at::kFloat).sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(sd.info("j.scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(sd.load("j.scalar", at::kFloat).item<float>(), 7.0f);
  EXPECT_TRUE(at::equal(sd.load("k.bool"), at::tensor({1, 0, 1}).to(at::kBool)));
}

TEST(TorchPickle, ReadsAPlainStateDictProtocol2) {
  const auto sd = TorchStateDict::open(fixture("plain_sd.pt"));
  EXPECT_EQ(sd->label(), fixture("plain_sd.pt"));
  check_plain_state_dict(*sd);
  // Zero-copy: the view and its base alias the same storage in the mapped file, 6 floats apart.
  EXPECT_EQ(static_cast<const char*>(sd->view("e.view").data_ptr()),
            static_cast<const char*>(sd->view("d.base").data_ptr()) + 6 * sizeof(float));
}

TEST(TorchPickle, ReadsAPlainStateDictProtocol4) {
  check_plain_state_dict(*TorchStateDict::open(fixture("plain_sd_proto4.pt")));
}

TEST(TorchPickle, ReadsZip64Archives) {
  // The same records rewritten with every size and offset in ZIP64 form (as in files > 4 GiB);
  // storages then also sit at unaligned addresses.
  TempDir dir;
  const auto path = dir.write("zip64.pt", make_zip(entries_of(fixture("plain_sd.pt")), true));
  check_plain_state_dict(*TorchStateDict::open(path));
  EXPECT_EQ(ZipArchive(MappedFile::open(path)).entries().size(), entries_of(fixture("plain_sd.pt")).size());
}

TEST(TorchPickle, FindsTheStateDictUnderAKey) {
  const auto module = TorchStateDict::open(fixture("module_sd.pth"), "module");
  EXPECT_EQ(module->label(), fixture("module_sd.pth") + " (key 'module')");
  EXPECT_EQ(module->names(), (std::vector<std::string>{"w", "b"}));
  EXPECT_TRUE(at::equal(module->load("w", at::kFloat), f32_arange(6).reshape({2, 3})));

  const std::string both = fixture("ema_module_sd.pt");
  const auto archive = TorchArchive::open(both);
  EXPECT_TRUE(archive->root().find("args")->is(PyValue::Kind::kObject));
  EXPECT_EQ(archive->root().find("args")->text(), "argparse.Namespace");
  const auto ema = TorchStateDict::open(archive, "ema");
  EXPECT_TRUE(at::equal(ema->load("w", at::kFloat), f32_arange(6).reshape({2, 3}) * 2));
  EXPECT_TRUE(at::equal(ema->load("b", at::kFloat), at::full({2}, 2.0f)));
  EXPECT_TRUE(at::equal(TorchStateDict::open(archive, "module")->load("b", at::kFloat), at::ones({2})));

  EXPECT_EQ(
      error_of([&] { TorchStateDict::open(archive); }),
      "torch checkpoint " + both +
          ": not a state dict at the top level (keys: 'ema', 'module', 'args'); name the key that holds "
          "the weights, e.g. 'module'");
  EXPECT_EQ(error_of([&] { TorchStateDict::open(archive, "state_dict"); }),
            "torch checkpoint " + both + ": no key 'state_dict' (found: 'ema', 'module', 'args')");
  EXPECT_EQ(error_of([&] { TorchStateDict::open(archive, "args"); }),
            "torch checkpoint " + both +
                ": not a state dict under key 'args': it is an object of class "
                "'argparse.Namespace'");
  EXPECT_EQ(error_of([&] { TorchStateDict::open(fixture("module_sd.pth")); }),
            "torch checkpoint " + fixture("module_sd.pth") +
                ": not a state dict at the top level (keys: 'module'); name the key that holds the weights, "
                "e.g. 'module'");
}

TEST(TorchPickle, AListIsNotAStateDict) {
  const std::string path = fixture("list_top.pt");
  EXPECT_EQ(error_of([&] { TorchStateDict::open(path); }),
            "torch checkpoint " + path + ": not a state dict: it is a list");
  EXPECT_EQ(error_of([&] { TorchStateDict::open(path, "module"); }),
            "torch checkpoint " + path + ": no key 'module': the top level is a list");
  const auto root = TorchArchive::open(path)->root();
  ASSERT_EQ(root.items().size(), 2u);
  EXPECT_TRUE(root.items()[1].is(PyValue::Kind::kTensor));
  EXPECT_EQ(root.items()[1].tensor()->shape, std::vector<int64_t>{2});
}

TEST(CheckpointTorch, OpenCheckpointReadsTorchFilesWithAKey) {
  const auto sd = open_checkpoint(fixture("ema_module_sd.pt"), "ema");
  EXPECT_EQ(sd->names().size(), 2u);
  expect_shape(*sd, "w", {2, 3});
  EXPECT_EQ(error_of([&] {
              expect_shape(*sd, "w", {3, 3}, "config says dim=3");
            }),
            "checkpoint " + fixture("ema_module_sd.pt") +
                " (key 'ema'): tensor 'w' has shape [2, 3], expected [3, 3] (config says dim=3)");
  EXPECT_EQ(open_checkpoint(fixture("plain_sd.pt"))->names().size(), 13u);
}

// ---- malformed inputs ------------------------------------------------------------------------

TEST(TorchPickle, HandMadeStateDictLoads) {
  TempDir dir;
  const auto ok =
      dir.write("ok.pt", torch_zip(tensor_dict_pickle(2, 2), {{"archive/data/0", floats({1, 2})}}));
  EXPECT_TRUE(at::equal(TorchStateDict::open(ok)->load("w", at::kFloat), at::tensor({1.0f, 2.0f})));
}

TEST(TorchPickle, EveryMalformedArchiveIsAOneLineUsageError) {
  TempDir dir;
  auto open_bytes = [&](const std::string& bytes) {
    const auto path = dir.write("bad.pt", bytes);
    return error_of([&] { TorchStateDict::open(path); });
  };
  const std::string prefix = "torch checkpoint " + dir.file("bad.pt") + ": ";
  EXPECT_EQ(open_bytes("hello"), prefix + "not a torch.save zip archive");
  EXPECT_CONTAINS(open_bytes("\x80\x02\x8a\x0a"
                             "legacy"s),
                  "legacy torch.save format");
  EXPECT_EQ(open_bytes(make_zip({{"archive/byteorder", "little"}}, false)),
            prefix + "zip archive without archive/data.pkl: not a torch.save checkpoint");
  EXPECT_CONTAINS(open_bytes(make_zip({{"archive/data.pkl", "\x80\x02}.", 8}}, false)), "is compressed");
  EXPECT_CONTAINS(
      open_bytes(torch_zip(tensor_dict_pickle(2, 2), {{"archive/data/0", floats({1, 2})}}).substr(0, 200)),
      "truncated or corrupt zip archive: no end of central directory record");
  EXPECT_CONTAINS(
      open_bytes(make_zip({{"archive/data.pkl", "\x80\x02}."}, {"archive/byteorder", "big"}}, false)),
      "byte order 'big' is not supported");

  // Pickles: opcodes, classes, structure.
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02I1\n.")),
            prefix + "data.pkl: byte 2: unsupported pickle opcode 0x49 (INT)");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02" + global("foo", "Bar") + ")\x81.")),
            prefix + "not a state dict: it is an object of class 'foo.Bar'");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02" + global("os", "system") + str("rm -rf /") + "\x85R.")),
            prefix + "not a state dict: it is an object of class 'os.system'");  // named, never run
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02" + global("copyreg", "_reconstructor") + "(" +
                                 global("foo", "Bar") + global("builtins", "object") + "NtR.")),
            prefix + "not a state dict: it is an object of class 'foo.Bar'");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02}(" + str("w") + global("foo", "Bar") + ")\x81u.")),
            prefix + "not a state dict: entry 'w' is an object of class 'foo.Bar', not a tensor");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02}(" + str("w") + "K\x01u.")),
            prefix + "not a state dict: entry 'w' is an int, not a tensor");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02}(X\x05\x00\x00\x00"
                                 "ab"s)),
            prefix + "data.pkl: byte 4: truncated pickle");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02}")),
            prefix + "data.pkl: byte 3: truncated pickle (no STOP opcode)");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02s.")), prefix + "data.pkl: byte 2: stack underflow");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x02h\x07.")), prefix + "data.pkl: byte 2: memo entry 7 is not set");
  EXPECT_EQ(open_bytes(torch_zip("\x80\x07}.")),
            prefix + "data.pkl: byte 0: pickle protocol 7 is newer than 5");

  // Storages.
  EXPECT_EQ(open_bytes(torch_zip(tensor_dict_pickle(2, 2))),
            prefix + "data.pkl: storage '0' has no entry archive/data/0");
  EXPECT_EQ(
      open_bytes(torch_zip(tensor_dict_pickle(2, 2), {{"archive/data/0", floats({1})}})),
      prefix + "data.pkl: storage '0' needs 2 elements of float32, but its entry holds 4 bytes (truncated?)");
  EXPECT_EQ(open_bytes(torch_zip(tensor_dict_pickle(2, 3), {{"archive/data/0", floats({1, 2})}})),
            prefix + "data.pkl: a tensor of shape [3] at offset 0 reaches beyond storage '0' (2 elements)");
}

TEST(TorchPickle, DeepNestingDoesNotOverflowTheStack) {
  // A million nested lists: built, rejected as a state dict, and destroyed without recursion.
  TempDir dir;
  const int n = 1000000;
  const auto path =
      dir.write("deep.pt", torch_zip("\x80\x02" + std::string(n, '(') + "]" + std::string(n, 'l') + "."));
  EXPECT_CONTAINS(error_of([&] { TorchStateDict::open(path); }), "not a state dict: it is a list");
}

// Truncations at every length, and seeded byte flips anywhere and inside data.pkl: each either
// loads or is a UsageError; nothing reads outside the file.
TEST(TorchPickle, CorruptFilesNeverCrash) {
  TempDir dir;
  std::ifstream in(fixture("plain_sd.pt"), std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(whole.size(), 1000u);
  const ZipArchive zip(MappedFile::open(fixture("plain_sd.pt")));
  const ZipEntry* pkl = zip.find("plain_sd/data.pkl");
  ASSERT_NE(pkl, nullptr);

  int loaded = 0;
  auto try_load = [&](const std::string& bytes) {
    const auto path = dir.write("fuzz.pt", bytes);
    try {
      const auto sd = TorchStateDict::open(path);
      for (const auto& name : sd->names()) sd->load(name, at::kFloat);
      ++loaded;
    } catch (const UsageError&) {
    }
  };
  for (size_t n = 0; n < whole.size(); n += 3) try_load(whole.substr(0, n));
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = whole;
    const bool in_pickle = i % 2 == 0;
    const size_t at = in_pickle ? pkl->offset + rng() % pkl->size : rng() % bytes.size();
    bytes[at] = static_cast<char>(rng() % 256);
    try_load(bytes);
  }
  EXPECT_GT(loaded, 0);  // flips in tensor data still load
}

}  // namespace
}  // namespace uspdit::io
