// Data-parallel plumbing that needs no second process: batch slices cover each global batch
// exactly once, and the rank/world/master settings come from flags, else from torchrun's
// environment, with bad values refused.
#include "model/distributed.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/errors.h"

namespace {

struct EnvGuard {
  EnvGuard() { clear(); }
  ~EnvGuard() { clear(); }
  static void clear() {
    for (const char* n : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(n);
  }
};

}  // namespace

TEST(Distributed, SlicesPartitionEveryBatch) {
  for (int64_t world : {1, 2, 3, 4, 7}) {
    for (int64_t global : {0, 1, 2, 5, 96, 128, 129}) {
      int64_t next = 0;
      for (int64_t r = 0; r < world; ++r) {
        ds::Slice s = ds::batch_slice(global, world, r);
        EXPECT_EQ(s.offset, next) << global << " over " << world;
        EXPECT_GE(s.size, global / world);
        EXPECT_LE(s.size, global / world + 1);
        next += s.size;
      }
      EXPECT_EQ(next, global);
    }
  }
}

TEST(Distributed, FlagsThenEnvironment) {
  EnvGuard env;
  ds::DistributedSpec flags;
  ds::DistributedSpec one = ds::resolve_distributed(flags, "");
  EXPECT_EQ(one.world_size, 1);
  EXPECT_EQ(one.rank, 0);
  EXPECT_EQ(one.master_addr, "127.0.0.1");
  EXPECT_EQ(one.master_port, 29500);

  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "3", 1);
  setenv("MASTER_ADDR", "10.0.0.5", 1);
  setenv("MASTER_PORT", "1234", 1);
  ds::DistributedSpec from_env = ds::resolve_distributed(flags, "");
  EXPECT_EQ(from_env.world_size, 4);
  EXPECT_EQ(from_env.rank, 3);
  EXPECT_EQ(from_env.master_addr, "10.0.0.5");
  EXPECT_EQ(from_env.master_port, 1234);

  flags.world_size = 2;
  flags.rank = 1;
  ds::DistributedSpec from_flags = ds::resolve_distributed(flags, "host-a:4321");
  EXPECT_EQ(from_flags.world_size, 2);
  EXPECT_EQ(from_flags.rank, 1);
  EXPECT_EQ(from_flags.master_addr, "host-a");
  EXPECT_EQ(from_flags.master_port, 4321);
}

TEST(Distributed, BadSettingsAreRefused) {
  EnvGuard env;
  ds::DistributedSpec s;
  s.world_size = 2;
  s.rank = 2;
  EXPECT_THROW(ds::resolve_distributed(s, ""), ds::InputError);
  s.rank = 0;
  EXPECT_THROW(ds::resolve_distributed(s, "nohostport"), ds::InputError);
  EXPECT_THROW(ds::resolve_distributed(s, "host:99999"), ds::InputError);
  EXPECT_THROW(ds::resolve_distributed(s, "host:12ab"), ds::InputError);
  s.world_size = 0;
  EXPECT_THROW(ds::resolve_distributed(s, ""), ds::InputError);
  ds::DistributedSpec d;
  d.device = "tpu";
  EXPECT_THROW(ds::resolve_distributed(d, ""), ds::InputError);
  setenv("WORLD_SIZE", "two", 1);
  EXPECT_THROW(ds::resolve_distributed(ds::DistributedSpec{}, ""), ds::InputError);
}

TEST(Distributed, CudaIsAClearErrorWithoutCuda) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this LibTorch has CUDA";
  EnvGuard env;
  ds::DistributedSpec d;
  d.device = "cuda";
  try {
    ds::resolve_distributed(d, "");
    FAIL() << "no error";
  } catch (const ds::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("without CUDA"), std::string::npos) << e.what();
  }
}
