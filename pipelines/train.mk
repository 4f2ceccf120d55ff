# train.mk - train a model on a shard folder, plot its loss, sample from it.
#
#   make -f pipelines/train.mk DATA=corpus-out/shards RUN=run \
#        TOKENIZER=corpus-out/tok.bpe STEPS=2000 [target]
#
# Targets (the default, all, is train + plot + sample):
#   plan     RUN/plan.txt     llm-train plan: memory, FLOPs, time and cost
#                             of this model on TOKENS tokens (GPUS x GPU)
#   train    RUN/done         llm-train; a run stopped half way (killed,
#                             or STOP_AFTER) resumes from RUN/latest.ckpt,
#                             continuing the same loss curve
#   plot     RUN/loss.png     llm-train plot: train and val loss
#   sample   RUN/sample.txt   llm-train sample: PROMPT continued
#   export   RUN/hf/          llm-train export: a Hugging Face folder
#                             (GPT-2 family configurations)
#
# Variables:
#   DATA        shard folder from llm-shard (train and val splits; required)
#   RUN         run folder (default: run)
#   TOKENIZER   the shards' tokenizer, for sample and export (or 'bytes')
#   MODEL       model options (default: a 4-layer, width-128 model that
#               learns on a CPU in minutes; GPT-2 124M is
#               "--layers 12 --heads 12 --width 768 --context 1024")
#   BATCH SEQ STEPS LR MIN_LR WARMUP   batch, sequence length, steps and
#               learning rate schedule (16, 128, 1000, 1e-3, 1e-4, 50)
#   EVAL_EVERY CKPT_EVERY   steps between val evaluations / checkpoints
#               (100, 200)
#   SEED        training seed (1)
#   STOP_AFTER  checkpoint and stop after this many steps in this make (for
#               time-limited jobs); the next make continues the run
#   TRAIN_OPTS  more llm-train options (e.g. --dp/--tp/--zero, --threads)
#   LAUNCH      a launcher for the training command, e.g. "mpirun -np 4"
#               (see llm-train(1) and pipelines/slurm/ for several nodes)
#   TOKENS GPU GPUS  for plan: training tokens (STEPS x BATCH x SEQ), the
#               GPU kind and count (A100, 8)
#   PROMPT N TEMPERATURE TOP_K   for sample ("The", 200, 0.8, 40)
#   LLM_BUILD   put $(LLM_BUILD)/bin first on PATH when it exists (build)

RUN         ?= run
TOKENIZER   ?= bytes
MODEL       ?= --layers 4 --heads 4 --width 128 --context 128
BATCH       ?= 16
SEQ         ?= 128
STEPS       ?= 1000
LR          ?= 1e-3
MIN_LR      ?= 1e-4
WARMUP      ?= 50
EVAL_EVERY  ?= 100
CKPT_EVERY  ?= 200
SEED        ?= 1
TRAIN_OPTS  ?=
LAUNCH      ?=
TOKENS      ?= $(shell echo $$(($(STEPS) * $(BATCH) * $(SEQ))))
GPU         ?= A100
GPUS        ?= 8
PROMPT      ?= The
N           ?= 200
TEMPERATURE ?= 0.8
TOP_K       ?= 40
LLM_BUILD   ?= build
ifneq ($(wildcard $(LLM_BUILD)/bin/llm-train),)
export PATH := $(abspath $(LLM_BUILD))/bin:$(PATH)
endif
SHELL := /bin/sh
.DELETE_ON_ERROR:

ifeq ($(strip $(DATA)),)
$(error train.mk: set DATA=SHARD_DIR (a folder made by llm-shard))
endif

.PHONY: all plan train plot sample export
all: train plot sample
plan: $(RUN)/plan.txt
train: $(RUN)/done
plot: $(RUN)/loss.png
sample: $(RUN)/sample.txt
export: $(RUN)/hf/config.json

$(RUN)/plan.txt: $(DATA)/manifest.json
	@mkdir -p $(@D)
	llm-train plan $(MODEL) --vocab $$(llm-shard stat --json $(DATA) | \
		sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' | head -1) \
		--tokens $(TOKENS) --gpu $(GPU) --gpus $(GPUS) --batch $(BATCH) --seq $(SEQ) > $@.tmp
	mv $@.tmp $@
	cat $@

# llm-train writes a checkpoint every CKPT_EVERY steps and at the end; the
# stamp says the run reached STEPS.  Without it, the next make resumes.
$(RUN)/done: $(DATA)/manifest.json
	@mkdir -p $(RUN)
	if [ -f $(RUN)/latest.ckpt ]; then resume=--resume; else resume=; fi; \
	$(LAUNCH) llm-train --data $(DATA) --out $(RUN) $(MODEL) --batch $(BATCH) --seq $(SEQ) \
		--steps $(STEPS) --lr $(LR) --min-lr $(MIN_LR) --warmup $(WARMUP) \
		--eval-every $(EVAL_EVERY) --checkpoint-every $(CKPT_EVERY) --seed $(SEED) \
		$(TRAIN_OPTS) $(if $(STOP_AFTER),--stop-after $(STOP_AFTER)) $$resume
	$(if $(STOP_AFTER),@echo "train.mk: stopped after $(STOP_AFTER) steps; make again to go on",touch $@)

$(RUN)/loss.png: $(RUN)/done
	llm-train plot $(RUN) -o $@

$(RUN)/sample.txt: $(RUN)/done
	llm-train sample --model $(RUN)/latest.ckpt -m $(TOKENIZER) --prompt "$(PROMPT)" \
		-n $(N) --temperature $(TEMPERATURE) --top-k $(TOP_K) --seed $(SEED) -o $@
	cat $@

$(RUN)/hf/config.json: $(RUN)/done
	llm-train export --model $(RUN)/latest.ckpt -m $(TOKENIZER) -o $(RUN)/hf
