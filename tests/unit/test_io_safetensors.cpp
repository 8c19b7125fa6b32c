// safetensors files, sharded indexes, open_checkpoint and the loader checks, on files written
// here byte by byte (8-byte length, JSON header, data) so every field can also be corrupted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/safetensors_index.h"

namespace uspdit::io {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("uspdit_io_st_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
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

std::string bytes_of(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A raw file: length, header text (padded with spaces to `align`), data.
std::string raw_file(const std::string& header, const std::string& data, size_t align = 8) {
  std::string h = header;
  while (h.size() % align != 0) h += ' ';
  return le64(h.size()) + h + data;
}

struct Entry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string shape_json(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s.append(i ? "," : "").append(std::to_string(shape[i]));
  return s + "]";
}

// A well-formed file holding `entries` back to back, in order.
std::string safetensors(const std::vector<Entry>& entries, const std::string& metadata = "",
                        size_t align = 8) {
  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + metadata + ",";
  std::string data;
  for (const auto& e : entries) {
    header += "\"" + e.name + "\":{\"dtype\":\"" + e.dtype + "\",\"shape\":" + shape_json(e.shape) +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + e.bytes.size()) + "]},";
    data += e.bytes;
  }
  header.back() = '}';
  if (entries.empty() && metadata.empty()) header = "{}";
  return raw_file(header, data, align);
}

at::Tensor arange(int64_t n, at::ScalarType dtype) {
  return at::arange(n, at::kFloat).to(dtype);
}

std::vector<Entry> sample_entries() {
  return {
      {"a", "F32", {2, 3}, bytes_of(arange(6, at::kFloat))},
      {"b", "BF16", {4}, bytes_of(arange(4, at::kBFloat16) * 0.5)},
      {"c", "F16", {2, 2}, bytes_of(arange(4, at::kHalf) - 2)},
      {"d", "I64", {3}, bytes_of(at::arange(3, at::kLong) * 10000000000LL)},
      {"e", "F8_E4M3", {3}, bytes_of(at::tensor({0.5f, -1.0f, 448.0f}).to(at::kFloat8_e4m3fn))},
      {"empty", "F32", {0, 4}, ""},
      {"s", "U8", {}, std::string(1, '\x07')},
  };
}

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

TEST(Safetensors, ReadsNamesShapesDtypesAndMetadata) {
  TempDir dir;
  const auto path = dir.write("m.safetensors", safetensors(sample_entries(), R"({"format":"pt"})"));
  const auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->label(), path);
  EXPECT_EQ(f->names(), (std::vector<std::string>{"a", "b", "c", "d", "e", "empty", "s"}));
  EXPECT_EQ(f->info("a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->info("a").dtype, at::kFloat);
  EXPECT_EQ(f->info("b").dtype, at::kBFloat16);
  EXPECT_EQ(f->info("c").dtype, at::kHalf);
  EXPECT_EQ(f->info("d").dtype, at::kLong);
  EXPECT_EQ(f->info("e").dtype, at::kFloat8_e4m3fn);
  EXPECT_EQ(f->info("s").shape, std::vector<int64_t>{});
  EXPECT_TRUE(f->contains("empty"));
  EXPECT_FALSE(f->contains("zz"));
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(Safetensors, LoadsValuesConvertingDtypes) {
  TempDir dir;
  const auto f = SafetensorsFile::open(dir.write("m.safetensors", safetensors(sample_entries())));
  EXPECT_TRUE(at::equal(f->load("a", at::kFloat), arange(6, at::kFloat).reshape({2, 3})));
  const at::Tensor a16 = f->load("a", at::kBFloat16);  // fp32 -> bf16
  EXPECT_EQ(a16.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(a16, arange(6, at::kBFloat16).reshape({2, 3})));
  const at::Tensor b = f->load("b", at::kFloat);  // bf16 -> fp32
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(b, at::tensor({0.0f, 0.5f, 1.0f, 1.5f})));
  EXPECT_TRUE(at::equal(f->load("c", at::kFloat), at::tensor({-2.0f, -1.0f, 0.0f, 1.0f}).reshape({2, 2})));
  EXPECT_TRUE(at::equal(f->load("a", at::kHalf), arange(6, at::kHalf).reshape({2, 3})));  // fp32 -> fp16
  EXPECT_TRUE(at::equal(f->load("d"), at::arange(3, at::kLong) * 10000000000LL));
  EXPECT_TRUE(at::equal(f->load("e", at::kFloat), at::tensor({0.5f, -1.0f, 448.0f})));
  EXPECT_EQ(f->load("empty", at::kBFloat16).sizes(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(f->load("s").item<uint8_t>(), 7);
}

TEST(Safetensors, ViewAliasesTheMappedFileAndOutlivesTheReader) {
  TempDir dir;
  const auto path = dir.write("m.safetensors", safetensors(sample_entries()));
  auto f = SafetensorsFile::open(path);
  at::Tensor v = f->view("a");
  EXPECT_EQ(v.data_ptr(), f->view("a").data_ptr());  // no copy: the same bytes each time
  const at::Tensor loaded = f->load("a", at::kFloat);
  EXPECT_NE(loaded.data_ptr(), v.data_ptr());  // load() owns its memory
  f.reset();                                   // the view keeps the mapping alive
  EXPECT_TRUE(at::equal(v, arange(6, at::kFloat).reshape({2, 3})));

  // Rewriting element 0 in the file shows through the view: it reads the file's pages.
  const float changed = 42.0f;
  char len_bytes[8];
  std::ifstream(path, std::ios::binary).read(len_bytes, 8);
  uint64_t header_len = 0;
  std::memcpy(&header_len, len_bytes, 8);  // little-endian host
  std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
  out.seekp(static_cast<std::streamoff>(8 + header_len));  // "a" is the first tensor
  out.write(reinterpret_cast<const char*>(&changed), sizeof changed);
  out.close();
  EXPECT_EQ(v[0][0].item<float>(), 42.0f);
  EXPECT_EQ(loaded[0][0].item<float>(), 0.0f);
}

// Resident memory of this process, in bytes (file pages mapped in count too).
int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(Safetensors, LoadingHoldsOneTensorNotTheFile) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator quarantine keeps freed memory resident";
#endif
  // 8 tensors of 4 MiB: loading them one after another must not leave the file's 32 MiB
  // resident (load() drops the pages it read), and holds one converted tensor at a time.
  TempDir dir;
  auto name = [](int i) { return std::string("t").append(std::to_string(i)); };  // (GCC 12 -Wrestrict)
  std::vector<Entry> entries;
  for (int i = 0; i < 8; ++i)
    entries.push_back({name(i), "F32", {1 << 20}, bytes_of(at::full({1 << 20}, float(i)))});
  const auto path = dir.write("big.safetensors", safetensors(entries));
  entries.clear();
  const auto f = SafetensorsFile::open(path);
  const int64_t before = resident_bytes();
  int64_t peak = before;
  for (int i = 0; i < 8; ++i) {
    const at::Tensor t = f->load(name(i), at::kFloat);
    EXPECT_EQ(t[12345].item<float>(), float(i));
    peak = std::max(peak, resident_bytes());
  }
  EXPECT_LT(peak - before, int64_t{16} << 20) << "resident growth while loading a 32 MiB file";
}

TEST(Safetensors, MisalignedDataStillReadsCorrectly) {
  // A 1-byte tensor first puts the float tensor at an odd address; header padding of 1.
  TempDir dir;
  const std::vector<Entry> entries = {{"pad", "U8", {1}, std::string(1, '\x01')},
                                      {"x", "F32", {3}, bytes_of(arange(3, at::kFloat) + 1)}};
  const auto f = SafetensorsFile::open(dir.write("m.safetensors", safetensors(entries, "", 1)));
  EXPECT_TRUE(at::equal(f->view("x"), at::tensor({1.0f, 2.0f, 3.0f})));
  EXPECT_TRUE(at::equal(f->load("x", at::kBFloat16), at::tensor({1.0f, 2.0f, 3.0f}).to(at::kBFloat16)));
}

TEST(Safetensors, EveryMalformedFileIsAOneLineUsageError) {
  TempDir dir;
  auto open_bytes = [&](const std::string& bytes) {
    const auto path = dir.write("bad.safetensors", bytes);
    return error_of([&] { SafetensorsFile::open(path); });
  };
  const std::string f32x3 = bytes_of(arange(3, at::kFloat));
  EXPECT_CONTAINS(open_bytes(""), "truncated: 0 bytes");
  EXPECT_CONTAINS(open_bytes("abc"), "truncated: 3 bytes");
  EXPECT_CONTAINS(open_bytes(le64(1000) + "{}"), "header length 1000 exceeds the file (10 bytes)");
  EXPECT_CONTAINS(open_bytes(le64(0x504b0304ull << 32)), "not a safetensors file");
  EXPECT_CONTAINS(open_bytes(raw_file("{\"a\":", "")), "invalid JSON at byte");
  EXPECT_CONTAINS(open_bytes(raw_file("[1]", "")), "header is not a JSON object");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F128","shape":[3],"data_offsets":[0,12]}})", f32x3)),
                  "tensor 'x' has unknown dtype 'F128' (known: F64 F32");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", f32x3)),
                  "tensor 'x': data_offsets [0, 16] reach beyond the end of the file (12 data bytes)");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x3)),
                  "tensor 'x': data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}})", f32x3)),
                  "tensor 'x': shape has an entry that is not a size");
  EXPECT_CONTAINS(
      open_bytes(
          raw_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,12]}})", f32x3)),
      "shape is too large");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","data_offsets":[0,12]}})", f32x3)),
                  "tensor 'x' lacks one of dtype, shape, data_offsets");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[8,4]}})", f32x3)),
                  "data_offsets must be [begin, end]");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":[1]})", f32x3)), "tensor 'x' is described by an array");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"__metadata__":{"a":1}})", "")),
                  "__metadata__ entry 'a' is not a string");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      f32x3)),
                  "tensors 'x' and 'y' overlap (data_offsets 0..8 and 4..12)");
  EXPECT_CONTAINS(open_bytes(raw_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                      f32x3)),
                  "duplicate key \"x\"");
  // A valid file cut short inside its data: the last tensor no longer fits.
  const std::string whole = safetensors(sample_entries());
  EXPECT_CONTAINS(
      open_bytes(whole.substr(0, whole.size() - 1)),
      "tensor 's': data_offsets [67, 68] reach beyond the end of the file (67 data bytes): truncated file?");
  EXPECT_CONTAINS(open_bytes(whole.substr(0, 20)), "exceeds the file (20 bytes)");

  EXPECT_CONTAINS(error_of([&] { SafetensorsFile::open(dir.file("nope.safetensors")); }), "cannot open");
  EXPECT_CONTAINS(error_of([&] { SafetensorsFile::open(dir.path().string()); }), "not a regular file");
  const auto good = SafetensorsFile::open(dir.write("good.safetensors", whole));
  EXPECT_EQ(error_of([&] { good->load("zz", at::kFloat); }),
            "checkpoint " + dir.file("good.safetensors") + ": no tensor 'zz' (it holds 7 tensors, e.g. 'a')");
}

// Truncations at every length and seeded byte flips: each either opens (and every tensor then
// loads) or is a UsageError; nothing reads outside the file.
TEST(Safetensors, CorruptFilesNeverCrash) {
  TempDir dir;
  const std::string whole = safetensors(sample_entries(), R"({"format":"pt"})");
  auto try_load = [&](const std::string& bytes) {
    const auto path = dir.write("fuzz.safetensors", bytes);
    try {
      const auto f = SafetensorsFile::open(path);
      for (const auto& name : f->names()) f->load(name, at::kFloat);
    } catch (const UsageError&) {
    }
  };
  for (size_t n = 0; n < whole.size(); ++n) try_load(whole.substr(0, n));
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = whole;
    for (int flips = 0; flips < 3; ++flips) {
      const size_t at = rng() % bytes.size();
      bytes[at] = static_cast<char>(rng() % 256);
    }
    try_load(bytes);
  }
}

// ---- sharded ---------------------------------------------------------------------------------

std::string index_json(const std::vector<std::pair<std::string, std::string>>& map) {
  std::string s = R"({"metadata":{"total_size":0},"weight_map":{)";
  for (size_t i = 0; i < map.size(); ++i) {
    s.append(i ? "," : "").append("\"" + map[i].first + "\":\"" + map[i].second + "\"");
  }
  return s + "}}";
}

void write_two_shards(const TempDir& dir) {
  dir.write("model-00001-of-00002.safetensors",
            safetensors({{"blocks.0.w", "F32", {2}, bytes_of(arange(2, at::kFloat))},
                         {"blocks.0.b", "BF16", {2}, bytes_of(arange(2, at::kBFloat16) + 5)}}));
  dir.write("model-00002-of-00002.safetensors",
            safetensors({{"blocks.1.w", "F32", {3}, bytes_of(arange(3, at::kFloat) + 10)}}));
}

TEST(SafetensorsIndex, LoadsFromEveryShardInWeightMapOrder) {
  TempDir dir;
  write_two_shards(dir);
  const auto path = dir.write("model.safetensors.index.json",
                              index_json({{"blocks.1.w", "model-00002-of-00002.safetensors"},
                                          {"blocks.0.w", "model-00001-of-00002.safetensors"},
                                          {"blocks.0.b", "model-00001-of-00002.safetensors"}}));
  const auto index = SafetensorsIndex::open(path);
  EXPECT_EQ(index->label(), path);
  EXPECT_EQ(index->names(), (std::vector<std::string>{"blocks.1.w", "blocks.0.w", "blocks.0.b"}));
  ASSERT_EQ(index->shard_paths().size(), 2u);
  EXPECT_EQ(index->shard_paths()[0], dir.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(index->info("blocks.0.b").dtype, at::kBFloat16);
  EXPECT_TRUE(at::equal(index->load("blocks.1.w", at::kFloat), at::tensor({10.0f, 11.0f, 12.0f})));
  EXPECT_TRUE(at::equal(index->load("blocks.0.b", at::kFloat), at::tensor({5.0f, 6.0f})));
  EXPECT_TRUE(at::equal(index->view("blocks.0.w"), at::tensor({0.0f, 1.0f})));
  EXPECT_CONTAINS(error_of([&] { index->info("blocks.9.w"); }), "no tensor 'blocks.9.w' (it holds 3 tensors");
}

TEST(SafetensorsIndex, ShardsAreOpenedLazily) {
  TempDir dir;
  write_two_shards(dir);
  dir.write("model-00002-of-00002.safetensors", "garbage!garbage!");  // only read when used
  const auto path = dir.write("model.safetensors.index.json",
                              index_json({{"blocks.0.w", "model-00001-of-00002.safetensors"},
                                          {"blocks.1.w", "model-00002-of-00002.safetensors"}}));
  const auto index = SafetensorsIndex::open(path);
  EXPECT_TRUE(at::equal(index->load("blocks.0.w", at::kFloat), at::tensor({0.0f, 1.0f})));
  const std::string msg = error_of([&] { index->load("blocks.1.w", at::kFloat); });
  EXPECT_CONTAINS(msg, "safetensors file " + dir.file("model-00002-of-00002.safetensors"));
  EXPECT_CONTAINS(msg, "(a shard of " + path + ")");
}

TEST(SafetensorsIndex, MissingShardOrTensorNamesTheShardAndTheIndex) {
  TempDir dir;
  write_two_shards(dir);
  const auto missing =
      dir.write("a.safetensors.index.json", index_json({{"blocks.0.w", "model-00001-of-00002.safetensors"},
                                                        {"blocks.2.w", "model-00003-of-00003.safetensors"}}));
  EXPECT_EQ(error_of([&] { SafetensorsIndex::open(missing); }),
            "checkpoint index " + missing +
                ": shard 'model-00003-of-00003.safetensors' (holding 'blocks.2.w') does not exist: " +
                dir.file("model-00003-of-00003.safetensors"));

  const auto wrong =
      dir.write("b.safetensors.index.json", index_json({{"blocks.1.w", "model-00001-of-00002.safetensors"}}));
  EXPECT_CONTAINS(error_of([&] { SafetensorsIndex::open(wrong)->load("blocks.1.w", at::kFloat); }),
                  "checkpoint index " + wrong + ": shard " + dir.file("model-00001-of-00002.safetensors") +
                      " does not contain 'blocks.1.w', which the index places there");

  EXPECT_CONTAINS(error_of([&] { SafetensorsIndex::open(dir.write("c.json", "{\"weight_map\": [1]}")); }),
                  "\"weight_map\" is an array, expected an object");
  EXPECT_CONTAINS(error_of([&] { SafetensorsIndex::open(dir.write("d.json", "{}")); }), "no \"weight_map\"");
  EXPECT_CONTAINS(
      error_of([&] { SafetensorsIndex::open(dir.write("e.json", "{\"weight_map\": {\"a\": 3}}")); }),
      "weight_map entry 'a' is not a file name");
  EXPECT_CONTAINS(error_of([&] { SafetensorsIndex::open(dir.write("f.json", "{\"weight_map\": ")); }),
                  "invalid JSON");
}

// ---- open_checkpoint and the loader checks ---------------------------------------------------

TEST(Checkpoint, OpensFilesIndexesAndDirectories) {
  TempDir dir;
  write_two_shards(dir);
  const auto index = dir.write("model.safetensors.index.json",
                               index_json({{"blocks.0.w", "model-00001-of-00002.safetensors"},
                                           {"blocks.1.w", "model-00002-of-00002.safetensors"}}));
  EXPECT_EQ(open_checkpoint(index)->names().size(), 2u);
  EXPECT_EQ(open_checkpoint(dir.path().string())->label(), index);  // the index wins in a folder
  EXPECT_EQ(open_checkpoint(dir.file("model-00001-of-00002.safetensors"))->names().size(), 2u);

  TempDir single;
  const auto one = single.write("diffusion_pytorch_model.safetensors", safetensors(sample_entries()));
  EXPECT_EQ(open_checkpoint(single.path().string())->label(), one);
  EXPECT_CONTAINS(error_of([&] { open_checkpoint(one, "module"); }), "a key ('module') selects a state dict");

  TempDir two;
  two.write("a.safetensors", safetensors(sample_entries()));
  two.write("b.safetensors", safetensors(sample_entries()));
  EXPECT_CONTAINS(error_of([&] { open_checkpoint(two.path().string()); }),
                  "2 .safetensors files ('a.safetensors', 'b.safetensors') but no .safetensors.index.json");
  TempDir none;
  none.write("model.pt", "x");
  EXPECT_CONTAINS(error_of([&] { open_checkpoint(none.path().string()); }),
                  "no .safetensors or .safetensors.index.json file (found 'model.pt': name the file)");
  EXPECT_EQ(error_of([&] { open_checkpoint(none.file("nothing")); }),
            "checkpoint " + none.file("nothing") + " does not exist");
}

TEST(Checkpoint, LoaderChecksNameTheTensorAndTheReason) {
  TempDir dir;
  const std::string name = "blocks.3.attn1.to_q.weight";
  const auto path =
      dir.write("m.safetensors", safetensors({{name, "F32", {4, 2}, bytes_of(arange(8, at::kFloat))},
                                              {"extra", "BF16", {1}, bytes_of(arange(1, at::kBFloat16))}}));
  const auto src = open_checkpoint(path);
  EXPECT_EQ(error_of([&] {
              expect_shape(*src, name, {4, 4}, "config says dim=4");
            }),
            "checkpoint " + path +
                ": tensor 'blocks.3.attn1.to_q.weight' has shape [4, 2], expected [4, 4] "
                "(config says dim=4)");
  EXPECT_EQ(error_of([&] { expect_shape(*src, name, {4, 2}); }), "");
  EXPECT_EQ(error_of([&] { expect_dtype(*src, name, at::kBFloat16, "bf16 checkpoint"); }),
            "checkpoint " + path + ": tensor '" + name +
                "' has dtype float32, expected bfloat16 (bf16 checkpoint)");
  EXPECT_EQ(error_of([&] { expect_tensor(*src, "head.weight", "Wan 2.1 original names"); }),
            "checkpoint " + path + ": no tensor 'head.weight' (it holds 2 tensors, e.g. '" + name +
                "') (Wan 2.1 original names)");
  EXPECT_EQ(error_of([&] { expect_shape(*src, "head.weight", {1}); }),
            "checkpoint " + path + ": no tensor 'head.weight' (it holds 2 tensors, e.g. '" + name + "')");
  EXPECT_EQ(error_of([&] {
              expect_names(*src, {name, "a", "b"}, "wan2.1-t2v-1.3B");
            }),
            "checkpoint " + path +
                ": 2 missing tensors ('a', 'b'); 1 unexpected tensor ('extra') (wan2.1-t2v-1.3B)");
  EXPECT_EQ(error_of([&] { expect_names(*src, {name, "extra"}); }), "");
}

}  // namespace
}  // namespace uspdit::io
