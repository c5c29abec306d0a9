// The owner's key file: a dict written with torch's pickle format (torch.load reads it in
// Python), holding a JSON "meta" string, the secret tensors of each watermark part, and a
// SHA-256 over the canonical content that every tool checks on load. See docs/FORMATS.md.
#pragma once

#include <string>

#include "watermark/key_types.h"

namespace ds {

// Canonical content hash (documented in docs/FORMATS.md).
std::string key_content_hash(const OwnerKey& key);
// The same hash without the signature fields: what the owner signs and commits to.
std::string key_commitment_digest(const OwnerKey& key);

// Writes atomically; sets key.sha256.
void write_key(OwnerKey& key, const std::string& path);

// Reads and validates a key; a missing, truncated, malformed or tampered file is an InputError
// naming the file.
OwnerKey read_key(const std::string& path);

}  // namespace ds
