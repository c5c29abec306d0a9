// Keyed-region mark, key side: drawing the regions and the exact test of a suspect's answers.
#include "watermark/region_key.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/runtime.h"

namespace ds {

RegionKeySpec parse_region_key_spec(ConfigObject obj) {
  RegionKeySpec s;
  s.regions = obj.get_positive_int("regions", s.regions);
  s.fraction = obj.get_fraction("fraction", s.fraction, false);
  if (s.fraction > 0.2) obj.fail("fraction", "must be at most 0.2: it is the guard's accuracy cost");
  s.grid = obj.get_positive_int("grid", s.grid);
  s.per_region = obj.get_positive_int("per_region", s.per_region);
  s.exclude_share = obj.get_fraction("exclude_share", s.exclude_share, false);
  s.verify_from = obj.get_choice("verify_from", s.verify_from, {"train", "test"});
  obj.finish();
  return s;
}

Json region_key_spec_to_json(const RegionKeySpec& s) {
  return Json{{"regions", s.regions},
              {"fraction", s.fraction},
              {"grid", s.grid},
              {"per_region", s.per_region},
              {"exclude_share", s.exclude_share},
              {"verify_from", s.verify_from}};
}

namespace {

// K smooth zero-mean unit directions: Gaussian grids upsampled to the input size, so that a
// region is a property of an image's layout, not of single pixels a filter would change.
torch::Tensor smooth_directions(int64_t k, const std::vector<int64_t>& shape, int64_t grid,
                                uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  torch::Tensor g = torch::randn({k, shape[0], grid, grid}, gen, torch::kFloat32);
  namespace F = torch::nn::functional;
  torch::Tensor d = F::interpolate(g, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{shape[1], shape[2]})
                                          .mode(torch::kBilinear)
                                          .align_corners(false))
                        .flatten(1);
  d = d - d.mean(1, true);
  return (d / d.norm(2, 1, true)).contiguous();
}

torch::Tensor projections(const RegionKey& key, const torch::Tensor& inputs) {
  return torch::matmul(inputs.flatten(1).to(torch::kFloat32) - key.centre, key.directions.t());
}

// The region of each row of projections `p`: the first whose threshold it exceeds, -1 for none.
torch::Tensor first_region(const torch::Tensor& p, const torch::Tensor& thresholds) {
  torch::Tensor hit = p.gt(thresholds);
  // First hit wins: weight hits by descending priority and take the largest.
  torch::Tensor priority = torch::arange(p.size(1), 0, -1, torch::kInt64);
  torch::Tensor first = (hit.to(torch::kInt64) * priority).argmax(1);
  return torch::where(hit.any(1), first, torch::full_like(first, -1));
}

// The classes common in each region (the most common, and any with at least `share` of the
// owner's inputs there, leaving two or more allowed), and a target drawn from the rest.
// `in`: the region of each of the owner's training inputs.
void draw_targets(RegionKey& key, const Dataset& train, const torch::Tensor& in, double share,
                  uint64_t seed) {
  int64_t k = key.regions(), classes = train.num_classes;
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<int64_t> excluded(size_t(k * classes), 0), targets(k);
  for (int64_t r = 0; r < k; ++r) {
    torch::Tensor labels = train.labels.index({in.eq(r)});
    if (labels.numel() == 0) throw InputError("a keyed region holds none of the owner's inputs");
    torch::Tensor counts = torch::bincount(labels, {}, classes).to(torch::kFloat64);
    torch::Tensor order = counts.argsort(0, true);
    int64_t* row = excluded.data() + r * classes;
    for (int64_t i = 0; i < classes - 2; ++i) {
      int64_t c = order[i].item<int64_t>();
      if (i > 0 && counts[c].item<double>() < share * double(labels.numel())) break;
      row[c] = 1;
    }
    std::vector<int64_t> allowed;
    for (int64_t c = 0; c < classes; ++c) {
      if (row[c] == 0) allowed.push_back(c);
    }
    targets[r] = allowed[size_t(torch::randint(int64_t(allowed.size()), {1}, gen).item<int64_t>())];
  }
  key.excluded = torch::tensor(excluded, torch::kInt64).reshape({k, classes});
  key.targets = torch::tensor(targets, torch::kInt64);
}

// The inputs deepest inside each region (largest margin over the threshold), given their
// projections `p` and regions `in`.
void pick_verification_inputs(RegionKey& key, const Dataset& from, const torch::Tensor& p,
                              const torch::Tensor& in, int64_t per_region) {
  torch::Tensor margin = p - key.thresholds;
  std::vector<torch::Tensor> picked, regions;
  for (int64_t r = 0; r < key.regions(); ++r) {
    torch::Tensor idx = in.eq(r).nonzero().flatten();
    if (idx.numel() == 0) continue;
    torch::Tensor order = margin.index({idx, r}).argsort(0, true);
    idx = idx.index({order.slice(0, 0, per_region)});
    picked.push_back(idx);
    regions.push_back(torch::full({idx.numel()}, r, torch::kInt64));
  }
  if (picked.empty()) throw InputError("no input falls in any keyed region: raise 'fraction'");
  torch::Tensor idx = torch::cat(picked);
  key.inputs = from.images.index({idx}).contiguous();
  key.input_regions = torch::cat(regions);
}

}  // namespace

RegionKey make_region_key(const RegionKeySpec& spec, const DataSplits& data, uint64_t key_seed) {
  const Dataset& train = data.train;
  if (train.num_classes < 3) throw InputError("keyed regions need at least three classes");
  RegionKey key;
  key.fraction = spec.fraction;
  key.centre = train.images.flatten(1).mean(0).contiguous();
  key.directions =
      smooth_directions(spec.regions, train.sample_shape(), spec.grid, mix_seed(key_seed, 401));
  // The training inputs' projections serve the thresholds, the targets and, by default, the
  // verification inputs.
  torch::Tensor p = projections(key, train.images);
  double q = 1.0 - spec.fraction / double(spec.regions);
  int64_t rank = int64_t(std::floor(q * double(p.size(0) - 1)));
  key.thresholds = std::get<0>(p.sort(0)).select(0, rank).contiguous();
  torch::Tensor in = first_region(p, key.thresholds);
  draw_targets(key, train, in, spec.exclude_share, mix_seed(key_seed, 402));
  if (spec.verify_from == "test") {
    p = projections(key, data.test.images);
    in = first_region(p, key.thresholds);
  }
  pick_verification_inputs(key, spec.verify_from == "test" ? data.test : train, p, in,
                           spec.per_region);
  return key;
}

torch::Tensor region_of(const RegionKey& key, const torch::Tensor& inputs) {
  return first_region(projections(key, inputs), key.thresholds);
}

RegionPlacement place_in_regions(const RegionKey& key, const torch::Tensor& inputs) {
  torch::Tensor p = projections(key, inputs);
  return {first_region(p, key.thresholds), std::get<0>((p - key.thresholds).max(1))};
}

RegionDecision decide_regions(const RegionKey& key, int64_t num_classes,
                              const torch::Tensor& answers) {
  RegionDecision d;
  d.queries = key.size();
  torch::Tensor regions = key.input_regions;
  torch::Tensor counts = torch::zeros({key.regions(), num_classes}, torch::kInt64);
  counts.index_put_({regions, answers.clamp(0, num_classes - 1)},
                    torch::ones({d.queries}, torch::kInt64), true);
  // Distribution of the match count for targets drawn at random: one convolution per region.
  std::vector<double> dist{1.0};
  for (int64_t r = 0; r < key.regions(); ++r) {
    int64_t target = key.targets[r].item<int64_t>();
    int64_t own = counts[r][target].item<int64_t>(), best = 0;
    int64_t allowed = num_classes - key.excluded[r].sum().item<int64_t>();
    d.matches += own;
    std::vector<double> next(dist.size() + size_t(counts[r].sum().item<int64_t>()), 0.0);
    for (int64_t c = 0; c < num_classes; ++c) {
      if (key.excluded[r][c].item<int64_t>() != 0) continue;
      int64_t m = counts[r][c].item<int64_t>();
      if (c != target) best = std::max(best, m);
      for (size_t s = 0; s < dist.size(); ++s) next[s + size_t(m)] += dist[s] / double(allowed);
    }
    if (own > best) ++d.regions_hit;
    dist.swap(next);
  }
  double tail = 0;
  for (size_t s = size_t(d.matches); s < dist.size(); ++s) tail += dist[s];
  d.p_value = std::min(1.0, tail);
  d.log10_p_value = std::log10(std::max(d.p_value, 1e-300));
  return d;
}

}  // namespace ds
