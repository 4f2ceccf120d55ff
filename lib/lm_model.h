/*
 * lm_model.h - the CPU Transformer (model.h) with a BPE tokenizer (bpe.h)
 * as the struct lm that lmscore.h scores with.
 *
 * score() runs each batch of requests (the choices of one question) with
 * the key/value cache of infer.h: the input positions every request
 * shares, up to the first scored one, run once (and stay cached, so a
 * later batch with the same prefix, a few-shot prompt, reuses them); the
 * rest of every request then runs as one branch of shape (requests,
 * longest rest), shorter ones padded at the end (attention is causal, so
 * padding never changes what comes before it).  Requests sharing nothing
 * (rolling windows) run as one plain forward pass instead, padded the
 * same way, with targets ignored in the padding.  The summed
 * log-probability of a request is that of its scored tokens under a
 * log-softmax of their rows, and greedy means each scored token is the
 * argmax of its row.  Batches are cut so that one pass holds at most
 * LM_MODEL_TOKENS positions, which bounds the activation memory.
 * next() reuses the cached prefix of its sequence (during generation,
 * all but the newest token) and runs the rest.
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
