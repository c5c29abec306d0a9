// SHA-256 digests: content hashes for reports, keys and dataset provenance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ds {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  // Finishes the digest and returns 32 raw bytes; the object must not be used after.
  std::string digest();
  // Finishes and returns 64 lowercase hex characters.
  std::string hex_digest();

  // Whether the x86 SHA extensions are in use (when the CPU has them); tests compare both paths.
  static bool accelerated();
  static void set_portable_only(bool portable);

 private:
  void compress(const uint8_t* block);
  void compress_blocks(const uint8_t* blocks, size_t count);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const std::string& data);
// Streams the file; throws InputError if it cannot be read.
std::string sha256_file(const std::string& path);
std::string to_hex(const std::string& bytes);

}  // namespace ds
