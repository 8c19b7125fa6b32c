#include "io/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/safetensors_index.h"
#include "io/torch_pickle.h"

namespace uspdit::io {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// torch.save files are zip archives whatever their extension (.pt, .pth, .bin, .ckpt).
bool starts_like_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

std::string joined(const std::vector<std::string>& names, size_t limit = 5) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i > 0) s.append(", ");
    s.append("'").append(names[i]).append("'");
  }
  if (names.size() > limit) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

std::string open_directory(const std::string& dir) {
  std::vector<std::string> indexes, shards, others;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (ends_with(name, ".safetensors.index.json"))
      indexes.push_back(name);
    else if (ends_with(name, ".safetensors"))
      shards.push_back(name);
    else if (ends_with(name, ".pt") || ends_with(name, ".pth") || ends_with(name, ".bin"))
      others.push_back(name);
  }
  if (ec) throw UsageError("checkpoint " + dir + ": cannot list the directory: " + ec.message());
  std::sort(indexes.begin(), indexes.end());
  std::sort(shards.begin(), shards.end());
  std::sort(others.begin(), others.end());
  if (indexes.size() == 1) return (fs::path(dir) / indexes[0]).string();
  if (indexes.size() > 1)
    throw UsageError("checkpoint " + dir + ": several indexes (" + joined(indexes) + "); name one");
  if (shards.size() == 1) return (fs::path(dir) / shards[0]).string();
  if (shards.size() > 1) {
    throw UsageError("checkpoint " + dir + ": " + std::to_string(shards.size()) + " .safetensors files (" +
                     joined(shards) + ") but no .safetensors.index.json; name a file");
  }
  std::string msg = "checkpoint " + dir + ": no .safetensors or .safetensors.index.json file";
  if (!others.empty()) msg += " (found " + joined(others) + ": name the file)";
  throw UsageError(msg);
}

std::string context_suffix(const std::string& context) {
  return context.empty() ? "" : " (" + context + ")";
}

}  // namespace

std::shared_ptr<const TensorSource> open_checkpoint(const std::string& path, const std::string& key) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw UsageError("checkpoint " + path + " does not exist");
  const std::string file = fs::is_directory(status) ? open_directory(path) : path;
  if (starts_like_zip(file)) return TorchStateDict::open(file, key);
  if (!key.empty()) {
    throw UsageError("checkpoint " + file + ": a key ('" + key +
                     "') selects a state dict inside a torch .pt/.pth file; this is not one");
  }
  if (ends_with(file, ".json")) return SafetensorsIndex::open(file);
  const auto size = fs::file_size(file, ec);
  if (!ec && size == 0)
    throw UsageError("checkpoint " + file + " is empty (0 bytes): an unfinished download?");
  // Not a zip: safetensors, whatever the name (a .pt may hold either). A torch-named file that is
  // neither is reported as such, not only by the safetensors header it was read as.
  const bool torch_named = ends_with(file, ".pt") || ends_with(file, ".pth") || ends_with(file, ".bin") ||
                           ends_with(file, ".ckpt");
  try {
    return SafetensorsFile::open(file);
  } catch (const UsageError& e) {
    if (!torch_named) throw;
    throw UsageError("checkpoint " + file +
                     " is neither a PyTorch zip archive (torch.save's format since 1.6) nor safetensors (" +
                     e.what() + "): a legacy or damaged file, or not a checkpoint");
  }
}

void expect_tensor(const TensorSource& source, const std::string& name, const std::string& context) {
  if (source.contains(name)) return;
  try {
    source.info(name);  // throws the message naming the checkpoint and an example name
  } catch (const UsageError& e) {
    throw UsageError(e.what() + context_suffix(context));
  }
}

void expect_shape(const TensorSource& source, const std::string& name, const std::vector<int64_t>& expected,
                  const std::string& context) {
  expect_tensor(source, name, context);
  const TensorInfo info = source.info(name);
  if (info.shape == expected) return;
  throw UsageError("checkpoint " + source.label() + ": tensor '" + name + "' has shape " +
                   shape_string(info.shape) + ", expected " + shape_string(expected) +
                   context_suffix(context));
}

void expect_dtype(const TensorSource& source, const std::string& name, at::ScalarType expected,
                  const std::string& context) {
  expect_tensor(source, name, context);
  const TensorInfo info = source.info(name);
  if (info.dtype == expected) return;
  throw UsageError("checkpoint " + source.label() + ": tensor '" + name + "' has dtype " +
                   dtype_name(info.dtype) + ", expected " + dtype_name(expected) + context_suffix(context));
}

void expect_names(const TensorSource& source, const std::vector<std::string>& expected,
                  const std::string& context) {
  const std::unordered_set<std::string> wanted(expected.begin(), expected.end());
  std::vector<std::string> missing, unexpected;
  for (const auto& name : expected)
    if (!source.contains(name)) missing.push_back(name);
  for (const auto& name : source.names())
    if (wanted.count(name) == 0) unexpected.push_back(name);
  if (missing.empty() && unexpected.empty()) return;
  // Appended piecewise: GCC 12 misreports -Wrestrict on long operator+ chains here.
  auto count = [](size_t n, const char* what) {
    return std::to_string(n) + " " + what + " tensor" + (n > 1 ? "s" : "");
  };
  std::string msg = "checkpoint " + source.label() + ":";
  if (!missing.empty())
    msg.append(" ").append(count(missing.size(), "missing")).append(" (").append(joined(missing)).append(")");
  if (!unexpected.empty()) {
    msg.append(missing.empty() ? " " : "; ").append(count(unexpected.size(), "unexpected"));
    msg.append(" (").append(joined(unexpected)).append(")");
  }
  throw UsageError(msg + context_suffix(context));
}

NameMatch match_names(const std::vector<std::string>& wanted, const std::map<std::string, std::string>& file_name_of) {
  NameMatch m;
  const std::unordered_set<std::string> wanted_set(wanted.begin(), wanted.end());
  for (const auto& name : wanted)
    if (file_name_of.count(name) == 0) m.missing.push_back(name);
  for (const auto& [engine, file] : file_name_of)
    if (wanted_set.count(engine) == 0) m.unexpected.push_back(file);
  return m;
}

std::string quote_first_few(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) out << (i ? ", " : "") << "'" << names[i] << "'";
  if (names.size() > 3) out << " and " << names.size() - 3 << " more";
  return out.str();
}

}  // namespace uspdit::io
