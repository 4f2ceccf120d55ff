# eval.mk - evaluate a checkpoint: perplexity, multiple choice, and BLEU and
# ROUGE of its generations against held-out text; one table at the end.
#
#   make -f pipelines/eval.mk CKPT=run/latest.ckpt TOKENIZER=tok.bpe \
#        DATA=shards HELDOUT=heldout.jsonl OUT=eval [target]
#
# Targets (the default, all, makes every one that its inputs allow):
#   ppl      OUT/ppl.json          llm-eval ppl on DATA (a shard folder's val
#                                  split, or a JSONL document file)
#   mc       OUT/mc-TASK.json      llm-eval mc for each of TASKS, the first
#                                  LIMIT questions (and OUT/mc-TASK.jsonl,
#                                  one line per question)
#   generate OUT/generations.jsonl llm-eval generate: the first PROMPT_WORDS
#                                  words of the last GEN_DOCS documents of
#                                  HELDOUT continued (pipelines/heldout.py)
#   bleu     OUT/bleu.json         llm-eval bleu, generations vs the next
#   rouge    OUT/rouge.json        REF_WORDS words of the same documents
#   table    OUT/eval.md           the results as a Markdown table
#                                  (pipelines/eval_table.py)
#
# HELDOUT must be text the model was not trained on (documents kept out of
# the shards); without it, generate, bleu and rouge are skipped.
#
# Variables:
#   CKPT TOKENIZER   the checkpoint and its tokenizer (required)
#   DATA             shard folder or JSONL for ppl (skipped when empty)
#   HELDOUT          held-out documents (JSONL) for generate/bleu/rouge
#   OUT              results folder (default: eval)
#   TASKS            multiple-choice tasks (hellaswag arc_easy)
#   LIMIT            questions per task (100; empty: all)
#   EVAL_DATA        folder of the named tasks (llm-eval's default:
#                    $LLM_EVAL_DATA, else ../shared/data/eval)
#   GEN_DOCS PROMPT_WORDS REF_WORDS MAX_TOKENS  generation set-up
#                    (20, 20, 25, 40); greedy decoding
#   JOBS             threads (default 2)
#   LLM_BUILD        put $(LLM_BUILD)/bin first on PATH when it exists (build)

OUT          ?= eval
TASKS        ?= hellaswag arc_easy
LIMIT        ?= 100
EVAL_DATA    ?=
DATA         ?=
HELDOUT      ?=
GEN_DOCS     ?= 20
PROMPT_WORDS ?= 20
REF_WORDS    ?= 25
MAX_TOKENS   ?= 40
JOBS         ?= 2
LLM_BUILD    ?= build
ifneq ($(wildcard $(LLM_BUILD)/bin/llm-eval),)
export PATH := $(abspath $(LLM_BUILD))/bin:$(PATH)
endif
HERE := $(dir $(lastword $(MAKEFILE_LIST)))
SHELL := /bin/sh
.DELETE_ON_ERROR:

ifeq ($(strip $(CKPT)),)
$(error eval.mk: set CKPT=CHECKPOINT and TOKENIZER=MODEL)
endif
ifeq ($(strip $(TOKENIZER)),)
$(error eval.mk: set TOKENIZER=MODEL (or bytes))
endif

E = --model $(CKPT) -m $(TOKENIZER) -j $(JOBS)
MC := $(TASKS:%=$(OUT)/mc-%.json)
RESULTS := $(if $(DATA),$(OUT)/ppl.json) $(MC) \
	$(if $(HELDOUT),$(OUT)/bleu.json $(OUT)/rouge.json)

.PHONY: all ppl mc generate bleu rouge table
all: table
ppl: $(OUT)/ppl.json
mc: $(MC)
generate: $(OUT)/generations.jsonl
bleu: $(OUT)/bleu.json
rouge: $(OUT)/rouge.json
table: $(OUT)/eval.md

$(OUT)/ppl.json: $(CKPT) $(wildcard $(DATA)/manifest.json)
	@mkdir -p $(@D)
	llm-eval ppl $(E) --data $(DATA) --json $@

$(OUT)/mc-%.json: $(CKPT)
	@mkdir -p $(@D)
	llm-eval mc $(E) --task $* $(if $(LIMIT),--limit $(LIMIT)) \
		$(if $(EVAL_DATA),--data-dir $(EVAL_DATA)) -o $(@:.json=.jsonl) --json $@

$(OUT)/prompts.jsonl: $(HELDOUT)
	@mkdir -p $(@D)
	python3 $(HERE)heldout.py prompts $< $@ $(OUT)/refs.txt --limit $(GEN_DOCS) \
		--prompt-words $(PROMPT_WORDS) --ref-words $(REF_WORDS)

$(OUT)/generations.jsonl: $(OUT)/prompts.jsonl $(CKPT)
	llm-eval generate $(E) --prompts $< --max-tokens $(MAX_TOKENS) -o $@

$(OUT)/hyps.txt: $(OUT)/generations.jsonl
	python3 $(HERE)heldout.py hyps $< $@

$(OUT)/bleu.json: $(OUT)/hyps.txt
	llm-eval bleu --hyp $< --ref $(OUT)/refs.txt -o $@

$(OUT)/rouge.json: $(OUT)/hyps.txt
	llm-eval rouge --hyp $< --ref $(OUT)/refs.txt -o $@

$(OUT)/eval.md: $(RESULTS)
	python3 $(HERE)eval_table.py $(OUT) > $@.tmp && mv $@.tmp $@
	cat $@
