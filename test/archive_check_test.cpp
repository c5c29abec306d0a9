// The inputs fuzzing found crashing LibTorch's readers or our own (test/fuzz/corpus/*/fixed-*)
// are refused with an InputError; valid archives pass the structural checks.
#include "data/archive_check.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "data/data_spec.h"
#include "data/readers.h"
#include "jobs/verify_job.h"
#include "watermark/key_file.h"

namespace fs = std::filesystem;

namespace {
std::vector<std::string> fixed_inputs(const std::string& target) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(std::string(DS_SOURCE_DIR) + "/test/fuzz/corpus/" + target)) {
    if (e.path().filename().string().rfind("fixed-", 0) == 0) out.push_back(e.path().string());
  }
  return out;
}
}  // namespace

TEST(ArchiveCheck, FuzzFindingsAreRefused) {
  size_t n = 0;
  for (const auto& p : fixed_inputs("key")) {
    EXPECT_THROW(ds::read_key(p), ds::InputError) << p;
    ++n;
  }
  for (const auto& p : fixed_inputs("tensor_file")) {
    EXPECT_THROW(ds::load_tensor_file(p), ds::InputError) << p;
    ++n;
  }
  for (const auto& p : fixed_inputs("predictions")) {
    EXPECT_THROW(ds::read_predictions(p, 32, 10), ds::InputError) << p;
    ++n;
  }
  EXPECT_GE(n, 3u);
}

TEST(ArchiveCheck, ValidArchivesPass) {
  const std::string dir = std::string(DS_SOURCE_DIR) + "/test/fuzz/corpus/";
  for (const char* f : {"key/whitebox.key", "key/signed-candidates.key", "tensor_file/three-4x4.pt"}) {
    EXPECT_NO_THROW(ds::check_pickle_archive(ds::read_file(dir + f), f)) << f;
  }
  EXPECT_NO_THROW(ds::check_zip_archive(ds::read_file(std::string(DS_SOURCE_DIR) + "/data/malformed/model-4x4-fc1w8.pt"), "m"));
  // A stored record claiming more bytes than the file holds.
  std::string key = ds::read_file(dir + "key/whitebox.key");
  std::string bad = key;
  size_t cd = bad.rfind(std::string("PK\x01\x02", 4));
  ASSERT_NE(cd, std::string::npos);
  bad[cd + 20] = char(0xff), bad[cd + 21] = char(0xff), bad[cd + 22] = char(0xff);
  EXPECT_THROW(ds::check_zip_archive(bad, "bad"), ds::InputError);
}

TEST(ArchiveCheck, RecordNamesMustBeUniqueAndAgree) {
  // A record renamed to another's name: the storage check would size one record while
  // LibTorch's reader (miniz: binary search, case-insensitive) may load the other.
  const std::string dir = std::string(DS_SOURCE_DIR) + "/test/fuzz/corpus/key/";
  auto message = [](const std::string& path) {
    try {
      ds::check_pickle_archive(ds::read_file(path), path);
    } catch (const ds::InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message(dir + "duplicate-record-name.key").find("two records named 'archive/data/1'"),
            std::string::npos);
  EXPECT_NE(message(dir + "central-name-flip.key").find("local and central names differ"),
            std::string::npos);
}
