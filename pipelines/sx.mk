# sx.mk : batch exports with GNU make. Include it from a Makefile that names
# the exports; `make -j4` runs them concurrently, each through export-FORMAT
# (all or nothing), and an interrupted make re-runs only what did not commit.
#
#   SX_PROJECTS := 12 34                 # project ids
#   SX_FORMATS  := coco yolo             # coco, yolo, voc, csv, raw
#   SX_EXPORTS  += voc-56                # or name exports FORMAT-PROJECT directly
#   SX_DIR      := exports               # where they go (default: exports)
#   SX_FLAGS    := --split train=0.8,val=0.2   # export-FORMAT options for all
#   SX_FLAGS_yolo-34 := --task segment         # ... and for one export
#   SX_SOURCE_voc-56 := -t ground_truth -f ground_truth_dataset_version=56
#                                        # instead of -f project=56
#   SX_ENGINE   := slurm                 # coco and yolo exports on Slurm (export-slurm):
#                                        # each a job array of shards and a merge job
#   SX_SHARDS   := 8                     # shards of each Slurm export (default 4)
#   SX_SHARDS_coco-12 := 16              # ... and of one
#   SX_SLURM_FLAGS := --partition batch --time 1:00:00 --retry 2
#                                        # export-slurm options (SX_SLURM_FLAGS_coco-12 for one)
#   SX_ENGINE_coco-34 := local           # one export's engine: local (the default) or slurm
#   include /usr/local/share/sx/sx.mk    # (or pipelines/sx.mk in a checkout)
#
# Targets:
#   exports        every export (the first target of sx.mk; put `all: exports`
#                  first in your Makefile if you have rules of your own)
#   FORMAT-PROJECT one export
#   clean-exports  rolls every export back through its manifest
#                  (sx-save --rollback DIR): only what sx-save created goes
#
# Each export's make target is its manifest, DIR/.sx-manifest.ndjson. sx-save
# writes it ahead of every file and ends it with a commit record: an export
# whose manifest has no commit record (the machine crashed, make was killed
# with SIGKILL) is rolled back and redone by the next make; a committed one is
# left alone. On Ctrl-C, sx-save rolls back what it had not committed, so make
# never keeps a half export. The SDK's result line of each export is printed,
# and kept in DIR.result.
#
# With SX_ENGINE := slurm, `make -j8` keeps eight exports on the cluster at
# once, each an export-slurm that submits its array and its merge and waits
# for them; voc, csv and raw exports, which cannot be merged, run here. A Slurm
# export that did not commit is not rolled back by make: its jobs may still
# be running, and export-slurm, run again, waits for them or redoes only the
# shards that did not commit. clean-exports cancels its jobs (export-slurm
# --cancel) and removes its shards too.

SX_DIR ?= exports
SX_DIR := $(strip $(SX_DIR))
SX_EXPORTS += $(foreach f,$(SX_FORMATS),$(addprefix $(f)-,$(SX_PROJECTS)))
SX_EXPORTS := $(strip $(SX_EXPORTS))

sx_manifest = $(SX_DIR)/$(1)/.sx-manifest.ndjson
sx_format = $(firstword $(subst -, ,$(1)))
sx_project = $(patsubst $(sx_format)-%,%,$(1))
sx_source = $(if $(SX_SOURCE_$(1)),$(SX_SOURCE_$(1)),-f project=$(sx_project))
sx_engine = $(strip $(if $(SX_ENGINE_$(1)),$(SX_ENGINE_$(1)),$(if $(SX_ENGINE),$(SX_ENGINE),local)))
sx_shards = $(strip $(if $(SX_SHARDS_$(1)),$(SX_SHARDS_$(1)),$(if $(SX_SHARDS),$(SX_SHARDS),4)))
sx_on_slurm = $(and $(filter slurm,$(call sx_engine,$(1))),$(filter coco yolo,$(call sx_format,$(1))))
sx_command = $(if $(call sx_on_slurm,$(1)),export-slurm -F $(call sx_format,$(1)) -n $(call sx_shards,$(1)) \
  $(SX_SLURM_FLAGS) $(SX_SLURM_FLAGS_$(1)),export-$(call sx_format,$(1)))

# The exports whose manifest exists without a commit record: redone.
sx_uncommitted := $(foreach e,$(SX_EXPORTS),$(if $(wildcard $(call sx_manifest,$(e))),$(if \
  $(shell grep -qs '^{"op":"commit"' '$(call sx_manifest,$(e))' || echo x),$(e))))

.PHONY: exports clean-exports $(SX_EXPORTS) sx-force
exports: $(foreach e,$(SX_EXPORTS),$(call sx_manifest,$(e)))

$(foreach e,$(SX_EXPORTS),$(eval $(e): $(call sx_manifest,$(e))))
$(foreach e,$(sx_uncommitted),$(eval $(call sx_manifest,$(e)): sx-force))
sx-force: ;

# sx-save removes what it did not commit: make must not delete a manifest.
.PRECIOUS: $(SX_DIR)/%/.sx-manifest.ndjson

$(SX_DIR)/%/.sx-manifest.ndjson:
	@case '$(call sx_format,$*)' in coco|yolo|voc|csv|raw) ;; \
	  *) echo "sx.mk: '$*': the format must be coco, yolo, voc, csv or raw (FORMAT-PROJECT)" >&2; exit 2 ;; esac
	@case '$(call sx_engine,$*)' in local|slurm) ;; \
	  *) echo "sx.mk: '$*': the engine must be local or slurm, not '$(call sx_engine,$*)'" >&2; exit 2 ;; esac
	@mkdir -p '$(SX_DIR)'
	@if [ -f '$@' ] && [ ! -f '$(SX_DIR)/$*.shards/slurm.jobs' ]; then \
	  echo "sx.mk: '$(SX_DIR)/$*' did not commit: rolled back, redone" >&2; \
	  sx-save --rollback '$(SX_DIR)/$*' >/dev/null; fi
	@rm -f '$(SX_DIR)/$*.result'
	$(call sx_command,$*) -o '$(SX_DIR)/$*' $(call sx_source,$*) $(SX_FLAGS) $(SX_FLAGS_$*) > '$(SX_DIR)/$*.result.tmp' \
	  || { st=$$?; rm -f '$(SX_DIR)/$*.result.tmp'; exit $$st; }
	@mv '$(SX_DIR)/$*.result.tmp' '$(SX_DIR)/$*.result' && cat '$(SX_DIR)/$*.result'

clean-exports:
	@for e in $(SX_EXPORTS); do \
	  d='$(SX_DIR)'/$$e; \
	  if [ -f "$$d.shards/slurm.jobs" ]; then export-slurm --cancel -q -o "$$d" || exit 1; fi; \
	  if [ -d "$$d.shards" ]; then \
	    for s in "$$d.shards"/*/; do \
	      if [ -f "$$s.sx-manifest.ndjson" ]; then sx-save --rollback "$$s" >/dev/null || exit 1; fi; \
	    done; \
	    rm -f "$$d.shards"/*.result "$$d.shards"/*.result.tmp "$$d.shards"/*.sig "$$d.shards"/*.log \
	      "$$d.shards"/*.out "$$d.shards"/*.sbatch "$$d.shards"/result "$$d.shards"/result.tmp \
	      "$$d.shards"/slurm.jobs "$$d.shards"/joblog; \
	    rmdir "$$d.shards" && echo "removed $$d.shards" || exit 1; \
	  fi; \
	  if [ -f "$$d/.sx-manifest.ndjson" ]; then \
	    sx-save --rollback "$$d" >/dev/null && echo "rolled back $$d" || exit 1; \
	  fi; \
	  rm -f "$$d.result" "$$d.result.tmp"; \
	done
