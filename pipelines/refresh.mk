# refresh.mk - incremental corpus refresh: fetch what changed, clean it, and
# append it to the shards, safely from cron.
#
#   make -f pipelines/refresh.mk URLS=urls.txt STATE=/srv/corpus \
#        BPE_MODEL=tok.bpe [stage]
#
# One run is one *batch*: the pages of URLS that are new or changed since
# the last run (llm-fetch --state) are filtered, deduplicated against every
# earlier batch (llm-dedup --index), redacted, encoded with a fixed tokenizer
# and appended to the shards (llm-shard --append).  A second run right after
# the first adds nothing.  STATE holds everything:
#
#   STATE/fetch.state     llm-fetch's per-URL ETag / Last-Modified / hash
#   STATE/dedup.idx       llm-dedup's index of every document kept so far
#   STATE/shards/         the shards and manifest.json (llm-shards(5))
#   STATE/batches/ID/     each committed batch: every stage's output (its
#                         documents are clean.jsonl, its tokens tokens.tok)
#                         and --stats; a batch that brought nothing new is
#                         not kept
#   STATE/work/           the batch in progress
#
# Stages (each a target; the default, refresh, runs them all and commits):
#   fetch     work/fetched.jsonl   llm-fetch --state (commits the fetch state
#                                   together with its output by itself)
#   filter    work/filtered.jsonl  llm-filter
#   dedup     work/dedup.jsonl     llm-dedup --index on a private copy of
#                                   STATE/dedup.idx
#   redact    work/clean.jsonl     llm-redact
#   encode    work/tokens.tok      llm-bpe encode -m BPE_MODEL
#   shards                         llm-shard --append into STATE/shards
#   refresh                        the above, then install the new index
#                                   and move work/ to batches/ID
#   status                         what is committed and what is pending
#
# Killed at any point (SIGKILL included) and run again, it loses nothing and
# duplicates nothing: every file is written atomically (temp + rename), the
# in-progress batch resumes where it stopped instead of being fetched again,
# the dedup index is only installed once the shards have the batch, and the
# append is skipped when the manifest already differs from the copy taken
# when the batch began (so a kill between the append and its stamp does not
# append twice).  Two refreshes must not run at once: start it under
# flock(1), as pipelines/crontab.example does.
#
# Variables:
#   URLS          the URL list, one a line (required)
#   STATE         the corpus folder (default: corpus)
#   BPE_MODEL     tokenizer: an llm-bpe model, or GPT-2's encoder.json and
#                 vocab.bpe separated by a space (required)
#   SOURCE        the source name in documents and manifest (default: web)
#   VAL_FRACTION  share of each batch's tokens for validation (0.01)
#   FETCH_OPTS FILTER_OPTS DEDUP_OPTS REDACT_OPTS SHARD_OPTS  extra options
#   JOBS          threads per stage (default 2)
#   LLM_BUILD     put $(LLM_BUILD)/bin first on PATH (default: build, when
#                 it exists; installed programs otherwise)

STATE        ?= corpus
SOURCE       ?= web
VAL_FRACTION ?= 0.01
JOBS         ?= 2
FETCH_OPTS   ?=
FILTER_OPTS  ?=
DEDUP_OPTS   ?=
REDACT_OPTS  ?=
SHARD_OPTS   ?=
LLM_BUILD    ?= build
ifneq ($(wildcard $(LLM_BUILD)/bin/llm-fetch),)
export PATH := $(abspath $(LLM_BUILD))/bin:$(PATH)
endif

W := $(STATE)/work
SHELL := /bin/sh
.DELETE_ON_ERROR:
.NOTPARALLEL:
.PHONY: refresh fetch filter dedup redact encode shards status check

refresh: check $(W)/shards.done $(W)/index.done
	@if [ -s $(W)/clean.jsonl ]; then \
		id=$$(cat $(W)/id); mv $(W) $(STATE)/batches/$$id && \
		echo "refresh: batch $$id committed: $$(grep -c '' $(STATE)/batches/$$id/clean.jsonl) documents" >&2; \
	else \
		rm -rf $(W) && echo "refresh: nothing new" >&2; \
	fi

fetch: check $(W)/fetched.jsonl
filter: check $(W)/filtered.jsonl
dedup: check $(W)/dedup.done
redact: check $(W)/clean.jsonl
encode: check $(W)/tokens.tok
shards: check $(W)/shards.done

check:
	@[ -n "$(URLS)" ] || { echo "refresh.mk: set URLS=FILE (one URL a line)" >&2; exit 2; }
	@[ -n "$(BPE_MODEL)" ] || { echo "refresh.mk: set BPE_MODEL=MODEL" >&2; exit 2; }

# A batch starts by recording the manifest as it is, before this batch.
$(W)/id:
	mkdir -p $(W) $(STATE)/batches
	if [ -f $(STATE)/shards/manifest.json ]; then \
		cp $(STATE)/shards/manifest.json $(W)/manifest.before; \
	else : > $(W)/manifest.before; fi
	n=$$(ls $(STATE)/batches | wc -l); \
	printf '%06d-%s\n' $$((n + 1)) "$$(date -u +%Y%m%dT%H%M%SZ)" > $@.tmp && mv $@.tmp $@

# llm-fetch writes the output and the state together (llm-fetch(1),
# "Incremental refresh"); a killed fetch is redone whole.
$(W)/fetched.jsonl: $(W)/id
	llm-fetch --state $(STATE)/fetch.state --source $(SOURCE) $(FETCH_OPTS) \
		--stats $(W)/fetch.json -i $(URLS) -o $@

$(W)/filtered.jsonl: $(W)/fetched.jsonl
	llm-filter -j $(JOBS) $(FILTER_OPTS) --stats $(W)/filter.json $< -o $@

# The index is copied afresh each time the rule runs, so a dedup killed
# after it renamed its index but before the stamp is redone from the
# committed index, not from one that already holds this batch.
$(W)/dedup.done: $(W)/filtered.jsonl
	rm -f $(W)/dedup.idx
	if [ -f $(STATE)/dedup.idx ]; then cp $(STATE)/dedup.idx $(W)/dedup.idx; fi
	llm-dedup -j $(JOBS) $(DEDUP_OPTS) --index $(W)/dedup.idx --stats $(W)/dedup.json \
		$< -o $(W)/dedup.jsonl
	touch $@

$(W)/clean.jsonl: $(W)/dedup.done
	llm-redact -j $(JOBS) $(REDACT_OPTS) --stats $(W)/redact.json $(W)/dedup.jsonl -o $@

$(W)/tokens.tok: $(W)/clean.jsonl
	llm-bpe encode -j $(JOBS) $(addprefix -m ,$(BPE_MODEL)) $< -o $@

# Append once: a manifest that no longer matches the one taken when the
# batch began already holds this batch (runs are serialised by flock).
$(W)/shards.done: $(W)/tokens.tok
	@if [ ! -s $(W)/clean.jsonl ]; then \
		echo "refresh: no new documents"; \
	elif [ -f $(STATE)/shards/manifest.json ] && \
	     ! cmp -s $(W)/manifest.before $(STATE)/shards/manifest.json; then \
		echo "refresh: batch already in the manifest"; \
	else \
		echo "llm-shard --append -o $(STATE)/shards $(W)/tokens.tok"; \
		llm-shard --append -o $(STATE)/shards --val-fraction $(VAL_FRACTION) \
			$(SHARD_OPTS) --stats $(W)/shard.json \
			--source $(SOURCE)=$(W)/tokens.tok || exit 1; \
	fi
	touch $@

# The new index replaces the old one only once the shards have the batch;
# the batch's copy goes once it is installed (a rerun then skips this).
$(W)/index.done: $(W)/shards.done
	if [ -f $(W)/dedup.idx ]; then \
		cp $(W)/dedup.idx $(STATE)/.dedup.idx.tmp && \
		mv $(STATE)/.dedup.idx.tmp $(STATE)/dedup.idx && rm $(W)/dedup.idx; fi
	touch $@

status:
	@echo "corpus:  $(STATE)"
	@echo "batches: $$(ls $(STATE)/batches 2>/dev/null | wc -l) committed"
	@if [ -d $(W) ]; then echo "pending: $$(cat $(W)/id 2>/dev/null || echo starting)"; \
	else echo "pending: none"; fi
	@if [ -f $(STATE)/shards/manifest.json ]; then llm-shard stat $(STATE)/shards; fi
