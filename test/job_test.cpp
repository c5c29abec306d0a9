// The job skeleton: the report it completes and writes, and all-or-nothing outputs.
#include "core/job.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/errors.h"
#include "test_util.h"

namespace {

using ds::testing::TempDir;

struct FakeResult : ds::JobResult {
  int value = 0;
  ds::Json to_json() const override { return ds::Json{{"value", value}, {"timings", {{"x", 1}}}}; }
  std::vector<std::string> summary() const override { return {"value " + std::to_string(value)}; }
};

TEST(Job, CompletesAndWritesTheReport) {
  TempDir dir;
  FakeResult r = ds::run_job("ds-test", dir.file("r.json"), [] {
    FakeResult f;
    f.value = 7;
    return f;
  });
  ds::Json on_disk = ds::read_json_file(dir.file("r.json"));
  EXPECT_EQ(on_disk, r.report);
  EXPECT_EQ(on_disk["tool"], "ds-test");
  EXPECT_EQ(on_disk["value"], 7);
  EXPECT_EQ(on_disk["timings"]["x"], 1);  // the job's own timings are kept beside the total
  EXPECT_GE(on_disk["timings"]["total_seconds"].get<double>(), 0.0);
  EXPECT_GT(on_disk["peak_rss_mib"].get<double>(), 0.0);
}

TEST(Job, NoReportPathWritesNothingButCompletesTheReport) {
  FakeResult r = ds::run_job("ds-test", "", [] { return FakeResult{}; });
  EXPECT_EQ(r.report["tool"], "ds-test");
}

TEST(Job, ARankThatDoesNotWriteLeavesNoReport) {
  TempDir dir;
  FakeResult r = ds::run_job("ds-test", dir.file("r.json"), [] {
    FakeResult f;
    f.write_report = false;
    return f;
  });
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.json")));
  EXPECT_TRUE(r.report.is_null());
}

TEST(Job, OutputsAreRemovedWhenTheReportCannotBeWritten) {
  TempDir dir;
  std::string out = dir.file("model.pt");
  std::ofstream(out) << "written";
  EXPECT_ANY_THROW(ds::run_job("ds-test", dir.file("no/such/folder/r.json"), [&] {
    FakeResult f;
    f.outputs = {out};
    return f;
  }));
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
