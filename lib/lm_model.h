/*
 * lm_model.h - the CPU Transformer (model.h) with a BPE tokenizer (bpe.h)
 * as the struct lm that lmscore.h scores with.
 *
 * score() runs each batch of requests as one forward pass of shape
 * (requests, longest input), shorter inputs padded at the end (attention
 * is causal, so padding never changes what comes before it) and ignored
 * as targets; the summed log-probability of a request's scored tokens is
 * -sum of the model's per-token losses there, and greedy means each
 * scored token is the argmax of its row of logits.  Batches are cut so
 * that one pass holds at most LM_MODEL_TOKENS positions, which bounds the
 * activation memory.  next() is one forward pass over the sequence and a
 * log-softmax of the last row.
 *
 * The model and the tokenizer are borrowed and must outlive the adapter.
 * Token ids the tokenizer makes must be below the model's vocabulary;
 * a request holding one fails with the model's message.
 */
#ifndef LLM_LM_MODEL_H
#define LLM_LM_MODEL_H

struct bpe;
struct llm_err;
struct lm;
struct model;

#define LM_MODEL_TOKENS 8192	/* positions in one forward pass, at most */

struct lm_model;

/* NULL with e set when the tokenizer has no end-of-text token. */
struct lm_model *lm_model_new(struct model *m, const struct bpe *tok,
			      struct llm_err *e);
void lm_model_free(struct lm_model *x);
/* Fill out with the adapter's functions and sizes. */
void lm_model_lm(struct lm_model *x, struct lm *out);

#endif
