// Reading and checking each watermark part of a key file: white-box, black-box, keyed regions.
#include "watermark/key_fields.h"

#include "watermark/ecc.h"

namespace ds {

namespace {

// The realignment profile and the error-correction payload, when the key has them.
void read_whitebox_options(const KeyFields& k, const OwnerKey& key, WhiteboxKey& w) {
  const std::string& path = k.path;
  const Json& meta = key.meta["whitebox"];
  if (meta.contains("profile_count")) {
    w.profile_inputs = k.tensor("whitebox.profile_inputs", torch::kFloat32, 4);
    w.profile = k.tensor("whitebox.profile", torch::kFloat32, 2);
    if (w.profile.size(0) != w.profile_inputs.size(0) || w.profile.size(1) != w.layer_width ||
        w.profile.size(0) < 2 || !sample_shape_is(w.profile_inputs, key.input_shape)) {
      fail_input(path, "white-box profile does not match the layer width or input shape");
    }
  }
  if (meta.contains("ecc")) {
    try {
      const Json& e = meta["ecc"];
      if (e.at("code") != "bch") throw std::runtime_error("code");
      w.ecc_m = e.at("m").get<int64_t>();
      w.ecc_t = e.at("t").get<int64_t>();
    } catch (const std::exception&) {
      fail_input(path, "white-box error-correction metadata is malformed");
    }
    w.payload = k.tensor("whitebox.payload", torch::kInt64, 2);
    std::string problem = check_ecc_payload(w);
    if (!problem.empty()) fail_input(path, "white-box error correction: " + problem);
  }
}

// Runs `read` over a part's metadata; any missing or mistyped field is `problem`.
template <typename Read>
void read_part_meta(const std::string& path, const char* problem, Read read) {
  try {
    read();
  } catch (const std::exception&) {
    fail_input(path, problem);
  }
}

}  // namespace

WhiteboxKey read_whitebox_part(const KeyFields& k, const OwnerKey& key) {
  const std::string& path = k.path;
  WhiteboxKey w;
  read_part_meta(path, "white-box metadata is incomplete", [&] {
    const Json& m = key.meta["whitebox"];
    w.layer = m.at("layer").get<std::string>();
    w.layer_width = m.at("layer_width").get<int64_t>();
    w.carriers = m.at("carriers").get<std::vector<int64_t>>();
  });
  w.projection = k.tensor("whitebox.projection", torch::kFloat32, 2);
  w.bits = k.tensor("whitebox.bits", torch::kInt64, 2);
  w.triggers = k.tensor("whitebox.triggers", torch::kFloat32, 4);
  w.trigger_labels = k.tensor("whitebox.trigger_labels", torch::kInt64, 1);
  int64_t n = w.bits.size(1);
  if (w.projection.size(0) != w.layer_width || w.projection.size(1) != n ||
      w.bits.size(0) != int64_t(w.carriers.size()) || n < 1) {
    fail_input(path, "white-box projection, bits and carriers disagree in shape");
  }
  if (w.bits.lt(0).any().item<bool>() || w.bits.gt(1).any().item<bool>()) {
    fail_input(path, "white-box bits must be 0 or 1");
  }
  if (w.triggers.size(0) != w.trigger_labels.size(0) || w.triggers.size(0) < 1 ||
      !sample_shape_is(w.triggers, key.input_shape)) {
    fail_input(path, "white-box triggers do not match the key's input shape");
  }
  for (int64_t c : w.carriers) {
    if (c < 0 || c >= key.num_classes) fail_input(path, "white-box carrier class out of range");
  }
  read_whitebox_options(k, key, w);
  return w;
}

BlackboxKey read_blackbox_part(const KeyFields& k, const OwnerKey& key) {
  const std::string& path = k.path;
  BlackboxKey b;
  read_part_meta(path, "black-box metadata is incomplete", [&] {
    const Json& m = key.meta["blackbox"];
    b.stage = m.at("stage").get<std::string>();
    b.keys_wanted = m.at("keys_wanted").get<int64_t>();
    b.false_claim_probability = m.at("false_claim_probability").get<double>();
    b.generator = m.at("generator");
  });
  b.inputs = k.tensor("blackbox.inputs", torch::kFloat32, 4);
  b.labels = k.tensor("blackbox.labels", torch::kInt64, 1);
  b.base_predictions = k.tensor("blackbox.base_predictions", torch::kInt64, 1);
  if (b.stage != "candidates" && b.stage != "final") fail_input(path, "unknown black-box stage");
  if (b.inputs.size(0) != b.labels.size(0) || b.labels.size(0) != b.base_predictions.size(0) ||
      b.labels.size(0) < 1 || !sample_shape_is(b.inputs, key.input_shape)) {
    fail_input(path, "black-box inputs, labels and input shape disagree");
  }
  if (b.labels.min().item<int64_t>() < 0 || b.labels.max().item<int64_t>() >= key.num_classes) {
    fail_input(path, "black-box label out of range");
  }
  if (!(b.false_claim_probability > 0 && b.false_claim_probability < 1) || b.keys_wanted < 1) {
    fail_input(path, "black-box decision settings out of range");
  }
  return b;
}

RegionKey read_region_part(const KeyFields& k, const OwnerKey& key) {
  const std::string& path = k.path;
  RegionKey r;
  read_part_meta(path, "keyed-region metadata is incomplete",
                 [&] { r.fraction = key.meta["regions"].at("fraction").get<double>(); });
  r.centre = k.tensor("regions.centre", torch::kFloat32, 1);
  r.directions = k.tensor("regions.directions", torch::kFloat32, 2);
  r.thresholds = k.tensor("regions.thresholds", torch::kFloat32, 1);
  r.targets = k.tensor("regions.targets", torch::kInt64, 1);
  r.excluded = k.tensor("regions.excluded", torch::kInt64, 2);
  r.inputs = k.tensor("regions.inputs", torch::kFloat32, 4);
  r.input_regions = k.tensor("regions.input_regions", torch::kInt64, 1);
  int64_t n = r.regions(), d = r.centre.size(0);
  if (n < 1 || r.directions.size(0) != n || r.directions.size(1) != d ||
      r.thresholds.size(0) != n || r.excluded.size(0) != n ||
      r.excluded.size(1) != key.num_classes || r.size() < 1 ||
      r.inputs.size(0) != r.size() || !sample_shape_is(r.inputs, key.input_shape) ||
      d != r.inputs[0].numel()) {
    fail_input(path, "keyed-region directions, thresholds, targets and inputs disagree in shape");
  }
  bool bad = r.targets.min().item<int64_t>() < 0 ||
             r.targets.max().item<int64_t>() >= key.num_classes ||
             r.input_regions.min().item<int64_t>() < 0 || r.input_regions.max().item<int64_t>() >= n;
  // Each target is an allowed class of its region, and each region allows two or more.
  bad = bad || r.excluded.lt(0).any().item<bool>() || r.excluded.gt(1).any().item<bool>() ||
        r.excluded.sum(1).gt(key.num_classes - 2).any().item<bool>() ||
        r.excluded.gather(1, r.targets.clamp(0, key.num_classes - 1).unsqueeze(1)).any().item<bool>();
  if (bad) fail_input(path, "keyed-region target or region index out of range");
  return r;
}


}  // namespace ds
