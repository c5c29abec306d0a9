// Many suspects against one key (see verify_many.h).
#include "jobs/verify_many.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/errors.h"
#include "core/files.h"
#include "core/report.h"
#include "core/runtime.h"
#include "model/model_io.h"

namespace ds {

std::vector<std::string> suspect_paths(const std::vector<std::string>& models,
                                       const std::string& list_path) {
  std::vector<std::string> paths = models;
  if (list_path.empty()) return paths;
  std::ifstream in(list_path);
  if (!in) fail_input(list_path, "cannot read the list of suspect models");
  size_t listed = 0;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(line);
    ++listed;
  }
  if (listed == 0) fail_input(list_path, "lists no suspect model");
  return paths;
}

namespace {

// One suspect's line: its verdict and p-values, or why it could not be checked.
Json verify_one(const std::string& path, const OwnerKey& key, const std::string& key_path,
                double alpha) {
  Json line{{"path", path}};
  try {
    LoadedModel model = load_model(path);
    line["sha256"] = model.sha256;
    if (!model.info.empty() && model.input_shape() != key.input_shape) {
      fail_input(path, "takes inputs " + Json(model.input_shape()).dump() + ", the key " +
                           key_path + " was made for " + Json(key.input_shape).dump());
    }
    OwnershipVerdict v = decide_ownership(&model.module, path, key, torch::Tensor(), alpha);
    line["verdict"] = v.verified ? "proven" : "not proven";
    line["p_value"] = v.p_value;
    line["log10_p_value"] = v.log10_p_value;
    if (v.whitebox && v.whitebox->checked) {
      line["parts"]["whitebox"] = v.whitebox->extraction.p_value;
    }
    if (v.blackbox) line["parts"]["blackbox"] = v.blackbox->decision.p_value;
    if (v.regions) line["parts"]["regions"] = v.regions->decision.p_value;
  } catch (const std::exception& e) {
    line["verdict"] = "error";
    line["error"] = e.what();
  }
  return line;
}

int worker_count(int jobs, size_t suspects) {
  if (jobs < 0) throw InputError("--jobs must be 0 (one per core) or more");
  int n = jobs > 0 ? jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  return int(std::min<size_t>(size_t(n), std::max<size_t>(suspects, 1)));
}

// Runs work(0..count-1) on `workers` threads and hands each result to `done` in index order, on
// the calling thread, as soon as it and every earlier one are ready. Each suspect is computed on
// one thread with one intra-op thread, as when verified alone, so its line is the same for any
// worker count.
void for_each_in_order(int64_t count, int workers, const std::function<Json(int64_t)>& work,
                       const std::function<void(Json)>& done) {
  std::vector<std::optional<Json>> results(static_cast<size_t>(count));
  std::mutex m;
  std::condition_variable ready;
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (int64_t i; (i = next++) < count;) {
        Json line = work(i);
        std::lock_guard<std::mutex> lock(m);
        results[size_t(i)] = std::move(line);
        ready.notify_one();
      }
    });
  }
  auto join = [&] {
    for (std::thread& t : pool) t.join();
  };
  try {
    for (int64_t i = 0; i < count; ++i) {
      std::unique_lock<std::mutex> lock(m);
      ready.wait(lock, [&] { return results[size_t(i)].has_value(); });
      Json line = std::move(*results[size_t(i)]);
      results[size_t(i)].reset();
      lock.unlock();
      done(std::move(line));
    }
  } catch (...) {
    next = count;  // the workers stop after their current suspect
    join();
    throw;
  }
  join();
}

}  // namespace

Json VerifyManyResult::to_json() const {
  return Json{{"inputs", inputs},       {"alpha", alpha},         {"key_checks", key_checks},
              {"suspects", suspects},   {"proven", proven},       {"unreadable", unreadable},
              {"checked", int64_t(suspects.size())}};
}

std::vector<std::string> VerifyManyResult::summary() const {
  return {std::to_string(proven) + " of " + std::to_string(suspects.size()) +
          " suspects proven (" + std::to_string(unreadable) + " could not be read)"};
}

VerifyManyResult verify_many(const VerifyJob& job, const std::vector<std::string>& suspects,
                             std::ostream& out) {
  if (!(job.alpha > 0 && job.alpha < 1)) throw InputError("--alpha must be in (0, 1)");
  if (!job.predictions_path.empty()) throw InputError("--predictions checks one remote model");
  if (suspects.empty()) throw InputError("give --model or --models-from");
  return run_job("ds-verify", job.report_path, [&] {
    set_threads(1);
    VerifyManyResult r;
    r.alpha = job.alpha;
    const OwnerKey key = read_trusted_key(job, r.inputs, r.key_checks);
    for_each_in_order(
        int64_t(suspects.size()), worker_count(job.jobs, suspects.size()),
        [&](int64_t i) { return verify_one(suspects[size_t(i)], key, job.key_path, job.alpha); },
        [&](Json line) {
          r.proven += line["verdict"] == "proven";
          r.unreadable += line["verdict"] == "error";
          out << line.dump() << std::endl;
          r.suspects.push_back(std::move(line));
        });
    return r;
  });
}

}  // namespace ds
