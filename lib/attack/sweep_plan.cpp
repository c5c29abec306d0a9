// Sweep planning: defaults, grid expansion, x axes, and a check of every point as an attack.
#include "attack/sweep_plan.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "attack/registry.h"
#include "core/errors.h"

namespace ds {
namespace {

void expand(const Json& entry, const std::vector<std::string>& axes, size_t i, Json& current,
            std::vector<Json>& out) {
  if (i == axes.size()) {
    out.push_back(current);
    return;
  }
  for (const Json& v : entry[axes[i]]) {
    current[axes[i]] = v;
    expand(entry, axes, i + 1, current, out);
  }
}

// The varied field to draw along x: the first strength axis of the entry's attack kind (of any
// kind, in registry order, when the kind itself varies), else the first varied field.
std::string strength_axis(const Json& entry, const std::vector<std::string>& axes) {
  std::vector<const AttackKind*> kinds;
  const Json& attack = entry.contains("attack") ? entry["attack"] : Json();
  const AttackKind* kind =
      attack.is_string() ? find_attack_kind(attack.get<std::string>()) : nullptr;
  if (kind) {
    kinds.push_back(kind);
  } else {
    for (const AttackKind& k : attack_kinds()) kinds.push_back(&k);
  }
  for (const AttackKind* k : kinds) {
    for (const auto& a : k->strength_axes) {
      if (std::find(axes.begin(), axes.end(), a) != axes.end()) return a;
    }
  }
  return axes.empty() ? "" : axes.front();
}

// The sweep's own fields; returns the defaults every grid entry inherits.
Json read_sweep_settings(const Json& json, const std::string& file, SweepPlan& plan) {
  Json rest = json;
  rest.erase("grid");
  ConfigObject root(rest, file);
  plan.title = root.get_string("title", "ds-attack sweep");
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  Json defaults = Json::object();
  if (root.has("threads")) defaults["threads"] = root.get_positive_int("threads", 1);
  int threads = defaults.value("threads", 1);
  plan.workers = int(root.get_positive_int("workers", std::max(1, cores / threads)));
  plan.keep_models = root.get_bool("keep_models", false);
  if (root.has("seed")) defaults["seed"] = root.get_seed("seed", 1);
  if (root.has("attacker_fraction")) {
    defaults["attacker_fraction"] = root.get_fraction("attacker_fraction", 0.1, false);
  }
  for (const char* f : {"data", "attacker_data"}) {
    if (root.has(f)) {
      root.get_object(f);
      defaults[f] = json[f];
    }
  }
  root.finish();
  return defaults;
}

// The entry's points, each checked as an attack config.
void plan_points(const Json& entry, const std::vector<std::string>& axes, const std::string& where,
                 SweepPanel& panel, SweepPlan& plan) {
  const std::string& x = panel.x_axis;
  std::vector<Json> configs;
  Json current = entry;
  expand(entry, axes, 0, current, configs);
  double lo = INFINITY, hi = -INFINITY;
  for (const Json& c : configs) {
    SweepPoint p;
    p.panel = plan.panels.size();
    p.config = c;
    for (const auto& a : axes) {
      std::string kv = a + "=" + json_text(c[a]);
      p.setting += (p.setting.empty() ? "" : " ") + kv;
      if (a != x) p.series += (p.series.empty() ? "" : " ") + kv;
    }
    if (!x.empty()) {
      p.x = c[x];
      if (!p.x.is_number()) panel.x_numeric = false;
      if (p.x.is_number())
        lo = std::min(lo, p.x.get<double>()), hi = std::max(hi, p.x.get<double>());
    }
    std::string point_where = where + " (" + (p.setting.empty() ? "single point" : p.setting) + ")";
    try {
      parse_attack_spec(c, point_where);
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& ex) {
      throw InputError(point_where + ": " + ex.what());
    }
    plan.points.push_back(p);
  }
  panel.log_x = panel.x_numeric && !x.empty() && lo > 0 && hi / lo >= 50;
}

// One grid entry: its panel and points.
void plan_entry(Json entry, const Json& defaults, const std::string& where, SweepPlan& plan) {
  if (!entry.is_object()) throw InputError(where + " must be an object");
  SweepPanel panel;
  for (const char* f : {"label", "x"}) {
    if (entry.contains(f) && !entry[f].is_string()) {
      throw InputError(where + ": field '" + f + "' must be a string");
    }
  }
  std::string x = entry.value("x", "");
  entry.erase("x");
  panel.label = entry.value("label", "");
  entry.erase("label");
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    if (!entry.contains(it.key())) entry[it.key()] = it.value();
  }
  std::vector<std::string> axes;
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (!it.value().is_array()) continue;
    if (it.value().empty()) throw InputError(where + ": field '" + it.key() + "' is an empty list");
    axes.push_back(it.key());
  }
  if (!x.empty() && std::find(axes.begin(), axes.end(), x) == axes.end()) {
    throw InputError(where + ": field 'x' names '" + x + "', which is not a list in the entry");
  }
  panel.x_axis = x.empty() ? strength_axis(entry, axes) : x;
  plan_points(entry, axes, where, panel, plan);
  panel.attack = entry["attack"].is_string() ? entry["attack"].get<std::string>() : "attack";
  if (panel.label.empty()) panel.label = panel.attack;
  plan.panels.push_back(panel);
}

}  // namespace

SweepPlan plan_sweep(const Json& json, const std::string& file) {
  if (!json.is_object()) fail_input(file, "top level must be an object");
  SweepPlan plan;
  Json defaults = read_sweep_settings(json, file, plan);
  if (!json.contains("grid") || !json["grid"].is_array() || json["grid"].empty()) {
    fail_input(file, "field 'grid' must be a non-empty list of attack entries");
  }
  const Json& grid = json["grid"];
  for (size_t e = 0; e < grid.size(); ++e) {
    plan_entry(grid[e], defaults, file + ": grid[" + std::to_string(e) + "]", plan);
  }
  return plan;
}

}  // namespace ds
