#include "io/zip.h"

#include "core/error.h"

namespace uspdit::io {
namespace {

// Record signatures and fixed sizes (PKWARE APPNOTE 6.3, sections 4.3.7 - 4.3.16).
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;

// Little-endian reads from a range already checked to lie inside the file.
uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool looks_like_zip(const MappedFile& file) {
  return file.size() >= 4 && le(file.data(), 4) == kLocalHeaderSig;
}

ZipArchive::ZipArchive(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
  read_directory();
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

void ZipArchive::read_directory() {
  const MappedFile& f = *file_;
  auto fail = [&f](const std::string& problem) -> void { throw UsageError(f.path() + ": " + problem); };
  const uint8_t* base = f.data();
  const uint64_t size = f.size();
  if (size < kEndSize) fail("truncated: too short for a zip archive");

  // The end record is the last 22 bytes unless an archive comment (<= 64 KiB) follows it.
  uint64_t end = size - kEndSize;
  const uint64_t lowest = size - kEndSize > 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  for (;; --end) {
    if (le(base + end, 4) == kEndSig && end + kEndSize + le(base + end + 20, 2) <= size) break;
    if (end == lowest) fail("truncated or corrupt zip archive: no end of central directory record");
  }
  const uint8_t* e = base + end;
  if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0) fail("multi-volume zip archives are not supported");
  uint64_t count = le(e + 10, 2);
  uint64_t dir_size = le(e + 12, 4);
  uint64_t dir_offset = le(e + 16, 4);

  // ZIP64: a locator right before the end record points at the 64-bit end record.
  if (end >= kZip64LocatorSize && le(base + end - kZip64LocatorSize, 4) == kZip64LocatorSig) {
    const uint64_t z_end = le(base + end - kZip64LocatorSize + 8, 8);
    if (!f.contains(z_end, kZip64EndSize) || le(base + z_end, 4) != kZip64EndSig)
      fail("corrupt ZIP64 end of central directory record");
    const uint8_t* z = base + z_end;
    count = le(z + 32, 8);
    dir_size = le(z + 40, 8);
    dir_offset = le(z + 48, 8);
  } else if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    fail("truncated or corrupt zip archive: ZIP64 record missing");
  }
  if (!f.contains(dir_offset, dir_size)) fail("truncated: central directory lies beyond the end of the file");

  uint64_t pos = dir_offset;
  const uint64_t dir_end = dir_offset + dir_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (dir_end - pos < kCentralHeaderSize || le(base + pos, 4) != kCentralHeaderSig)
      fail("corrupt central directory (entry " + std::to_string(i) + ")");
    const uint8_t* h = base + pos;
    const uint64_t flags = le(h + 8, 2);
    ZipEntry entry;
    entry.method = static_cast<uint16_t>(le(h + 10, 2));
    uint64_t stored = le(h + 20, 4);
    uint64_t original = le(h + 24, 4);
    const uint64_t name_len = le(h + 28, 2);
    const uint64_t extra_len = le(h + 30, 2);
    const uint64_t comment_len = le(h + 32, 2);
    uint64_t local = le(h + 42, 4);
    if (dir_end - pos - kCentralHeaderSize < name_len + extra_len + comment_len)
      fail("corrupt central directory (entry " + std::to_string(i) + ")");
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    if (flags & 1) fail("entry '" + entry.name + "' is encrypted");

    // The ZIP64 extra field holds, in this order, those of the three values whose 32-bit
    // fields are saturated.
    const uint8_t* extra = h + kCentralHeaderSize + name_len;
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const uint64_t id = le(extra + x, 2);
      const uint64_t len = le(extra + x + 2, 2);
      if (x + 4 + len > extra_len) fail("entry '" + entry.name + "': corrupt extra field");
      if (id == kZip64ExtraId) {
        const uint8_t* v = extra + x + 4;
        uint64_t used = 0;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (used + 8 > len) fail("entry '" + entry.name + "': corrupt ZIP64 extra field");
          field = le(v + used, 8);
          used += 8;
        };
        take(original);
        take(stored);
        take(local);
      }
      x += 4 + len;
    }

    if (!f.contains(local, kLocalHeaderSize) || le(base + local, 4) != kLocalHeaderSig)
      fail("entry '" + entry.name + "': local header lies beyond the end of the file or is corrupt");
    // The local header's name and extra lengths may differ from the central directory's.
    entry.offset = local + kLocalHeaderSize + le(base + local + 26, 2) + le(base + local + 28, 2);
    entry.size = stored;
    if (!f.contains(entry.offset, entry.size)) {
      fail("truncated: entry '" + entry.name + "' (" + std::to_string(entry.size) +
           " bytes) reaches beyond the end of the file");
    }
    if (entry.method == 0 && stored != original) fail("entry '" + entry.name + "': inconsistent sizes");
    by_name_.emplace(entry.name, entries_.size());
    entries_.push_back(std::move(entry));
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
}

}  // namespace uspdit::io
