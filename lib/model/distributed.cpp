// c10d process group, batch slicing, bucketed gradient all-reduce.
#include "model/distributed.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>

#include "core/errors.h"
#include "core/runtime.h"

namespace ds {
namespace {

struct State {
  DistributedSpec spec;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  double comm_seconds = 0;
};

State& state() {
  static State s;
  return s;
}

constexpr int64_t kBucketElements = 4 << 20;  // 16 MB of float32

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int64_t parse_count(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw InputError(what + ": '" + text + "' is not an integer");
  }
}

void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (auto& w : works) {
    try {
      w->wait();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("a rank failed or left the run (") +
                               first_line(e.what()) + ")");
    }
  }
}

}  // namespace

void add_distributed_options(CLI::App& app, DistributedSpec& spec, std::string& master) {
  app.add_option("--world-size", spec.world_size,
                 "Processes in a data-parallel run (default: $WORLD_SIZE or 1)");
  app.add_option("--rank", spec.rank, "This process's rank, 0 .. world size - 1 (default: $RANK)");
  app.add_option("--master", master,
                 "HOST:PORT of rank 0's rendezvous (default: $MASTER_ADDR:$MASTER_PORT or "
                 "127.0.0.1:29500)");
  app.add_option("--device", spec.device, "cpu, or cuda where LibTorch was built with CUDA");
}

DistributedSpec resolve_distributed(DistributedSpec s, const std::string& master) {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  // Flags win over the environment; world size 1 (the default) means a single process.
  if (s.world_size == 1 && !env("WORLD_SIZE").empty()) {
    s.world_size = parse_count(env("WORLD_SIZE"), "WORLD_SIZE");
  }
  if (s.rank == 0 && !env("RANK").empty()) s.rank = parse_count(env("RANK"), "RANK");
  if (!master.empty()) {
    size_t colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      throw InputError("--master: '" + master + "' is not HOST:PORT");
    }
    s.master_addr = master.substr(0, colon);
    s.master_port = parse_count(master.substr(colon + 1), "--master port");
  } else {
    if (!env("MASTER_ADDR").empty()) s.master_addr = env("MASTER_ADDR");
    if (!env("MASTER_PORT").empty()) s.master_port = parse_count(env("MASTER_PORT"), "MASTER_PORT");
  }
  if (s.world_size < 1) throw InputError("world size must be at least 1");
  if (s.rank < 0 || s.rank >= s.world_size) {
    throw InputError("rank " + std::to_string(s.rank) + " is not in 0 .. " +
                     std::to_string(s.world_size - 1));
  }
  if (s.master_port < 1 || s.master_port > 65535) {
    throw InputError("master port " + std::to_string(s.master_port) + " is not in 1 .. 65535");
  }
  if (s.device != "cpu" && s.device != "cuda") {
    throw InputError("--device must be cpu or cuda, not '" + s.device + "'");
  }
  if (s.device == "cuda" && !torch::cuda::is_available()) {
    throw InputError("--device cuda: this LibTorch was built without CUDA or sees no GPU; use "
                     "--device cpu");
  }
  if (s.device == "cuda") {
    throw InputError("--device cuda: the tools run on the CPU only in this version");
  }
  return s;
}

void init_distributed(const DistributedSpec& spec, int timeout_s) {
  State& st = state();
  st.spec = spec;
  if (spec.world_size == 1) return;
  c10d::TCPStoreOptions opts;
  opts.port = uint16_t(spec.master_port);
  opts.isServer = spec.rank == 0;
  opts.numWorkers = size_t(spec.world_size);
  opts.waitWorkers = true;
  opts.timeout = std::chrono::seconds(timeout_s);
  try {
    st.store = c10::make_intrusive<c10d::TCPStore>(spec.master_addr, opts);
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(timeout_s));
    bool loopback = spec.master_addr == "127.0.0.1" || spec.master_addr == "localhost";
    options->devices.push_back(loopback
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    st.group = c10::make_intrusive<c10d::ProcessGroupGloo>(st.store, int(spec.rank),
                                                           int(spec.world_size), options);
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(spec.rank) + ": could not join the run at " +
                             spec.master_addr + ":" + std::to_string(spec.master_port) + " (" +
                             first_line(e.what()) + ")");
  }
  spdlog::info("rank {} of {} joined the run at {}:{}", spec.rank, spec.world_size,
               spec.master_addr, spec.master_port);
  // Rank 0 speaks for the run; the others report warnings and errors only.
  if (spec.rank != 0 && spdlog::get_level() < spdlog::level::warn) {
    spdlog::set_level(spdlog::level::warn);
  }
}

bool distributed() { return state().spec.world_size > 1; }
int64_t world_size() { return state().spec.world_size; }
int64_t rank() { return state().spec.rank; }
bool is_writer() { return state().spec.rank == 0; }

Slice batch_slice(int64_t global_size) { return batch_slice(global_size, world_size(), rank()); }

Slice batch_slice(int64_t global_size, int64_t w, int64_t r) {
  const int64_t base = global_size / w, extra = global_size % w;
  Slice s;
  s.size = base + (r < extra ? 1 : 0);
  s.offset = r * base + std::min(r, extra);
  return s;
}

void allreduce_gradients(const std::vector<torch::Tensor>& params) {
  if (!distributed()) return;
  Stopwatch clock;
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    torch::Tensor g = p.grad();
    if (!g.defined()) {
      p.mutable_grad() = torch::zeros_like(p);
      g = p.grad();
    }
    grads.push_back(g);
  }
  // Buckets of consecutive gradients, each flattened into one buffer.
  std::vector<std::vector<size_t>> members;
  std::vector<torch::Tensor> buffers;
  for (size_t i = 0; i < grads.size();) {
    std::vector<size_t> bucket;
    std::vector<torch::Tensor> flat;
    int64_t n = 0;
    while (i < grads.size() && (bucket.empty() || n + grads[i].numel() <= kBucketElements)) {
      bucket.push_back(i);
      flat.push_back(grads[i].reshape(-1));
      n += grads[i].numel();
      ++i;
    }
    members.push_back(bucket);
    buffers.push_back(torch::cat(flat));
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& b : buffers) {
    std::vector<torch::Tensor> one = {b};
    works.push_back(state().group->allreduce(one));
  }
  wait_all(works);
  for (size_t k = 0; k < buffers.size(); ++k) {
    int64_t at = 0;
    for (size_t i : members[k]) {
      int64_t n = grads[i].numel();
      grads[i].copy_(buffers[k].narrow(0, at, n).view_as(grads[i]));
      at += n;
    }
  }
  state().comm_seconds += clock.seconds();
}

std::vector<double> allreduce_sum(const std::vector<double>& values) {
  if (!distributed()) return values;
  Stopwatch clock;
  torch::Tensor t = torch::tensor(values, torch::kFloat64);
  std::vector<torch::Tensor> one = {t};
  std::vector<c10::intrusive_ptr<c10d::Work>> works = {state().group->allreduce(one)};
  wait_all(works);
  state().comm_seconds += clock.seconds();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

void broadcast_from_writer(const std::vector<torch::Tensor>& tensors) {
  if (!distributed()) return;
  Stopwatch clock;
  torch::NoGradGuard no_grad;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<torch::Tensor> staged;
  for (const auto& t : tensors) {
    // Gloo broadcasts contiguous dense tensors; integer buffers (batch counters) go as they are.
    torch::Tensor c = t.contiguous();
    staged.push_back(c);
    std::vector<torch::Tensor> one = {c};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    works.push_back(state().group->broadcast(one, opts));
  }
  wait_all(works);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!staged[i].is_same(tensors[i])) tensors[i].copy_(staged[i]);
  }
  state().comm_seconds += clock.seconds();
}

void agree_ok() {
  if (!distributed()) return;
  std::vector<double> got = allreduce_sum({1.0});
  if (got[0] != double(world_size())) throw std::runtime_error("not every rank finished");
}

double communication_seconds() { return state().comm_seconds; }

void seed_training_generator(uint64_t seed) {
  torch::manual_seed(distributed() ? mix_seed(seed, 7000 + uint64_t(rank())) : seed);
}

}  // namespace ds
