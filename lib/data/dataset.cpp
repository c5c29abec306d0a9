// Seeded subsets, splits and statistics of datasets, in memory or streamed.
#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/errors.h"
#include "data/sample_source.h"

namespace ds {

std::vector<int64_t> Dataset::sample_shape() const {
  if (streamed()) return stream->sample_shape();
  auto s = images.sizes();
  return std::vector<int64_t>(s.begin() + 1, s.end());
}

torch::Tensor Dataset::images_at(const torch::Tensor& idx) const {
  if (streamed()) return stream->load(rows.index_select(0, idx));
  return images.index_select(0, idx);
}

torch::Tensor Dataset::images_range(int64_t start, int64_t len) const {
  if (streamed()) return stream->load(rows.narrow(0, start, len));
  return images.narrow(0, start, len);
}

Dataset in_memory(const Dataset& d) {
  if (!d.streamed()) return d;
  Dataset out = d;
  out.images = d.size() > 0 ? d.images_range(0, d.size()) : torch::Tensor();
  out.stream.reset();
  out.rows = torch::Tensor();
  return out;
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = int64_t(rng() % uint64_t(i + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

Dataset take(const Dataset& d, const torch::Tensor& indices) {
  Dataset out;
  if (d.streamed()) {
    out.stream = d.stream;
    out.rows = d.rows.index_select(0, indices);
  } else {
    out.images = d.images.index_select(0, indices);
  }
  out.labels = d.labels.index_select(0, indices);
  out.num_classes = d.num_classes;
  out.source = d.source;
  return out;
}

namespace {
std::vector<int64_t> first_k_sorted(const std::vector<int64_t>& perm, int64_t k) {
  std::vector<int64_t> idx(perm.begin(), perm.begin() + k);
  std::sort(idx.begin(), idx.end());
  return idx;
}
torch::Tensor as_tensor(const std::vector<int64_t>& idx) { return torch::tensor(idx, torch::kInt64); }
}  // namespace

std::vector<int64_t> subset_indices(int64_t n, double fraction, uint64_t seed) {
  if (fraction >= 1.0) {
    std::vector<int64_t> all(size_t(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
    return all;
  }
  int64_t k = std::max<int64_t>(1, int64_t(std::llround(fraction * double(n))));
  return first_k_sorted(seeded_permutation(n, seed), k);
}

Dataset subset(const Dataset& d, double fraction, uint64_t seed) {
  if (fraction >= 1.0) return d;
  return take(d, as_tensor(subset_indices(d.size(), fraction, seed)));
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n,
                                                                    double holdout_fraction,
                                                                    uint64_t seed,
                                                                    const std::string& source) {
  int64_t k = int64_t(std::llround(holdout_fraction * double(n)));
  if (k < 1 || k >= n) {
    fail_input(source, "cannot hold out " + std::to_string(holdout_fraction) + " of " +
                           std::to_string(n) + " samples as a test set");
  }
  auto perm = seeded_permutation(n, seed);
  std::vector<int64_t> rest(perm.begin() + k, perm.end());
  std::sort(rest.begin(), rest.end());
  return {rest, first_k_sorted(perm, k)};
}

std::pair<Dataset, Dataset> split(const Dataset& d, double holdout_fraction, uint64_t seed) {
  auto [rest, held] = split_indices(d.size(), holdout_fraction, seed, d.source);
  return {take(d, as_tensor(rest)), take(d, as_tensor(held))};
}

ChannelSums channel_sums(const Dataset& d, int64_t part, int64_t parts) {
  // Chunked, with double accumulators: no full-size temporary copy of the images.
  int64_t channels = d.sample_shape().at(0);
  ChannelSums out;
  out.sum.assign(size_t(channels), 0.0);
  out.sumsq.assign(size_t(channels), 0.0);
  // 4096 Fashion-MNIST-sized samples (25 MB as doubles) per chunk; fewer of larger ones, so a
  // streamed set of big images never holds much more than that.
  int64_t numel = 1;
  for (int64_t v : d.sample_shape()) numel *= v;
  const int64_t chunk = std::max<int64_t>(1, 4096 * 784 / std::max<int64_t>(numel, 784));
  for (int64_t s = 0, k = 0; s < d.size(); s += chunk, ++k) {
    if (k % parts != part) continue;
    torch::Tensor x = d.images_range(s, std::min(chunk, d.size() - s)).to(torch::kFloat64);
    torch::Tensor per_channel = x.transpose(0, 1).reshape({channels, -1});
    torch::Tensor s1 = per_channel.sum(1), s2 = per_channel.pow(2).sum(1);
    for (int64_t c = 0; c < channels; ++c) {
      out.sum[size_t(c)] += s1[c].item<double>();
      out.sumsq[size_t(c)] += s2[c].item<double>();
    }
  }
  return out;
}

ChannelStats channel_stats(const Dataset& d, const ChannelSums& sums) {
  double n = double(d.size());
  for (size_t i = 1; i < d.sample_shape().size(); ++i) n *= double(d.sample_shape()[i]);
  ChannelStats stats;
  for (size_t c = 0; c < sums.sum.size(); ++c) {
    double mean = sums.sum[c] / n;
    double var = std::max(0.0, (sums.sumsq[c] - n * mean * mean) / std::max(1.0, n - 1));
    stats.mean.push_back(mean);
    stats.std.push_back(std::max(std::sqrt(var), 1e-6));
  }
  return stats;
}

ChannelStats channel_stats(const Dataset& d) { return channel_stats(d, channel_sums(d, 0, 1)); }

}  // namespace ds
