/*
 * checkpoint.h - llm-train's checkpoint files (llm-checkpoint(5)).
 *
 * One file holds everything a run needs to continue bit for bit: the model
 * configuration, the weights, the AdamW moments and step count, the data
 * position, the seed (all randomness is counter-based, crng.h, so the seed
 * and the counters are the whole random state) and the run's options.
 *
 *   offset  size  field
 *        0     8  magic "LLMKCKPT"
 *        8     4  format version, 1 (u32, little-endian like all of it)
 *       12     4  flags, 0
 *       16     8  H, length of the header (u64)
 *       24     H  header: JSON text (config, sections, tensors, training
 *                 state), padded with spaces
 *        -     -  sections at the 64-byte-aligned offsets the header names:
 *                 "params" (nparams float32), "adam_m", "adam_v"
 *     end-8    8  XXH3-64 of every byte before it
 *
 * Files are written to a temporary name, fsync'ed and renamed (output.h),
 * so a crash mid-write leaves the previous checkpoint intact.  Opening
 * refuses, with a message naming the file: another magic, another format
 * version, a file shorter or longer than its header says (truncated), a
 * checksum that does not match (corrupt); loading refuses a configuration
 * of another shape than the model's.
 */
#ifndef LLM_CHECKPOINT_H
#define LLM_CHECKPOINT_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"

struct llm_err;
struct optim;

#define CKPT_MAGIC "LLMKCKPT"
#define CKPT_VERSION 1

/* The training state beside the weights. */
struct ckpt_train {
	uint64_t step;		/* optimizer steps done */
	uint64_t tokens;	/* training tokens consumed */
	uint64_t data_pos;	/* sequences taken from the data order */
	uint64_t seed;
	json_t *options;	/* the run's options (may be NULL) */
};

/* Write m's weights, o's moments (o may be NULL: weights only) and t (may
 * be NULL) to path atomically. */
int ckpt_save(const char *path, const struct model *m, const struct optim *o,
	      const struct ckpt_train *t, struct llm_err *e);

/* The same from arrays laid out like the whole model's parameters
 * (model_count_params floats each, m->ctensors' offsets): the weights,
 * and AdamW's moments and step (adam_m NULL: weights only).  Only m's
 * configuration and whole tensor table are read: a sharded run (a
 * tensor-parallel share, a pipeline stage) writes the arrays it gathered.
 * ckpt_save is this with m->params and o's moments. */
struct ckpt_arrays {
	const float *params, *adam_m, *adam_v;
	uint64_t adam_t;
};
int ckpt_save_arrays(const char *path, const struct model *m,
		     const struct ckpt_arrays *a, const struct ckpt_train *t,
		     struct llm_err *e);
/* The same with the arrays produced one at a time just before each is
 * written, by next(ctx, which, e) (CKPT_PARAMS, then with has_optim
 * CKPT_ADAM_M and CKPT_ADAM_V; NULL with a message on error), and handed
 * back with done(ctx, which) after: a sharded run holds one whole array
 * at a time. */
struct ckpt_source {
	void *ctx;
	const float *(*next)(void *ctx, int which, struct llm_err *e);
	void (*done)(void *ctx, int which);
	int has_optim;
	uint64_t adam_t;
};
int ckpt_save_source(const char *path, const struct model *m,
		     const struct ckpt_source *s, const struct ckpt_train *t,
		     struct llm_err *e);

/* A checkpoint opened and verified (magic, version, size, checksum). */
struct ckpt;
struct ckpt *ckpt_open(const char *path, struct llm_err *e);
void ckpt_close(struct ckpt *c);

const struct model_config *ckpt_config(const struct ckpt *c);
int ckpt_has_optim(const struct ckpt *c);
/* The training state; t->options stays owned by c. */
void ckpt_train_state(const struct ckpt *c, struct ckpt_train *t);

/* Copy the weights into m, whose configuration must have the same shape
 * (dropout may differ). */
int ckpt_load_model(const struct ckpt *c, struct model *m, struct llm_err *e);
/* Copy the AdamW moments and step count into o (sized for the model). */
int ckpt_load_optim(const struct ckpt *c, struct optim *o, struct llm_err *e);

/* The arrays in place (nparams floats each, read-only, valid until
 * ckpt_close), for loaders that take only a slice (sharded runs):
 * CKPT_PARAMS, CKPT_ADAM_M, CKPT_ADAM_V; NULL when the file has none. */
enum { CKPT_PARAMS, CKPT_ADAM_M, CKPT_ADAM_V };
const float *ckpt_array(const struct ckpt *c, int which);
/* AdamW's step count t (0 without optimizer state). */
uint64_t ckpt_adam_t(const struct ckpt *c);

#endif
