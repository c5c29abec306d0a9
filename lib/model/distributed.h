// Data-parallel training on LibTorch's distributed engine (c10d, Gloo backend over a TCPStore).
//
// Every rank holds the whole model and the whole dataset and walks the same seeded order of
// global batches; each rank computes a contiguous slice of every global batch, the gradients
// are summed across ranks (bucketed all-reduce) and every rank takes the same optimizer step,
// so the ranks stay identical and the result equals one process on the global batch up to float
// summation order (for models without batch norm: like PyTorch's DDP without SyncBatchNorm,
// each rank normalises with its own slice's statistics; buffers are broadcast from rank 0 after
// each epoch). Rank 0 writes every output; the others write nothing.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ds {

struct DistributedSpec {
  int64_t world_size = 1;
  int64_t rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string device = "cpu";  // "cpu" or "cuda"
};

// --world-size, --rank, --master HOST:PORT and --device, for the tools that train.
void add_distributed_options(CLI::App& app, DistributedSpec& spec, std::string& master);

// Completes the spec from the flags, or else from torchrun's environment (WORLD_SIZE, RANK,
// MASTER_ADDR, MASTER_PORT), and checks it; throws InputError on a bad value.
DistributedSpec resolve_distributed(DistributedSpec flags, const std::string& master);

// Joins the process group (a no-op for one process). Waits up to `timeout_s` for the others.
void init_distributed(const DistributedSpec& spec, int timeout_s = 120);

bool distributed();      // more than one rank
int64_t world_size();
int64_t rank();
bool is_writer();        // rank 0 (or the only process): the one that writes outputs

// The slice [offset, offset + size) of a global batch of `global_size` samples this rank computes.
struct Slice {
  int64_t offset = 0, size = 0;
};
Slice batch_slice(int64_t global_size);
Slice batch_slice(int64_t global_size, int64_t world, int64_t rank);  // the same, for any rank

// Sums every parameter's gradient across ranks in place (buckets of about 16 MB, all in flight
// at once). Undefined gradients count as zero. Adds the seconds spent to a running total.
void allreduce_gradients(const std::vector<torch::Tensor>& params);
// Sums a small vector of doubles across ranks.
std::vector<double> allreduce_sum(const std::vector<double>& values);
// Copies rank 0's tensors (parameters, buffers) to every rank, in place.
void broadcast_from_writer(const std::vector<torch::Tensor>& tensors);
// All ranks agree that they got here without failing (an all-reduce of a flag); throws when any
// rank reports failure or is gone.
void agree_ok();
double communication_seconds();  // total time in the collectives above

// Seeds torch's global generator (dropout masks) for training: with `seed` in one process, and
// with a per-rank seed derived from it in a data-parallel run, so ranks draw different masks.
void seed_training_generator(uint64_t seed);

}  // namespace ds
