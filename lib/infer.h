/*
 * infer.h - inference with a key/value cache over the Transformer of
 * model.h: a context is computed once, then continued.
 *
 * A struct infer borrows a struct model and keeps, for the tokens it has
 * seen (its "cache", at most cfg.context of them, at positions 0, 1, ...),
 * every layer's keys and values (after RoPE).  Three ways to use it:
 *
 *   infer_append()  feed tokens after the cache and keep them: a prompt's
 *                   prefill, then one token at a time for generation, so
 *                   each new token costs O(cached tokens), not a whole
 *                   forward pass.
 *   infer_branch()  run B continuations (B,T) after the cache without
 *                   keeping them: the choices of a multiple-choice
 *                   question share their context's cached keys/values.
 *   infer_next()    logits after a sequence, reusing whatever prefix of it
 *                   is cached (infer_common) and appending the rest.
 *
 * The function computed is model_forward's in inference mode (dropout
 * off) for every option of struct model_config: the logits of a token at
 * position P + t equal those of model_forward on the whole sequence to
 * rounding (sums run in a different order).  Positions (learned,
 * sinusoidal, RoPE) and ALiBi's distances use the absolute position.
 *
 * Logits rows are Vp floats (padded_vocab), the first V real.  Pointers
 * returned point into the infer's own buffers, valid until its next call.
 * Not thread-safe; the model's pool runs the work.
 */
#ifndef LLM_INFER_H
#define LLM_INFER_H

#include <stdint.h>

struct llm_err;
struct model;

struct infer;

struct infer *infer_new(struct model *m);
void infer_free(struct infer *x);

/* Tokens in the cache. */
int infer_len(const struct infer *x);
/* How many leading tokens of ids[0..n) the cache holds already. */
int infer_common(const struct infer *x, const uint32_t *ids, int n);
/* Forget all but the first n cached tokens (a prefix stays valid:
 * attention is causal). */
void infer_truncate(struct infer *x, int n);

/*
 * Append ids[0..n) (n >= 1) to the cache.  With logits non-NULL, *logits
 * gets the last token's row (Vp); NULL skips the output layer.  Fails on
 * an id >= vocab or when the cache would exceed the context.
 */
int infer_append(struct infer *x, const uint32_t *ids, int n,
		 const float **logits, struct llm_err *e);

/*
 * B continuations ids (B,T) after the cached tokens, each row at
 * positions len .. len+T-1 seeing the cache and its own earlier tokens;
 * a shorter continuation padded at its end is unaffected (causal).
 * *logits gets (B,T,Vp).  The cache is unchanged.
 */
int infer_branch(struct infer *x, const uint32_t *ids, int B, int T,
		 const float **logits, struct llm_err *e);

/* *logits (Vp) of the token after ids[0..n), 1 <= n <= context: the
 * cached prefix of ids is kept, the rest appended. */
int infer_next(struct infer *x, const uint32_t *ids, int n,
	       const float **logits, struct llm_err *e);

#endif
