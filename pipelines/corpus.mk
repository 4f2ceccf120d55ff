# corpus.mk - curation from a WARC folder and/or a URL list to shards,
# one target per stage, parallel across input files with make -j.
#
#   make -f pipelines/corpus.mk -j 8 OUT=work WARC_DIR=crawl/ [URLS=urls.txt]
#   make -f pipelines/corpus.mk OUT=work ... counts     # documents per stage
#
# Every WARC/WET file in WARC_DIR (*.warc, *.warc.gz, *.wet, *.wet.gz, and
# .zst/.arc variants as llm-fetch reads them) is one partition, and the URL
# list is split into URL_PARTS partitions.  Each partition goes through the
# per-file stages on its own, so `make -j N` runs N of them at once;
# deduplication is global (llm-dedup's map/reduce steps, the same removals
# as one llm-dedup over all partitions in order); the tokenizer is trained
# once on all the clean text unless TOKENIZER names one; the shards take all
# partitions.  Stages, each a target (the default is shards):
#
#   fetch      OUT/fetch/P.jsonl     llm-fetch (WARC records or crawled pages)
#   filter     OUT/filter/P.jsonl    llm-filter
#   dedup      OUT/dedup/P.jsonl     llm-dedup sig / bucket (per partition),
#                                    cluster (per bucket), apply (per partition)
#   redact     OUT/clean/P.jsonl     llm-redact
#   tokenizer  OUT/tok.bpe           llm-bpe train (skipped with TOKENIZER=)
#   encode     OUT/tokens/P.tok      llm-bpe encode
#   shards     OUT/shards/           llm-shard (manifest.json, train/val)
#   counts                           documents in and out of every stage
#   parts                            the number of partitions (for job arrays:
#                                    pipelines/slurm/curate-array.sbatch)
#
# Partitions are numbered 1..N: the WARC files in sorted order, then the
# URL parts.  Crawled pages are written in the order their fetches end
# (llm-fetch(1)), so a rerun of a URL partition may order its documents
# differently and keep the other page of two duplicates; WARC partitions
# give the same bytes every time.  Every output is written atomically, so
# an interrupted make is simply run again and continues where it stopped.
# A file whose content changes is redone in place; adding or removing a
# file renumbers the partitions after it, so start a fresh OUT then.
# For several sources with a mixture, run corpus.mk once per source (OUT
# and SOURCE differ, TOKENIZER the same) and pack OUT*/tokens/*.tok with
# `llm-shard --source ... --mix ...`.
#
# Variables:
#   OUT          output folder (default: corpus-out)
#   WARC_DIR     folder of WARC/WET files
#   URLS         URL list, one a line;  URL_PARTS  its partitions (default 4)
#   SOURCE       the documents' source name (default: web)
#   TOKENIZER    existing tokenizer (llm-bpe model, or GPT-2's encoder.json
#                and vocab.bpe separated by a space); else one is trained:
#   VOCAB        its vocabulary size (default 8192)
#   BUCKETS      dedup buckets, the parallelism of its reduce step (16)
#   VAL_FRACTION share of the tokens for validation (0.01)
#   SHARD_TOKENS tokens per shard (100000000)
#   THREADS      threads per program (default 1: make -j gives the parallelism)
#   FETCH_OPTS FILTER_OPTS DEDUP_OPTS REDACT_OPTS BPE_OPTS SHARD_OPTS  extra
#                options (DEDUP_OPTS: matching options for `llm-dedup sig`)
#   LLM_BUILD    put $(LLM_BUILD)/bin first on PATH when it exists (build)

OUT          ?= corpus-out
WARC_DIR     ?=
URLS         ?=
URL_PARTS    ?= 4
SOURCE       ?= web
TOKENIZER    ?=
VOCAB        ?= 8192
BUCKETS      ?= 16
VAL_FRACTION ?= 0.01
SHARD_TOKENS ?= 100000000
THREADS      ?= 1
LLM_BUILD    ?= build
ifneq ($(wildcard $(LLM_BUILD)/bin/llm-fetch),)
export PATH := $(abspath $(LLM_BUILD))/bin:$(PATH)
endif
SHELL := /bin/sh
.DELETE_ON_ERROR:
.SECONDEXPANSION:
.SECONDARY:

WARCS := $(sort $(foreach e,warc warc.gz warc.zst wet wet.gz wet.zst arc arc.gz,\
	$(wildcard $(WARC_DIR)/*.$(e))))
URL_FILES := $(if $(URLS),$(foreach k,$(shell seq 1 $(URL_PARTS)),$(OUT)/urls/$(k).txt))
INPUTS := $(WARCS) $(URL_FILES)
PARTS := $(shell seq 1 $(words $(INPUTS)))
KEYS := $(shell seq -f %05g 0 $$(($(BUCKETS) - 1)))

ifeq ($(strip $(INPUTS)),)
$(error corpus.mk: no input; set WARC_DIR=DIR with WARC files and/or URLS=FILE)
endif

FETCHED  := $(PARTS:%=$(OUT)/fetch/%.jsonl)
FILTERED := $(PARTS:%=$(OUT)/filter/%.jsonl)
BUCKETED := $(PARTS:%=$(OUT)/dedup/bkt/%.done)
REMOVALS := $(KEYS:%=$(OUT)/dedup/rm/%.rm)
DEDUPED  := $(PARTS:%=$(OUT)/dedup/%.jsonl)
CLEAN    := $(PARTS:%=$(OUT)/clean/%.jsonl)
TOKENS   := $(PARTS:%=$(OUT)/tokens/%.tok)
TOK_MODEL := $(if $(TOKENIZER),$(TOKENIZER),$(OUT)/tok.bpe)

.PHONY: all fetch filter dedup redact tokenizer encode shards counts parts
all: shards
fetch: $(FETCHED)
filter: $(FILTERED)
dedup: $(DEDUPED)
redact: $(CLEAN)
tokenizer: $(TOK_MODEL)
encode: $(TOKENS)
shards: $(OUT)/shards/manifest.json

parts:
	@echo $(words $(PARTS))

# URL part k: lines k, k+N, k+2N ... of the list.
$(OUT)/urls/%.txt: $(URLS)
	@mkdir -p $(@D)
	awk -v n=$(URL_PARTS) -v k=$* '(NR - 1) % n == k - 1' $< > $@.tmp && mv $@.tmp $@

# Partition P's input is the P-th word of INPUTS: a URL part or a file.
$(OUT)/fetch/%.jsonl: $$(word $$*,$$(INPUTS))
	@mkdir -p $(@D)
	llm-fetch --source $(SOURCE) $(FETCH_OPTS) --stats $(@:.jsonl=.json) \
		$(if $(filter $(OUT)/urls/%,$<),-i $<,$<) -o $@

$(OUT)/filter/%.jsonl: $(OUT)/fetch/%.jsonl
	@mkdir -p $(@D)
	llm-filter -j $(THREADS) $(FILTER_OPTS) --stats $(@:.jsonl=.json) $< -o $@

# Dedup map: signatures of partition P (--part counts from 0), then its
# share of every bucket.
$(OUT)/dedup/sig/%.sig: $(OUT)/filter/%.jsonl
	@mkdir -p $(@D)
	llm-dedup sig $(DEDUP_OPTS) -j $(THREADS) --part $$(($* - 1)) -o $@ $<

$(OUT)/dedup/bkt/%.done: $(OUT)/dedup/sig/%.sig
	@mkdir -p $(@D)
	llm-dedup bucket --buckets $(BUCKETS) -o $(@D) $<
	touch $@

# Dedup reduce: one removal list per bucket, once every partition is in.
$(OUT)/dedup/rm/%.rm: $(BUCKETED)
	@mkdir -p $(@D)
	llm-dedup cluster -o $@ $(OUT)/dedup/bkt/bucket-$*.part-*.bkt

# Dedup apply: partition P keeps what no removal list names.
$(OUT)/dedup/%.jsonl: $(OUT)/filter/%.jsonl $(REMOVALS)
	llm-dedup apply --part $$(($* - 1)) $(addprefix -r ,$(REMOVALS)) \
		--stats $(@:.jsonl=.json) -o $@ $<

$(OUT)/clean/%.jsonl: $(OUT)/dedup/%.jsonl
	@mkdir -p $(@D)
	llm-redact -j $(THREADS) $(REDACT_OPTS) --stats $(@:.jsonl=.json) $< -o $@

$(OUT)/tok.bpe: $(CLEAN)
	llm-bpe train -j $(THREADS) --vocab-size $(VOCAB) --special '<|endoftext|>' \
		$(BPE_OPTS) -o $@ $(CLEAN)

$(OUT)/tokens/%.tok: $(OUT)/clean/%.jsonl $(TOK_MODEL)
	@mkdir -p $(@D)
	llm-bpe encode -j $(THREADS) $(addprefix -m ,$(TOK_MODEL)) $< -o $@

# The shard folder is rebuilt whole when a partition changes.
$(OUT)/shards/manifest.json: $(TOKENS)
	rm -rf $(OUT)/shards
	llm-shard -o $(OUT)/shards $(addprefix --source $(SOURCE)=,$(TOKENS)) \
		--val-fraction $(VAL_FRACTION) --shard-tokens $(SHARD_TOKENS) \
		$(SHARD_OPTS) --stats $(OUT)/shard.json

# Documents in and out of every stage, summed over the partitions, and
# why documents were dropped.
counts:
	@python3 $(dir $(lastword $(MAKEFILE_LIST)))stage_counts.py \
		fetch=$(OUT)/fetch filter=$(OUT)/filter dedup=$(OUT)/dedup redact=$(OUT)/clean
	@if [ -f $(OUT)/shards/manifest.json ]; then llm-shard stat $(OUT)/shards; fi
