// The overwriting attack and its registry entry.
#include "attack/overwrite_attack.h"

#include "core/errors.h"
#include "core/runtime.h"
#include "watermark/blackbox.h"
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_key.h"

namespace ds {
namespace {

struct OverwriteAttack : Attack {
  std::string marks = "whitebox";  // whitebox | blackbox | both
  WhiteboxKeySpec whitebox_key;
  WhiteboxEmbedConfig whitebox_embed;
  BlackboxKeySpec blackbox_key;
  BlackboxEmbedConfig blackbox_embed;

  AttackResult apply(const AttackInputs& in) const override {
    const Dataset& attacker = *in.attacker;
    const uint64_t seed = in.spec.seed;
    AttackResult r{clone_model(in.model.module), in.model.info, Json::object()};
    DataSplits pool{attacker, in.data->test, "", {}, {}};
    std::vector<int64_t> shape = attacker.sample_shape();
    if (marks != "blackbox") {
      Json meta;
      WhiteboxKey key = make_whitebox_key(whitebox_key, r.model, in.model.path, shape, attacker,
                                          mix_seed(seed, 61), meta);
      WhiteboxEmbedResult e = embed_whitebox(r.model, in.model.path, key, pool, whitebox_embed);
      r.details["whitebox"] =
          Json{{"layer", key.layer}, {"carriers", key.carriers},     {"bits", key.total_bits()},
               {"epochs", e.epochs}, {"stop_reason", e.stop_reason}, {"attacker_ber", e.ber_after}};
    }
    if (marks != "whitebox") {
      BlackboxKey cand = make_blackbox_candidates(blackbox_key, r.model, shape,
                                                  attacker.num_classes, mix_seed(seed, 67));
      try {
        BlackboxEmbedResult e =
            embed_blackbox(r.model, cand, shape, attacker.num_classes, pool, blackbox_embed);
        r.details["blackbox"] = Json{
            {"embedded", true}, {"rounds", e.rounds}, {"attacker_key_accuracy", e.key_accuracy}};
      } catch (const InputError&) {
        throw;
      } catch (const std::runtime_error& e) {
        // Too few of the attacker's candidates took within the budget: the model has still
        // been fine-tuned by the attempt, which is what matters to the owner.
        r.details["blackbox"] = Json{{"embedded", false}, {"why", e.what()}};
      }
    }
    return r;
  }
};

// A nested config object (type-checked through `root`), as raw JSON to complete and re-parse.
Json nested_json(ConfigObject& root, const Json& json, const std::string& field) {
  root.get_object(field);
  return json.contains(field) ? json[field] : Json::object();
}

// Fills `fields` into `j` where the thief's config leaves them out.
void fill_defaults(Json& j, const std::vector<std::pair<const char*, Json>>& fields) {
  for (const auto& [field, value] : fields) {
    if (!j.contains(field)) j[field] = value;
  }
}

}  // namespace

std::unique_ptr<Attack> parse_overwrite_attack(ConfigObject& root, const Json& json,
                                               const AttackSpec& common) {
  auto a = std::make_unique<OverwriteAttack>();
  const std::string& file = root.file();
  const uint64_t seed = common.seed;
  a->marks = root.get_choice("marks", a->marks, {"whitebox", "blackbox", "both"});
  int64_t epochs = root.has("epochs") ? root.get_positive_int("epochs", 1) : 0;
  Json data = data_spec_to_json(*common.data);
  // The attacker knows the method and the owner's default settings; only the seeds are theirs.
  Json wk = nested_json(root, json, "whitebox_key");
  if (wk.is_object() && !wk.contains("message") && !wk.contains("payload_seed")) {
    wk["payload_seed"] = int64_t(mix_seed(seed, 61) >> 12);
  }
  a->whitebox_key = parse_whitebox_key_spec(ConfigObject(wk, file, "whitebox_key"));
  Json we = nested_json(root, json, "whitebox_embed");
  fill_defaults(we, {{"data", data},
                     {"measure_overhead", false},
                     {"seed", int64_t(seed)},
                     {"threads", common.threads}});
  if (epochs > 0) we["max_epochs"] = epochs;
  a->whitebox_embed = parse_whitebox_embed_config(we, file + " (whitebox_embed)");
  a->blackbox_key = parse_blackbox_key_spec(root.get_object("blackbox_key"));
  Json be = nested_json(root, json, "blackbox_embed");
  fill_defaults(be, {{"data", data}, {"seed", int64_t(seed)}, {"threads", common.threads}});
  if (epochs > 0) be["max_rounds"] = epochs;
  be["kind"] = "blackbox";
  a->blackbox_embed = parse_blackbox_embed_config(be, file + " (blackbox_embed)");
  return a;
}

}  // namespace ds
