// Signed, committed keys: an owner identity is private and never overwritten; a signed key
// verifies, and its commitment matches; a key changed after signing (even with a fresh content
// hash, as a forger would make), another owner's key, a key that is not the committed one, and
// a commitment with a bad signature are all refused; every single-bit flip of a key file is
// refused on load.
#include "watermark/signing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "test_util.h"

namespace {

ds::OwnerKey small_key(int64_t seed) {
  torch::manual_seed(uint64_t(seed));
  ds::OwnerKey k;
  k.input_shape = {1, 4, 4};
  k.num_classes = 3;
  k.meta = ds::Json{{"created_by", "test"}};
  ds::BlackboxKey b;
  b.stage = "final";
  b.keys_wanted = 4;
  b.inputs = torch::rand({4, 1, 4, 4});
  b.labels = torch::randint(0, 3, {4}, torch::kInt64);
  b.base_predictions = (b.labels + 1) % 3;
  k.blackbox = b;
  return k;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(Signing, OwnerIdentityIsPrivateAndNeverOverwritten) {
  ds::testing::TempDir dir;
  ds::init_owner(dir.file("owner"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("owner").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ds::OwnerIdentity id = ds::read_owner_secret(dir.file("owner"));
  EXPECT_EQ(id.public_key.size(), 32u);
  EXPECT_EQ(ds::read_owner_public(dir.file("owner.pub")), id.public_key);
  EXPECT_THROW(ds::init_owner(dir.file("owner")), ds::InputError);
  ::chmod(dir.file("owner").c_str(), 0644);
  EXPECT_THROW(ds::read_owner_secret(dir.file("owner")), ds::InputError);
}

TEST(Signing, SignedKeyVerifiesAndForgeriesAreRefused) {
  ds::testing::TempDir dir;
  ds::init_owner(dir.file("owner"));
  ds::init_owner(dir.file("thief"));
  ds::OwnerIdentity owner = ds::read_owner_secret(dir.file("owner"));
  ds::OwnerIdentity thief = ds::read_owner_secret(dir.file("thief"));

  ds::OwnerKey key = small_key(1);
  ds::sign_key(key, owner);
  ds::write_key(key, dir.file("k.key"));
  ds::write_file_atomically(dir.file("c.json"), ds::make_commitment(key, dir.file("k.key")).dump());
  ds::OwnerKey back = ds::read_key(dir.file("k.key"));
  ds::Json checks = ds::check_key_trust(back, dir.file("k.key"), dir.file("c.json"), dir.file("owner.pub"));
  EXPECT_EQ(checks["signature"], "valid");
  EXPECT_EQ(checks["commitment"], "matches");
  EXPECT_EQ(checks["owner"], "matches");
  // Unsigned keys are scored but say so.
  ds::OwnerKey plain = small_key(1);
  ds::write_key(plain, dir.file("plain.key"));
  EXPECT_EQ(ds::check_key_trust(ds::read_key(dir.file("plain.key")), dir.file("plain.key"), "", "")["signature"],
            "unsigned");
  EXPECT_THROW(ds::check_key_trust(plain, dir.file("plain.key"), "", dir.file("owner.pub")), ds::InputError);

  // A forger edits the signed key's labels and rewrites it: the content hash is fresh, but the
  // owner's signature no longer verifies.
  ds::OwnerKey forged = back;
  forged.blackbox->labels = (forged.blackbox->labels + 1) % 3;
  ds::write_key(forged, dir.file("forged.key"));
  ds::OwnerKey forged_back = ds::read_key(dir.file("forged.key"));
  EXPECT_THROW(ds::check_key_trust(forged_back, dir.file("forged.key"), "", ""), ds::InputError);
  // Re-signed by the thief: valid signature, but not the owner's, and not the committed key.
  ds::sign_key(forged, thief);
  ds::write_key(forged, dir.file("thief.key"));
  ds::OwnerKey thief_back = ds::read_key(dir.file("thief.key"));
  EXPECT_EQ(ds::check_key_trust(thief_back, dir.file("thief.key"), "", "")["signature"], "valid");
  EXPECT_THROW(ds::check_key_trust(thief_back, dir.file("thief.key"), "", dir.file("owner.pub")),
               ds::InputError);
  EXPECT_THROW(ds::check_key_trust(thief_back, dir.file("thief.key"), dir.file("c.json"), ""),
               ds::InputError);
  // A commitment whose signature was tampered with is refused.
  ds::Json c = ds::Json::parse(ds::read_file(dir.file("c.json")));
  std::string sig = c["signature"];
  sig[0] = sig[0] == '0' ? '1' : '0';
  c["signature"] = sig;
  write_text(dir.file("bad.json"), c.dump());
  EXPECT_THROW(ds::check_key_trust(back, dir.file("k.key"), dir.file("bad.json"), ""), ds::InputError);
}

TEST(Signing, EveryBitFlipOfAKeyFileIsRefused) {
  ds::testing::TempDir dir;
  ds::init_owner(dir.file("owner"));
  ds::OwnerKey key = small_key(2);
  ds::sign_key(key, ds::read_owner_secret(dir.file("owner")));
  ds::write_key(key, dir.file("k.key"));
  const std::string bytes = ds::read_file(dir.file("k.key"));
  // Every bit of every byte, one at a time.
  int refused = 0, tried = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = char(flipped[i] ^ (1 << bit));
      write_text(dir.file("f.key"), flipped);
      ++tried;
      try {
        ds::read_key(dir.file("f.key"));
      } catch (const ds::InputError&) {
        ++refused;
      }
    }
  }
  EXPECT_EQ(refused, tried) << "of " << bytes.size() << " bytes";
}
