// Signed, committed keys (Ed25519, libsodium). An owner makes a signing identity once
// (ds-gen-keys --init-owner); every key the owner releases carries a signature over its
// commitment digest (the canonical content hash without the signature fields), and a small
// public commitment file (digest, key file SHA-256, public key, time, signature) that the owner
// can publish or timestamp before releasing a marked model. ds-verify refuses a key whose
// signature does not verify, or that does not match a given commitment, with exit 2.
#pragma once

#include <string>

#include "core/config.h"
#include "watermark/key_file.h"

namespace ds {

struct OwnerIdentity {
  std::string public_key;  // 32 bytes, raw
  std::string secret_key;  // 64 bytes, raw (libsodium's seed + public key)
};

// Writes a new identity: `path` (the secret, mode 0600) and `path`.pub (the public key). Refuses
// to overwrite either file.
void init_owner(const std::string& path);
// Reads the secret file; refuses one that others can read (mode beyond 0600) or that is malformed.
OwnerIdentity read_owner_secret(const std::string& path);
// Reads a public key file (`init_owner`'s .pub) and returns the 32 raw bytes.
std::string read_owner_public(const std::string& path);

// Signs the key (sets key.signature; the caller writes the key afterwards).
void sign_key(OwnerKey& key, const OwnerIdentity& owner);

// The commitment for a written, signed key file.
Json make_commitment(const OwnerKey& key, const std::string& key_path);

// Checks a key's signature and, when given, its commitment and expected owner. Throws
// InputError naming the file on any failure; returns what was checked, for the report:
// {"content_hash": "valid", "signature": "valid" | "unsigned", "commitment": "matches" |
//  "not given", "owner": "matches" | "not given"}.
Json check_key_trust(const OwnerKey& key, const std::string& key_path,
                     const std::string& commitment_path, const std::string& owner_public_path);

std::string hex_encode(const std::string& bytes);

}  // namespace ds
