// Zip and pickle walkers: bounds only, no decoding.
#include "data/archive_check.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include <ATen/ATen.h>

#include "core/errors.h"

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
  // torch's writer adds ZIP64 end records even to small archives: they must agree with the
  // ordinary end record, which is what the checks below use.
  if (eocd >= 20 && le(b, eocd - 20, 4) == 0x07064b50) {
    const uint64_t z = le(b, eocd - 20 + 8, 8);
    if (z + 56 > eocd - 20 || le(b, size_t(z), 4) != 0x06064b50 ||
        le(b, size_t(z) + 4, 8) + 12 != eocd - 20 - z || le(b, size_t(z) + 24, 8) != total ||
        le(b, size_t(z) + 32, 8) != total || le(b, size_t(z) + 40, 8) != cd_size ||
        le(b, size_t(z) + 48, 8) != cd_offset) {
      fail_input(path, "corrupt zip: ZIP64 end record disagrees with the end record");
    }
  }
  if (eocd + 22 + le(b, eocd + 20, 2) != n) fail_input(path, "corrupt zip: bytes after the end record");
  if (disk != 0 || cd_disk != 0 || here != total) fail_input(path, "corrupt zip end record");
  if (cd_offset + cd_size > eocd) fail_input(path, "corrupt zip: central directory out of bounds");
  std::vector<Entry> entries;
  std::set<std::string> names;
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
    std::string name = b.substr(at + 46, size_t(name_len));
    if (le(b, size_t(local) + 26, 2) != name_len || b.compare(size_t(local) + 30, name_len, name) != 0) {
      fail_input(path, "corrupt zip: a record's local and central names differ");
    }
    // Two records of one name: the checks below would size one and LibTorch might read the other.
    if (!names.insert(name).second) fail_input(path, "corrupt zip: two records named '" + name + "'");
    entries.push_back({std::move(name), size_t(data), size_t(csize)});
    at += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

// A value on the model stack: what the storage check needs (texts, integers, tuples), the rest
// is "other".
struct Val {
  enum Kind { kOther, kText, kInt, kTuple } kind = kOther;
  std::string text;
  int64_t num = 0;
  std::vector<Val> items;
};

int64_t storage_item_size(const std::string& type) {
  static const std::pair<const char*, int64_t> kSizes[] = {
      {"torch\nFloatStorage", 4},  {"torch\nDoubleStorage", 8},        {"torch\nHalfStorage", 2},
      {"torch\nBFloat16Storage", 2}, {"torch\nLongStorage", 8},         {"torch\nIntStorage", 4},
      {"torch\nShortStorage", 2},  {"torch\nCharStorage", 1},          {"torch\nByteStorage", 1},
      {"torch\nBoolStorage", 1},   {"torch\nComplexFloatStorage", 8}, {"torch\nComplexDoubleStorage", 16}};
  for (const auto& [name, size] : kSizes) {
    if (type == name) return size;
  }
  return 0;
}

// Walks the opcodes with a model of the unpickler's stack: every argument must fit in the
// record, every opcode must find the items it consumes (LibTorch's unpickler does not check and
// reads before its stack on a malformed pickle), memo reads must name stored entries, and every
// tensor storage a persistent id declares must fit in its data record (LibTorch sizes the
// storage from the pickle and would read past the record).
void check_pickle(const std::string& b, size_t begin, size_t end, const std::string& path,
                  const std::function<int64_t(const std::string&)>& record_size) {
  auto fail = [&](const std::string& what) { fail_input(path, "corrupt pickle: " + what); };
  size_t at = begin;
  std::vector<Val> stack;
  std::vector<size_t> marks;      // stack size at each MARK
  std::map<uint64_t, Val> memo;   // memo entries stored so far
  std::map<std::string, std::pair<std::string, int64_t>> storages;  // key -> type, numel
  auto need = [&](uint64_t bytes) {
    if (bytes > end - at) fail("an argument runs past the end of the record");
  };
  auto take = [&](size_t items) {  // pops `items` above the last mark, returns them in order
    size_t floor = marks.empty() ? 0 : marks.back();
    if (stack.size() < floor + items) fail("an opcode finds too few items on the stack");
    std::vector<Val> out(stack.end() - long(items), stack.end());
    stack.resize(stack.size() - items);
    return out;
  };
  auto pop_mark = [&]() {  // pops to the last mark
    if (marks.empty()) fail("an opcode needs a MARK");
    std::vector<Val> out(stack.begin() + long(marks.back()), stack.end());
    stack.resize(marks.back());
    marks.pop_back();
    return out;
  };
  auto push = [&](Val v = Val{}) { stack.push_back(std::move(v)); };
  auto tuple = [&](std::vector<Val> items) {
    Val v;
    v.kind = Val::kTuple;
    v.items = std::move(items);
    push(std::move(v));
  };
  auto line = [&]() -> std::string {
    size_t from = at;
    while (at < end && b[at] != '\n') ++at;
    if (at == end) fail("unterminated text argument");
    ++at;
    return b.substr(from, at - 1 - from);
  };
  auto get = [&](uint64_t id) {
    auto it = memo.find(id);
    if (it == memo.end()) fail("a memo read names no entry");
    push(it->second);
  };
  auto put = [&](uint64_t id) {
    if (stack.size() <= (marks.empty() ? 0 : marks.back())) fail("a memo write finds no item");
    // Picklers number memo entries in order; LibTorch sizes its memo table by the id.
    if (id > memo.size() && !memo.count(id)) fail("a memo id is out of sequence");
    memo[id] = stack.back();
  };
  auto text = [&](int bytes) {
    need(uint64_t(bytes));
    uint64_t len = le(b, at, bytes);
    at += size_t(bytes);
    need(len);
    Val v;
    v.kind = Val::kText;
    v.text = b.substr(at, size_t(len));
    at += size_t(len);
    push(std::move(v));
  };
  auto integer = [&](int bytes, bool is_signed) {
    need(uint64_t(bytes));
    Val v;
    v.kind = Val::kInt;
    uint64_t raw = le(b, at, bytes);
    v.num = is_signed && bytes == 4 ? int64_t(int32_t(uint32_t(raw))) : int64_t(raw);
    at += size_t(bytes);
    push(std::move(v));
  };
  auto persistent_id = [&](const Val& id) {
    // ('storage', GLOBAL torch.XStorage, key, location, numel)
    if (id.kind != Val::kTuple || id.items.size() != 5 || id.items[0].text != "storage") return;
    const Val &type = id.items[1], &key = id.items[2], &numel = id.items[4];
    int64_t item = storage_item_size(type.text);
    if (type.kind != Val::kText || key.kind != Val::kText || numel.kind != Val::kInt || item == 0) {
      fail("a tensor storage id is malformed");
    }
    int64_t size = record_size("data/" + key.text);
    if (size < 0) fail("a tensor storage names no data record");
    if (numel.num < 0 || numel.num > size / item) fail("a tensor storage is larger than its data record");
    // A storage named again (shared by tensors) must be the same storage: LibTorch reuses the
    // first one it built under that name.
    auto seen = storages.emplace(key.text, std::make_pair(type.text, numel.num));
    if (!seen.second && seen.first->second != std::make_pair(type.text, numel.num)) {
      fail("a tensor storage is declared twice with different types or sizes");
    }
  };
  while (true) {
    if (at >= end) fail("no STOP opcode");
    const uint8_t op = uint8_t(b[at++]);
    switch (op) {
      case '.': take(1); return;                                       // STOP
      case 0x80: need(1); at += 1; break;                              // PROTO
      case 0x95: need(8); at += 8; break;                              // FRAME
      case '(': marks.push_back(stack.size()); break;                  // MARK
      case '0': take(1); break;                                        // POP
      case '1': pop_mark(); break;                                     // POP_MARK
      case '2': { Val v = take(1)[0]; push(v); push(v); break; }       // DUP
      case 'N': case 0x88: case 0x89: case '}': case ']': case 0x8f: push(); break;
      case ')': tuple({}); break;                                      // EMPTY_TUPLE
      case 'K': integer(1, false); break;                              // BININT1
      case 'M': integer(2, false); break;                              // BININT2
      case 'J': integer(4, true); break;                               // BININT
      case 'G': need(8); at += 8; push(); break;                       // BINFLOAT
      case 0x82: need(1); at += 1; push(); break;                      // EXT1
      case 0x83: need(2); at += 2; push(); break;                      // EXT2
      case 0x84: need(4); at += 4; push(); break;                      // EXT4
      case 'U': case 'C': case 0x8c: case 0x8a: text(1); break;        // short strings, LONG1
      case 'T': case 'X': case 'B': case 0x8b: text(4); break;         // strings, LONG4
      case 0x8d: case 0x8e: case 0x96: text(8); break;                 // 8-byte lengths
      case 'I': case 'L': case 'F': case 'S': case 'V': case 'P':      // text arguments
        line();
        push();
        break;
      case 'c': {                                                      // GLOBAL
        std::string module = line(), name = line();
        Val v;
        v.kind = Val::kText;
        v.text = module + "\n" + name;
        push(std::move(v));
        break;
      }
      case 'i': line(); line(); pop_mark(); push(); break;             // INST
      case 'q': need(1); put(le(b, at, 1)); at += 1; break;            // BINPUT
      case 'r': need(4); put(le(b, at, 4)); at += 4; break;            // LONG_BINPUT
      case 'p': case 'g': fail("text-protocol memo opcodes are not supported"); break;
      case 0x94: put(memo.size()); break;                              // MEMOIZE
      case 'h': need(1); get(le(b, at, 1)); at += 1; break;            // BINGET
      case 'j': need(4); get(le(b, at, 4)); at += 4; break;            // LONG_BINGET
      case 'R': case 0x81: case 0x93: take(2); push(); break;          // REDUCE, NEWOBJ, STACK_GLOBAL
      case 0x92: take(3); push(); break;                               // NEWOBJ_EX
      case 'b': take(2); push(); break;                                // BUILD
      case 'a': take(2); push(); break;                                // APPEND
      case 's': take(3); push(); break;                                // SETITEM
      case 'Q': persistent_id(take(1)[0]); push(); break;              // BINPERSID
      case 0x85: tuple(take(1)); break;                                // TUPLE1
      case 0x86: tuple(take(2)); break;                                // TUPLE2
      case 0x87: tuple(take(3)); break;                                // TUPLE3
      case 't': tuple(pop_mark()); break;                              // TUPLE
      case 'l': case 0x91: pop_mark(); push(); break;                  // LIST, FROZENSET
      case 'd':                                                        // DICT
        if (pop_mark().size() % 2 != 0) fail("a dict needs key-value pairs");
        push();
        break;
      case 'e': case 0x90: pop_mark(); take(1); push(); break;         // APPENDS, ADDITEMS
      case 'u':                                                        // SETITEMS
        if (pop_mark().size() % 2 != 0) fail("a dict needs key-value pairs");
        take(1);
        push();
        break;
      case 'o':                                                        // OBJ
        if (pop_mark().empty()) fail("OBJ needs a class");
        push();
        break;
      case 0x97: push(); break;                                        // NEXT_BUFFER
      case 0x98: take(1); push(); break;                               // READONLY_BUFFER
      default:
        fail("unknown opcode " + std::to_string(op));
    }
  }
}

}  // namespace

void check_tensor_storage(const at::Tensor& t, const std::string& path, const std::string& what) {
  if (!t.defined() || t.numel() == 0) return;
  if (!t.has_storage()) fail_input(path, what + " has no storage");
  int64_t last = t.storage_offset();
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0) fail_input(path, what + " has a negative stride");
    last += (t.size(d) - 1) * t.stride(d);
  }
  if (t.storage_offset() < 0 ||
      uint64_t(last + 1) * uint64_t(t.element_size()) > uint64_t(t.storage().nbytes())) {
    fail_input(path, what + " claims more elements than its stored data holds");
  }
}

void check_zip_archive(const std::string& bytes, const std::string& path) { zip_entries(bytes, path); }

void check_pickle_archive(const std::string& bytes, const std::string& path) {
  bool found = false;
  const std::vector<Entry> entries = zip_entries(bytes, path);
  for (const Entry& e : entries) {
    const std::string suffix = "data.pkl";
    if (e.name.size() >= suffix.size() &&
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      // Storage records live beside the pickle: PREFIX/data.pkl, PREFIX/data/KEY.
      const std::string prefix = e.name.substr(0, e.name.size() - suffix.size());
      auto record_size = [&](const std::string& name) -> int64_t {
        for (const Entry& r : entries) {
          if (r.name == prefix + name) return int64_t(r.size);
        }
        return -1;
      };
      check_pickle(bytes, e.data, e.data + e.size, path, record_size);
      found = true;
    }
  }
  if (!found) fail_input(path, "not a torch.save archive (no data.pkl record)");
}

}  // namespace ds
