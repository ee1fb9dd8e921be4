# sx.mk : batch exports with GNU make. Include it from a Makefile that names
# the exports; `make -j4` runs them concurrently, each through export-FORMAT
# (all or nothing), and an interrupted make re-runs only what did not commit.
#
#   SX_PROJECTS := 12 34                 # project ids
#   SX_FORMATS  := coco yolo             # coco, yolo, voc, raw
#   SX_EXPORTS  += voc-56                # or name exports FORMAT-PROJECT directly
#   SX_DIR      := exports               # where they go (default: exports)
#   SX_FLAGS    := --split train=0.8,val=0.2   # export-FORMAT options for all
#   SX_FLAGS_yolo-34 := --task segment         # ... and for one export
#   SX_SOURCE_voc-56 := -t ground_truth -f ground_truth_dataset_version=56
#                                        # instead of -f project=56
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

SX_DIR ?= exports
SX_DIR := $(strip $(SX_DIR))
SX_EXPORTS += $(foreach f,$(SX_FORMATS),$(addprefix $(f)-,$(SX_PROJECTS)))
SX_EXPORTS := $(strip $(SX_EXPORTS))

sx_manifest = $(SX_DIR)/$(1)/.sx-manifest.ndjson
sx_format = $(firstword $(subst -, ,$(1)))
sx_project = $(patsubst $(sx_format)-%,%,$(1))
sx_source = $(if $(SX_SOURCE_$(1)),$(SX_SOURCE_$(1)),-f project=$(sx_project))

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
	@case '$(call sx_format,$*)' in coco|yolo|voc|raw) ;; \
	  *) echo "sx.mk: '$*': the format must be coco, yolo, voc or raw (FORMAT-PROJECT)" >&2; exit 2 ;; esac
	@mkdir -p '$(SX_DIR)'
	@if [ -f '$@' ]; then echo "sx.mk: '$(SX_DIR)/$*' did not commit: rolled back, redone" >&2; \
	  sx-save --rollback '$(SX_DIR)/$*' >/dev/null; fi
	@rm -f '$(SX_DIR)/$*.result'
	export-$(call sx_format,$*) -o '$(SX_DIR)/$*' $(call sx_source,$*) $(SX_FLAGS) $(SX_FLAGS_$*) > '$(SX_DIR)/$*.result.tmp'
	@mv '$(SX_DIR)/$*.result.tmp' '$(SX_DIR)/$*.result' && cat '$(SX_DIR)/$*.result'

clean-exports:
	@for e in $(SX_EXPORTS); do \
	  d='$(SX_DIR)'/$$e; \
	  if [ -f "$$d/.sx-manifest.ndjson" ]; then \
	    sx-save --rollback "$$d" >/dev/null && echo "rolled back $$d" || exit 1; \
	  fi; \
	  rm -f "$$d.result" "$$d.result.tmp"; \
	done
