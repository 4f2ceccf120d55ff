/*
 * sample.h - choosing the next token from a model's logits, and generating.
 *
 * sample_token() applies, in this order: temperature (0 or less means
 * greedy: the largest logit, the lowest id on ties), top-k (keep the k
 * most likely; 0: all), top-p (keep the smallest set of most likely tokens
 * whose probability reaches p; 1: all), then draws from what is left with
 * one uniform number from the caller's crng stream, so a seed fixes the
 * text.
 */
#ifndef LLM_SAMPLE_H
#define LLM_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

struct bpe;
struct bpe_ids;
struct crng;
struct llm_err;
struct model;
struct output;

struct sample_opts {
	float temperature;
	int top_k;
	float top_p;
};

struct sampler;
/* A sampler for vocabularies of up to V tokens (scratch space). */
struct sampler *sampler_new(int V);
void sampler_free(struct sampler *s);
int sample_token(struct sampler *s, const float *logits, int V,
		 const struct sample_opts *o, struct crng *r);

/*
 * Continue ctx[0..n) by up to max_new tokens, each fed back in; the model
 * sees the last `context` tokens.  A key/value cache (infer.h) makes each
 * token cost one position while the sequence fits the context (past it,
 * the sliding window is recomputed per token, its positions restarting).  emit(arg, id) is called for each new
 * token and may return non-zero to stop (an end-of-text, say).  Returns
 * the number generated, or -1 with e set.
 */
long sample_generate(struct model *m, const uint32_t *ctx, size_t n,
		     long max_new, const struct sample_opts *o, struct crng *r,
		     int (*emit)(void *arg, uint32_t id), void *arg,
		     struct llm_err *e);

/*
 * Text: a tokenizer tok (bpe.h), or NULL for a byte-level model (each
 * byte its own id).  sample_prompt() appends the ids of prompt to ids; an
 * empty prompt starts from tok's end-of-text, when it has one (with none,
 * or bytes, it gives no ids: the caller needs a prompt).  -1 with a
 * message for an id at or beyond vocab.
 */
int sample_prompt(const struct bpe *tok, const char *prompt, int vocab,
		  struct bpe_ids *ids, struct llm_err *e);
/* sample_generate() whose tokens are written to out as text (decoded by
 * tok, or one byte each), stopping at tok's end-of-text.  The number of
 * tokens generated, or -1 with e set, the output's failure included; out
 * is neither committed nor aborted. */
long sample_text(struct model *m, const struct bpe *tok, const uint32_t *ctx,
		 size_t n, long max_new, const struct sample_opts *o, struct crng *r,
		 struct output *out, struct llm_err *e);

#endif
