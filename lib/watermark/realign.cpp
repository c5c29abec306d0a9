// Profile matching: correlations, Hungarian assignment, per-unit scales, layer search.
#include "watermark/realign.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "model/zoo.h"

namespace ds {

std::vector<int64_t> min_cost_assignment(const torch::Tensor& cost_in) {
  torch::Tensor cost = cost_in.to(torch::kFloat64).contiguous();
  const int64_t n = cost.size(0), m = cost.size(1);
  if (n > m) throw std::invalid_argument("assignment needs rows <= columns");
  auto a = cost.accessor<double, 2>();
  const double inf = std::numeric_limits<double>::infinity();
  // Shortest augmenting paths on potentials u (rows), v (columns); p[j]: row matched to column
  // j (1-based, 0 = none). Each row starts at its own minimum (u = row minimum, v = 0: feasible,
  // and v stays 0 on unmatched columns, as a rectangular problem needs), and takes its cheapest
  // column when no earlier row took it: that edge is tight, so the partial matching is optimal
  // for its rows. Only the rows that collided are augmented, one Dijkstra search each. A layer
  // whose units were only reordered has no collision; an unrelated one has about a third.
  std::vector<double> u(size_t(n + 1), 0), v(size_t(m + 1), 0);
  std::vector<int64_t> p(size_t(m + 1), 0), way(size_t(m + 1), 0), pending;
  for (int64_t i = 1; i <= n; ++i) {
    int64_t arg = 0;
    for (int64_t j = 1; j < m; ++j) {
      if (a[i - 1][j] < a[i - 1][arg]) arg = j;
    }
    u[size_t(i)] = a[i - 1][arg];
    if (p[size_t(arg + 1)] == 0) {
      p[size_t(arg + 1)] = i;
    } else {
      pending.push_back(i);
    }
  }
  std::vector<double> minv(size_t(m + 1));
  std::vector<char> used(size_t(m + 1));
  for (int64_t i : pending) {
    p[0] = i;
    int64_t j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[size_t(j0)] = 1;
      int64_t i0 = p[size_t(j0)], j1 = 0;
      double delta = inf;
      for (int64_t j = 1; j <= m; ++j) {
        if (used[size_t(j)]) continue;
        double cur = a[i0 - 1][j - 1] - u[size_t(i0)] - v[size_t(j)];
        if (cur < minv[size_t(j)]) minv[size_t(j)] = cur, way[size_t(j)] = j0;
        if (minv[size_t(j)] < delta) delta = minv[size_t(j)], j1 = j;
      }
      for (int64_t j = 0; j <= m; ++j) {
        if (used[size_t(j)]) {
          u[size_t(p[size_t(j)])] += delta;
          v[size_t(j)] -= delta;
        } else {
          minv[size_t(j)] -= delta;
        }
      }
      j0 = j1;
    } while (p[size_t(j0)] != 0);
    do {
      int64_t j1 = way[size_t(j0)];
      p[size_t(j0)] = p[size_t(j1)];
      j0 = j1;
    } while (j0);
  }
  std::vector<int64_t> col_of(size_t(n), -1);
  for (int64_t j = 1; j <= m; ++j) {
    if (p[size_t(j)] > 0) col_of[size_t(p[size_t(j)] - 1)] = j - 1;
  }
  return col_of;
}

Json Alignment::to_json() const {
  Json c = Json::object();
  for (const auto& kv : candidates) c[kv.first] = kv.second;
  Json j{{"layer", layer},           {"width", width},
         {"units_matched", matched}, {"mean_correlation", mean_correlation},
         {"identity", identity},     {"candidates", c}};
  if (!bounded.empty()) j["bounded"] = bounded;
  return j;
}

namespace {

// Columns centred and scaled to unit norm; constant columns become 0.
torch::Tensor standardise(const torch::Tensor& x) {
  torch::Tensor c = x - x.mean(0, true);
  torch::Tensor norm = c.norm(2, 0, true);
  return torch::where(norm > 1e-8, c / norm.clamp_min(1e-8), torch::zeros_like(c));
}

// The median root-mean-square activation of the reference's live units (0 when none).
double median_live_rms(const torch::Tensor& ref_rms, const torch::Tensor& live) {
  std::vector<double> v;
  auto rms = ref_rms.accessor<double, 1>();
  auto is_live = live.accessor<bool, 1>();
  for (int64_t i = 0; i < ref_rms.size(0); ++i) {
    if (is_live[i]) v.push_back(rms[i]);
  }
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

torch::Tensor unit_rms(const torch::Tensor& acts) { return acts.pow(2).mean(0).sqrt(); }

// The reference's side of every match, the same for each tap: its standardised columns, each
// unit's RMS activation, its live units and their median RMS.
struct ReferenceProfile {
  torch::Tensor standardised, rms, live;
  int64_t live_count = 0;
  double median_rms = 0;
};

ReferenceProfile profile_reference(const torch::Tensor& reference) {
  torch::Tensor ref = reference.to(torch::kFloat64);
  ReferenceProfile r{standardise(ref), unit_rms(ref), {}, 0, 0};
  r.live = ref.std(0).gt(1e-6 * std::max(1e-12, r.rms.max().item<double>()));
  r.live_count = r.live.sum().item<int64_t>();
  r.median_rms = median_live_rms(r.rms, r.live);
  return r;
}

// A suspect tap's profile against the reference: unit correlations (W x W') and an upper bound
// on the mean correlation any matching of the live units reaches (each one's best correlation
// with any suspect unit).
struct TapProfile {
  std::string name;
  torch::Tensor suspect, corr;
  double bound = 0;
};

TapProfile profile_tap(const std::string& name, const ReferenceProfile& ref,
                       const torch::Tensor& suspect) {
  TapProfile t{name, suspect.to(torch::kFloat64), {}, 0};
  t.corr = torch::matmul(ref.standardised.t(), standardise(t.suspect));
  if (ref.live_count > 0) {
    torch::Tensor best = std::get<0>(t.corr.max(1)).masked_select(ref.live);
    t.bound = best.sum().item<double>() / double(ref.live_count);
  }
  return t;
}

Alignment match_layer(const ReferenceProfile& ref, const TapProfile& tap) {
  const int64_t w = ref.rms.size(0);
  Alignment a;
  a.layer = tap.name;
  a.width = tap.suspect.size(1);
  const torch::Tensor& corr = tap.corr;
  std::vector<int64_t> col = min_cost_assignment(-corr);
  torch::Tensor sus_rms = unit_rms(tap.suspect);
  // The per-unit loops read plain arrays, not one tensor call per element.
  std::vector<int64_t> unit_of(size_t(w), -1);
  std::vector<float> scale(size_t(w), 1.0f);
  auto corr_at = corr.accessor<double, 2>();
  auto is_live = ref.live.accessor<bool, 1>();
  auto ref_rms_at = ref.rms.accessor<double, 1>(), sus_rms_at = sus_rms.accessor<double, 1>();
  double total = 0;
  int64_t live_count = 0;
  bool identity = a.width == w;
  for (int64_t i = 0; i < w; ++i) {
    int64_t j = col[size_t(i)];
    double c = corr_at[i][j];
    if (!is_live[i]) continue;
    if (j != i) identity = false;
    ++live_count;
    total += c;
    double r = ref_rms_at[i], s = sus_rms_at[j];
    // A unit left in place is kept however far its profile drifted; a moved one must match.
    if ((j == i || c >= kMinCorrelation) && s > 0 && r > 0) {
      unit_of[size_t(i)] = j;
      // Scale = RMS ratio on the profile inputs. For a unit the reference barely uses there,
      // that ratio is mostly noise (the embedding alone can move it a lot), and dividing by
      // it amplified such units over the rest (the unattacked marked CNN read realigned at
      // BER 0.27); those take the median scale of the others instead (set below).
      scale[size_t(i)] = r < 0.25 * ref.median_rms ? -1.0f : float(s / r);
      ++a.matched;
    }
  }
  // Units silent on every profile input (active only on the carriers, or dead) cannot be
  // matched by their profile. When every matched unit kept its index (the layer was not
  // reordered), read them at their own index, at the median scale of the matched units. In a
  // reordered layer the unit at that index is some other unit, whose activation would only add
  // noise: leave them out. Only indices are used, never activations.
  std::vector<char> used(size_t(a.width), 0);
  std::vector<float> scales;
  bool in_place = true;
  for (int64_t i = 0; i < w; ++i) {
    int64_t j = unit_of[size_t(i)];
    if (j >= 0) used[size_t(j)] = 1, scales.push_back(scale[size_t(i)]);
    if (j >= 0 && j != i) in_place = false;
  }
  std::vector<float> measured;
  for (float x : scales) {
    if (x > 0) measured.push_back(x);
  }
  float median = 1.0f;
  if (!measured.empty()) {
    std::nth_element(measured.begin(), measured.begin() + long(measured.size() / 2),
                     measured.end());
    median = measured[measured.size() / 2];
  }
  for (float& x : scale) {
    if (x < 0) x = median;
  }
  if (!scales.empty() && in_place) {
    for (int64_t i = 0; i < w && i < a.width; ++i) {
      if (is_live[i] || used[size_t(i)]) continue;
      unit_of[size_t(i)] = i;
      scale[size_t(i)] = median;
      used[size_t(i)] = 1;
    }
  }
  a.unit_of = torch::tensor(unit_of, torch::kInt64);
  a.scale = torch::tensor(scale, torch::kFloat32);
  a.identity = identity;
  a.mean_correlation = live_count ? total / double(live_count) : 0.0;
  return a;
}

}  // namespace

Alignment align_to_reference(torch::jit::Module& model, const torch::Tensor& profile_inputs,
                             const torch::Tensor& reference, const std::string& model_path) {
  const int64_t w = reference.size(1);
  c10::Dict<std::string, torch::Tensor> taps;
  {
    c10::InferenceMode guard;
    bool was_training = model.is_training();
    model.eval();
    taps = call_taps(model, profile_inputs, model_path);
    model.train(was_training);
  }
  const ReferenceProfile ref = profile_reference(reference);
  std::vector<TapProfile> profiles;
  for (const auto& kv : taps) {
    if (kv.key() == "logits") continue;
    torch::Tensor acts = kv.value().flatten(1);
    if (acts.size(1) < w || acts.size(1) > 4 * w) continue;
    profiles.push_back(profile_tap(kv.key(), ref, acts));
  }
  // The assignment is most of a verification's time. Taps are matched in order of their bound,
  // and one whose bound cannot beat the best mean correlation found is not matched at all: it
  // could not have been chosen (a tap must score strictly higher to replace the best).
  std::stable_sort(profiles.begin(), profiles.end(),
                   [](const TapProfile& x, const TapProfile& y) { return x.bound > y.bound; });
  Alignment best;
  bool found = false;
  std::vector<std::pair<std::string, double>> tried;
  std::vector<std::string> bounded;
  for (const TapProfile& tap : profiles) {
    if (found && tap.bound <= best.mean_correlation) {
      tried.push_back({tap.name, tap.bound});
      bounded.push_back(tap.name);
      continue;
    }
    Alignment a = match_layer(ref, tap);
    tried.push_back({a.layer, a.mean_correlation});
    if (!found || a.mean_correlation > best.mean_correlation) best = a, found = true;
  }
  if (!found) {
    fail_input(model_path, "no tap is between " + std::to_string(w) + " and " +
                               std::to_string(4 * w) +
                               " units wide: nothing to match the key's layer");
  }
  std::sort(tried.begin(), tried.end());
  std::sort(bounded.begin(), bounded.end());
  best.candidates = tried;
  best.bounded = bounded;
  return best;
}

torch::Tensor realign(const torch::Tensor& acts, const Alignment& a) {
  const int64_t w = a.unit_of.size(0);
  torch::Tensor idx = a.unit_of.clamp_min(0);
  torch::Tensor out = acts.index_select(1, idx) / a.scale.unsqueeze(0);
  torch::Tensor keep = a.unit_of.ge(0).to(out.scalar_type()).unsqueeze(0);
  (void)w;
  return out * keep;
}

}  // namespace ds
