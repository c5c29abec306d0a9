// Ed25519 through libsodium; owner files and commitments as small JSON documents.
#include "watermark/signing.h"

#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"

namespace ds {
namespace {

constexpr const char* kSecretFormat = "deepsigns-owner-secret";
constexpr const char* kPublicFormat = "deepsigns-owner-public";
constexpr const char* kCommitmentFormat = "deepsigns-commitment";

void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string hex_decode(const std::string& hex, size_t bytes, const std::string& path,
                       const std::string& what) {
  std::string out(bytes, '\0');
  size_t got = 0;
  if (hex.size() != 2 * bytes ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), bytes, hex.data(), hex.size(),
                     nullptr, &got, nullptr) != 0 ||
      got != bytes) {
    fail_input(path, what + " is not " + std::to_string(bytes) + " bytes of hex");
  }
  return out;
}

Json read_json_doc(const std::string& path, const char* format) {
  Json j;
  try {
    j = Json::parse(read_file(path));
  } catch (const Json::exception&) {
    fail_input(path, "not valid JSON");
  }
  if (!j.is_object() || j.value("format", "") != format) {
    fail_input(path, std::string("not a ") + format + " file (wrong format tag)");
  }
  return j;
}

std::string text_field(const Json& j, const char* name, const std::string& path) {
  if (!j.contains(name) || !j[name].is_string()) {
    fail_input(path, std::string("field '") + name + "' is missing or not text");
  }
  return j[name].get<std::string>();
}

// What a signature covers: the commitment digest, the public key and the time, with a domain tag.
std::string signed_message(const std::string& digest_hex, const std::string& public_hex,
                           const std::string& created) {
  return "deepsigns-key-commitment-v1\n" + digest_hex + "\n" + public_hex + "\n" + created;
}

bool signature_valid(const std::string& message, const std::string& sig, const std::string& pub) {
  ensure_sodium();
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(pub.data())) == 0;
}

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return b;
}

}  // namespace

std::string hex_encode(const std::string& bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

void init_owner(const std::string& path) {
  ensure_sodium();
  const std::string pub_path = path + ".pub";
  for (const std::string& p : {path, pub_path}) {
    if (std::filesystem::exists(p)) fail_input(p, "exists already; an owner identity is never overwritten");
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  std::string pub(reinterpret_cast<char*>(pk), sizeof pk);
  std::string sec(reinterpret_cast<char*>(sk), sizeof sk);
  Json secret{{"format", kSecretFormat}, {"format_version", 1}, {"algorithm", "ed25519"},
              {"public_key", hex_encode(pub)}, {"secret_key", hex_encode(sec)}};
  sodium_memzero(sk, sizeof sk);
  Json public_doc{{"format", kPublicFormat}, {"format_version", 1}, {"algorithm", "ed25519"},
                  {"public_key", hex_encode(pub)}};
  // The secret is created 0600 before a byte of it is written.
  write_atomically(path, [&](const std::string& tmp) {
    const std::string text = secret.dump(1) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    if (fd >= 0) ok = ::close(fd) == 0 && ok;
    if (!ok) throw InputError(path + ": cannot write the owner's secret");
  });
  try {
    write_file_atomically(pub_path, public_doc.dump(1) + "\n");
  } catch (...) {
    std::filesystem::remove(path);
    throw;
  }
}

OwnerIdentity read_owner_secret(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail_input(path, "cannot read the owner's secret file");
  if ((st.st_mode & 077) != 0) {
    fail_input(path, "the owner's secret is readable by others (chmod 600 it)");
  }
  Json j = read_json_doc(path, kSecretFormat);
  OwnerIdentity id;
  id.public_key = hex_decode(text_field(j, "public_key", path), crypto_sign_PUBLICKEYBYTES, path, "public_key");
  id.secret_key = hex_decode(text_field(j, "secret_key", path), crypto_sign_SECRETKEYBYTES, path, "secret_key");
  // libsodium's secret key ends with the public key: they must belong together.
  if (id.secret_key.substr(32) != id.public_key) {
    fail_input(path, "secret and public key do not belong together");
  }
  return id;
}

std::string read_owner_public(const std::string& path) {
  Json j = read_json_doc(path, kPublicFormat);
  return hex_decode(text_field(j, "public_key", path), crypto_sign_PUBLICKEYBYTES, path, "public_key");
}

void sign_key(OwnerKey& key, const OwnerIdentity& owner) {
  ensure_sodium();
  KeySignature s;
  s.public_key = hex_encode(owner.public_key);
  s.created = utc_now_iso();
  std::string message = signed_message(key_commitment_digest(key), s.public_key, s.created);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(),
                       reinterpret_cast<const unsigned char*>(owner.secret_key.data()));
  s.signature = hex_encode(std::string(reinterpret_cast<char*>(sig), sizeof sig));
  key.signature = s;
}

Json make_commitment(const OwnerKey& key, const std::string& key_path) {
  if (!key.signature) throw InputError(key_path + ": a commitment needs a signed key (--owner)");
  return Json{{"format", kCommitmentFormat},
              {"format_version", 1},
              {"algorithm", "ed25519"},
              {"key_commitment_digest", key_commitment_digest(key)},
              {"key_file_sha256", sha256_file(key_path)},
              {"public_key", key.signature->public_key},
              {"created", key.signature->created},
              {"signature", key.signature->signature}};
}

Json check_key_trust(const OwnerKey& key, const std::string& key_path,
                     const std::string& commitment_path, const std::string& owner_public_path) {
  Json checks{{"content_hash", "valid"}, {"signature", "unsigned"}, {"commitment", "not given"},
              {"owner", "not given"}};
  std::string digest = key_commitment_digest(key);
  std::string pub;
  if (key.signature) {
    const KeySignature& s = *key.signature;
    pub = hex_decode(s.public_key, crypto_sign_PUBLICKEYBYTES, key_path, "signature.public_key");
    std::string sig = hex_decode(s.signature, crypto_sign_BYTES, key_path, "signature.ed25519");
    if (!signature_valid(signed_message(digest, s.public_key, s.created), sig, pub)) {
      fail_input(key_path, "the key's signature does not verify: the key was altered or forged");
    }
    checks["signature"] = "valid";
  }
  if (!owner_public_path.empty()) {
    std::string expected = read_owner_public(owner_public_path);
    if (!key.signature) fail_input(key_path, "the key is not signed, but --owner-public was given");
    if (expected != pub) fail_input(key_path, "the key is signed by another owner than " + owner_public_path);
    checks["owner"] = "matches";
  }
  if (!commitment_path.empty()) {
    Json c = read_json_doc(commitment_path, kCommitmentFormat);
    std::string c_pub = hex_decode(text_field(c, "public_key", commitment_path),
                                   crypto_sign_PUBLICKEYBYTES, commitment_path, "public_key");
    std::string c_sig = hex_decode(text_field(c, "signature", commitment_path), crypto_sign_BYTES,
                                   commitment_path, "signature");
    std::string c_digest = text_field(c, "key_commitment_digest", commitment_path);
    if (!signature_valid(signed_message(c_digest, text_field(c, "public_key", commitment_path),
                                        text_field(c, "created", commitment_path)),
                         c_sig, c_pub)) {
      fail_input(commitment_path, "the commitment's signature does not verify");
    }
    if (c_digest != digest) fail_input(key_path, "the key does not match the commitment " + commitment_path);
    if (text_field(c, "key_file_sha256", commitment_path) != sha256_file(key_path)) {
      fail_input(key_path, "the key file's bytes differ from those committed in " + commitment_path);
    }
    if (!key.signature || c_pub != pub) {
      fail_input(key_path, "the key is not signed by the committed owner");
    }
    checks["commitment"] = "matches";
    checks["committed_at"] = c["created"];
  }
  return checks;
}

}  // namespace ds
