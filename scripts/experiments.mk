# The whole evaluation as files: make reruns only what changed, -j runs independent steps in
# parallel. Run from the repository root after scripts/build.sh:
#
#   make -f scripts/experiments.mk -j2 all                       # small profile, Fashion-MNIST
#   make -f scripts/experiments.mk -j2 PROFILE=full all           # the paper-scale run
#   make -f scripts/experiments.mk -j2 DATASET=mnist all          # after scripts/get-data.sh mnist
#   make -f scripts/experiments.mk -j2 PROFILE=full DATASET=mnist SETTINGS=paper all
#   make -f scripts/experiments.mk -j2 DATASET=cifar10 DATA_DIR=/path/to/cifar-10-batches-bin all
#   make -f scripts/experiments.mk PROFILE=full results          # also refresh docs/RESULTS.md
#
# SETTINGS=paper marks with the authors' settings (16 white-box bits embedded while training from
# scratch for 1 epoch with RMSprop; 20 black-box keys at p 1e-4) instead of this project's
# defaults, into runs/PROFILE-DATASET-paper.
#
# Everything lands in $(RUN) (default runs/PROFILE-DATASET); report.html and RESULTS.md there
# render every JSON report of the run (ds-report). Steps, per model architecture:
#   ARCH.pt                 unmarked model (ds-train)
#   ARCH-wb.{pt,key}        white-box watermark (ds-gen-keys, ds-embed-wm)
#   ARCH-bb.{pt,key}        black-box watermark alone
#   ARCH-both.{pt,key}      black-box on top of the white-box mark: one key, both parts
#   verify-ARCH-*.json      ds-verify on each marked model
#   integrity/ARCH-sN.json  ds-verify of unmarked models trained with other seeds (and of the
#                           base model) against the owner's key: must not verify
#   capacity/ARCH-bN.json   white-box embedding of N bits on one carrier class
#   sweeps/ARCH/            removal-attack sweep on the doubly marked model (ds-attack)

PROFILE ?= small
DATASET ?= fmnist
SETTINGS ?= defaults
RUN ?= runs/$(PROFILE)-$(DATASET)$(if $(filter paper,$(SETTINGS)),-paper)
B ?= build/bin
PY ?= /usr/bin/python3
CFG := $(PY) scripts/derive-config.py

ifeq ($(DATASET),fmnist)
  DATA_DIR ?= /usr/share/datasets/fashion-mnist
  DATA_FORMAT := idx
  FULL_ARCHS := mlp cnn
  SMALL_ARCHS := mlp
else ifeq ($(DATASET),mnist)
  DATA_DIR ?= runs/data/mnist
  DATA_FORMAT := idx
  FULL_ARCHS := mlp cnn
  SMALL_ARCHS := mlp
else ifeq ($(DATASET),cifar10)
  DATA_FORMAT := cifar10
  FULL_ARCHS := cnn wrn
  SMALL_ARCHS := cnn
else
  $(error DATASET must be fmnist, mnist or cifar10)
endif
ifeq ($(DATA_DIR),)
  $(error DATASET=$(DATASET) needs DATA_DIR, the folder with its files (see docs/METHOD.md, Datasets))
endif

# The shipped key and embedding configs the marks come from.
ifeq ($(SETTINGS),defaults)
  KEYS_WB := configs/keys-whitebox.json
  EMBED_WB := configs/embed-whitebox.json
  KEYS_BB := configs/keys-blackbox.json
else ifeq ($(SETTINGS),paper)
  KEYS_WB := configs/keys-whitebox-paper.json
  EMBED_WB := configs/embed-whitebox-paper.json
  KEYS_BB := configs/keys-blackbox-paper.json
  # The authors' one epoch from scratch, whatever the profile's fine-tuning epochs.
  EMBED_EPOCHS ?= 1
else
  $(error SETTINGS must be defaults or paper)
endif

ifeq ($(PROFILE),small)
  ARCHS ?= $(SMALL_ARCHS)
  TRAIN_EPOCHS ?= 5
  INTEGRITY_SEEDS ?= 2 3 4
  INTEGRITY_EPOCHS ?= 2
  CAPACITY_BITS ?= 16 64 256
  EMBED_EPOCHS ?= 5
  SWEEP ?= configs/sweep-quick.json
else ifeq ($(PROFILE),full)
  ARCHS ?= $(FULL_ARCHS)
  TRAIN_EPOCHS ?=
  INTEGRITY_SEEDS ?= 2 3 4 5 6 7 8 9 10 11
  INTEGRITY_EPOCHS ?=
  CAPACITY_BITS ?= 16 32 64 128 256 512
  EMBED_EPOCHS ?=
  SWEEP ?= configs/sweep-attacks.json
else
  $(error PROFILE must be small or full)
endif

# The command that reproduces this run, every size spelled out (printed on the results page).
paper_arg = $(if $(filter paper,$(SETTINGS)), SETTINGS=paper)
REGENERATE = make -f scripts/experiments.mk -j2 PROFILE=$(PROFILE) DATASET=$(DATASET)$(paper_arg) \
  ARCHS='$(ARCHS)' TRAIN_EPOCHS='$(TRAIN_EPOCHS)' EMBED_EPOCHS='$(EMBED_EPOCHS)' \
  INTEGRITY_SEEDS='$(INTEGRITY_SEEDS)' INTEGRITY_EPOCHS='$(INTEGRITY_EPOCHS)' \
  CAPACITY_BITS='$(CAPACITY_BITS)' SWEEP=$(SWEEP)

# ds-verify exits 0 (proven) or 1 (not proven) with a report either way; 2 and up are errors.
VERIFY = $(B)/ds-verify -q --model $(1) --keys $(2) --report $(3); test $$? -le 1
epochs_flag = $(if $(1),--epochs $(1))
arch_of = $(word 1,$(subst -, ,$(1)))
# A dataset's own training config where there is one (configs/train-mlp-mnist.json); else
# CIFAR-10's, or for the 28x28 datasets Fashion-MNIST's.
own_train_config = $(wildcard configs/train-$(1)-$(DATASET).json)
shared_train_config = configs/train-$(1)-$(if $(filter cifar10,$(DATASET)),cifar10,fmnist).json
train_config = $(or $(call own_train_config,$(1)),$(call shared_train_config,$(1)))

SCHEMES := wb bb both
MARKED := $(foreach a,$(ARCHS),$(foreach s,$(SCHEMES),$(RUN)/verify-$(a)-$(s).json))
INTEGRITY := $(foreach a,$(ARCHS),$(RUN)/integrity/$(a)-base.json \
               $(foreach s,$(INTEGRITY_SEEDS),$(RUN)/integrity/$(a)-s$(s).json))
CAPACITY := $(foreach a,$(ARCHS),$(foreach n,$(CAPACITY_BITS),$(RUN)/capacity/$(a)-b$(n).json))
SWEEPS := $(foreach a,$(ARCHS),$(RUN)/sweeps/$(a)/results.json)

.SECONDEXPANSION:
.PHONY: all models marked integrity capacity sweeps report results clean
.DELETE_ON_ERROR:
.SECONDARY:

all: report
models: $(foreach a,$(ARCHS),$(RUN)/$(a).pt)
marked: $(MARKED)
integrity: $(INTEGRITY)
capacity: $(CAPACITY)
sweeps: $(SWEEPS)
report: $(RUN)/report.html

$(RUN)/report.html: $(MARKED) $(INTEGRITY) $(CAPACITY) $(SWEEPS)
	$(B)/ds-report --run $(RUN) --html $@ --markdown $(RUN)/RESULTS.md \
	  --command "$(REGENERATE) all"
	@echo "report: $@ (and $(RUN)/RESULTS.md)"

# The results page kept in the repository, with its figures beside it.
results: $(RUN)/report.html
	$(B)/ds-report --run $(RUN) --markdown docs/RESULTS.md --append docs/RESULTS-measured.md \
	  --command "$(REGENERATE) results"

clean:
	rm -rf $(RUN)

# ---- configs of this run (the shipped ones with this run's data and sizes) ----
# DATA_FRACTION < 1 uses a seeded subset of the training and test sets (for quick checks).
DATA_FRACTION ?= 1
$(RUN)/data.json:
	@mkdir -p $(@D)
	$(PY) -c 'import json,sys; f=float(sys.argv[2]); json.dump(dict({"format": "$(DATA_FORMAT)", "path": "$(DATA_DIR)"}, **({"train_fraction": f, "test_fraction": f} if f < 1 else {})), open(sys.argv[1], "w"))' $@ $(DATA_FRACTION)

$(RUN)/cfg/train-%.json: $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $(call train_config,$*) $@ data=@$< $(if $(TRAIN_EPOCHS),epochs=$(TRAIN_EPOCHS))

$(RUN)/cfg/keys-wb.json: $(KEYS_WB) $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $< $@ data=@$(RUN)/data.json

$(RUN)/cfg/keys-wb-b%.json: $(KEYS_WB) $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $< $@ data=@$(RUN)/data.json whitebox.bits=$* whitebox.ecc=none whitebox.profile_count=0

$(RUN)/cfg/embed-whitebox.json: $(EMBED_WB) $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $< $@ data=@$(RUN)/data.json $(if $(EMBED_EPOCHS),max_epochs=$(EMBED_EPOCHS))

$(RUN)/cfg/embed-%.json: configs/embed-%.json $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $< $@ data=@$(RUN)/data.json

$(RUN)/cfg/sweep.json: $(SWEEP) $(RUN)/data.json
	@mkdir -p $(@D)
	$(CFG) $< $@ data=@$(RUN)/data.json

# ---- models, keys, marks ----
$(RUN)/%.pt: $(RUN)/cfg/train-%.json
	$(B)/ds-train -q --config $< --out $@ --report $(RUN)/train-$*.json

$(RUN)/%.draft: $(RUN)/%.pt $(RUN)/cfg/keys-wb.json
	$(B)/ds-gen-keys -q --config $(RUN)/cfg/keys-wb.json --model $< --out $@

# The embedding report is the target: the marked model and the final key come with it.
$(RUN)/embed-%-wb.json: $(RUN)/%.draft $(RUN)/cfg/embed-whitebox.json
	$(B)/ds-embed-wm -q --config $(RUN)/cfg/embed-whitebox.json --model $(RUN)/$*.pt --keys $< \
	  --out $(RUN)/$*-wb.pt --keys-out $(RUN)/$*-wb.key --report $@

$(RUN)/%-bb.cand: $(RUN)/%.pt $(KEYS_BB)
	$(B)/ds-gen-keys -q --config $(KEYS_BB) --model $< --out $@

$(RUN)/embed-%-bb.json: $(RUN)/%-bb.cand $(RUN)/cfg/embed-blackbox.json
	$(B)/ds-embed-wm -q --config $(RUN)/cfg/embed-blackbox.json --model $(RUN)/$*.pt --keys $< \
	  --out $(RUN)/$*-bb.pt --keys-out $(RUN)/$*-bb.key --report $@

$(RUN)/%-both.cand: $(RUN)/embed-%-wb.json $(KEYS_BB)
	$(B)/ds-gen-keys -q --config $(KEYS_BB) --model $(RUN)/$*-wb.pt \
	  --keys $(RUN)/$*-wb.key --out $@

$(RUN)/embed-%-both.json: $(RUN)/%-both.cand $(RUN)/cfg/embed-blackbox.json
	$(B)/ds-embed-wm -q --config $(RUN)/cfg/embed-blackbox.json --model $(RUN)/$*-wb.pt --keys $< \
	  --out $(RUN)/$*-both.pt --keys-out $(RUN)/$*-both.key --report $@

$(RUN)/verify-%.json: $(RUN)/embed-%.json
	$(call VERIFY,$(RUN)/$*.pt,$(RUN)/$*.key,$@)

# ---- integrity: unmarked models must not verify against the owner's key ----
$(RUN)/integrity/%-base.json: $(RUN)/embed-%-both.json
	@mkdir -p $(@D)
	$(call VERIFY,$(RUN)/$*.pt,$(RUN)/$*-both.key,$@)

$(RUN)/integrity/%.pt: $(RUN)/cfg/train-$$(call arch_of,$$*).json
	@mkdir -p $(@D)
	$(B)/ds-train -q --config $< --seed $(word 2,$(subst -s, ,$*)) \
	  $(call epochs_flag,$(INTEGRITY_EPOCHS)) --out $@

$(RUN)/integrity/%.json: $(RUN)/integrity/%.pt $(RUN)/embed-$$(call arch_of,$$*)-both.json
	$(call VERIFY,$<,$(RUN)/$(call arch_of,$*)-both.key,$@)

# ---- capacity: N bits on one carrier class (no error correction: raw bits) ----
$(RUN)/capacity/%.draft: $(RUN)/$$(call arch_of,$$*).pt $(RUN)/cfg/keys-wb-b$$(subst b,,$$(word 2,$$(subst -, ,$$*))).json
	@mkdir -p $(@D)
	$(B)/ds-gen-keys -q --config $(word 2,$^) --model $< --out $@

$(RUN)/capacity/%.json: $(RUN)/capacity/%.draft $(RUN)/cfg/embed-whitebox.json
	$(B)/ds-embed-wm -q --config $(RUN)/cfg/embed-whitebox.json \
	  --model $(RUN)/$(call arch_of,$*).pt --keys $< --out $(RUN)/capacity/$*.pt --report $@

# ---- removal-attack sweeps on the doubly marked model ----
$(RUN)/sweeps/%/results.json: $(RUN)/embed-%-both.json $(RUN)/cfg/sweep.json
	$(B)/ds-attack --config $(RUN)/cfg/sweep.json --model $(RUN)/$*-both.pt \
	  --keys $(RUN)/$*-both.key --out-dir $(RUN)/sweeps/$*

