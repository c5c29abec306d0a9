// Zip and pickle walkers: bounds only, no decoding.
#include "archive_check.h"

#include <cstdint>
#include <vector>

#include "errors.h"

namespace ds {
namespace {

uint64_t le(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[at + size_t(i)]);
  return v;
}

struct Entry {
  std::string name;
  size_t data = 0, size = 0;
};

std::vector<Entry> zip_entries(const std::string& b, const std::string& path) {
  const size_t n = b.size();
  if (n < 22) fail_input(path, "not a torch archive (too short for a zip file)");
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 65557;) {
    if (le(b, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) fail_input(path, "not a torch archive (no zip end record)");
  const uint64_t disk = le(b, eocd + 4, 2), cd_disk = le(b, eocd + 6, 2);
  const uint64_t here = le(b, eocd + 8, 2), total = le(b, eocd + 10, 2);
  const uint64_t cd_size = le(b, eocd + 12, 4), cd_offset = le(b, eocd + 16, 4);
  if (cd_offset == 0xFFFFFFFF || total == 0xFFFF) {
    fail_input(path, "ZIP64 archives (over 4 GB or 65535 records) are not supported");
  }
  if (disk != 0 || cd_disk != 0 || here != total) fail_input(path, "corrupt zip end record");
  if (cd_offset + cd_size > eocd) fail_input(path, "corrupt zip: central directory out of bounds");
  std::vector<Entry> entries;
  size_t at = size_t(cd_offset);
  for (uint64_t e = 0; e < total; ++e) {
    if (at + 46 > cd_offset + cd_size || le(b, at, 4) != 0x02014b50) {
      fail_input(path, "corrupt zip: bad central directory entry");
    }
    const uint64_t method = le(b, at + 10, 2), csize = le(b, at + 20, 4), usize = le(b, at + 24, 4);
    const uint64_t name_len = le(b, at + 28, 2), extra_len = le(b, at + 30, 2),
                   comment_len = le(b, at + 32, 2), local = le(b, at + 42, 4);
    if (at + 46 + name_len + extra_len + comment_len > cd_offset + cd_size) {
      fail_input(path, "corrupt zip: central directory entry out of bounds");
    }
    // Stored records (tensors, pickles) must be as long as they say; deflated ones (TorchScript
    // code) cannot expand beyond deflate's limit of about 1032:1.
    if (method == 0 ? csize != usize : method != 8 || usize > 1032 * csize + 64) {
      fail_input(path, "corrupt zip: a record's sizes or compression are impossible");
    }
    if (local + 30 > cd_offset || le(b, size_t(local), 4) != 0x04034b50) {
      fail_input(path, "corrupt zip: bad local header");
    }
    const uint64_t data = local + 30 + le(b, size_t(local) + 26, 2) + le(b, size_t(local) + 28, 2);
    if (data + csize > cd_offset) fail_input(path, "corrupt zip: record out of bounds");
    entries.push_back({b.substr(at + 46, size_t(name_len)), size_t(data), size_t(csize)});
    at += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

void check_pickle(const std::string& b, size_t begin, size_t end, const std::string& path) {
  auto fail = [&](const std::string& what) { fail_input(path, "corrupt pickle: " + what); };
  size_t at = begin;
  auto need = [&](uint64_t bytes) {
    if (bytes > end - at) fail("an argument runs past the end of the record");
  };
  auto line = [&] {
    while (at < end && b[at] != '\n') ++at;
    if (at == end) fail("unterminated text argument");
    ++at;
  };
  while (true) {
    if (at >= end) fail("no STOP opcode");
    const uint8_t op = uint8_t(b[at++]);
    switch (op) {
      case '.':  // STOP
        return;
      // no argument
      case '(': case '0': case '1': case '2': case 'N': case 'R': case 'a': case 'b': case 'd':
      case '}': case 'e': case 'l': case ']': case 'o': case 's': case 't': case ')': case 'u':
      case 'Q': case 0x81: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8f:
      case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x97: case 0x98:
        break;
      // fixed-size arguments
      case 'K': case 'q': case 'h': case 0x80: case 0x82: need(1); at += 1; break;
      case 'M': case 0x83: need(2); at += 2; break;
      case 'J': case 'r': case 'j': case 0x84: need(4); at += 4; break;
      case 'G': case 0x95: need(8); at += 8; break;
      // length-prefixed data
      case 'U': case 'C': case 0x8c: case 0x8a: {
        need(1);
        uint64_t len = le(b, at, 1);
        at += 1;
        need(len);
        at += size_t(len);
        break;
      }
      case 'T': case 'X': case 'B': case 0x8b: {
        need(4);
        uint64_t len = le(b, at, 4);
        at += 4;
        need(len);
        at += size_t(len);
        break;
      }
      case 0x8d: case 0x8e: case 0x96: {
        need(8);
        uint64_t len = le(b, at, 8);
        at += 8;
        need(len);
        at += size_t(len);
        break;
      }
      // newline-terminated text arguments
      case 'I': case 'L': case 'F': case 'S': case 'V': case 'p': case 'g': case 'P':
        line();
        break;
      case 'c': case 'i':
        line();
        line();
        break;
      default:
        fail("unknown opcode " + std::to_string(op));
    }
  }
}

}  // namespace

void check_zip_archive(const std::string& bytes, const std::string& path) { zip_entries(bytes, path); }

void check_pickle_archive(const std::string& bytes, const std::string& path) {
  bool found = false;
  for (const Entry& e : zip_entries(bytes, path)) {
    const std::string suffix = "data.pkl";
    if (e.name.size() >= suffix.size() &&
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      check_pickle(bytes, e.data, e.data + e.size, path);
      found = true;
    }
  }
  if (!found) fail_input(path, "not a torch.save archive (no data.pkl record)");
}

}  // namespace ds
