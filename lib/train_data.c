/* train_data.c - the training data: shard splits, windows, the shuffled
 * order; see train.h (Data) and train_int.h. */
#include "train_int.h"
#include "crng.h"
#include "err.h"
#include "shard.h"

#include <stdint.h>
#include <string.h>

/* Whether the manifest lists any shard of this split. */
static int has_split(const char *dir, const char *split, struct llm_err *e)
{
	struct manifest m;
	if (manifest_load(dir, &m, e) < 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < m.n; i++)
		found |= strcmp(m.shards[i].split, split) == 0;
	manifest_free(&m);
	return found;
}

static int open_split(struct split *sp, const char *dir, const char *name, int seq,
		      uint32_t vocab, struct llm_err *e)
{
	sp->s = shard_set_open(dir, name, e);
	if (!sp->s)
		return -1;
	if (shard_set_vocab(sp->s) != vocab)
		return llm_err_set(e, "%s: the shards' vocabulary is %u, the model's %u",
				   dir, shard_set_vocab(sp->s), vocab);
	uint64_t n = shard_set_ntokens(sp->s);
	sp->nwin = n > 0 ? (n - 1) / (uint64_t)seq : 0;
	if (sp->nwin == 0)
		return llm_err_set(e, "%s: %llu %s tokens are too few for one sequence of %d",
				   dir, (unsigned long long)n, name, seq);
	return 0;
}

/* Read window w (seq+1 tokens) into ids/targets row b; check the ids. */
int train_read_window(struct trainer *t, const struct split *sp, uint64_t w,
		      int b, struct llm_err *e)
{
	int T = t->o.seq;
	if (shard_set_read(sp->s, w * (uint64_t)T, t->window, (size_t)T + 1, e) < 0)
		return -1;
	uint32_t V = (uint32_t)t->m->cfg.vocab;
	for (int i = 0; i <= T; i++)
		if (t->window[i] >= V)
			return llm_err_set(e, "%s: token id %u at %llu is outside the vocabulary (%u)",
					   t->o.data, t->window[i],
					   (unsigned long long)(w * (uint64_t)T + (uint64_t)i), V);
	for (int i = 0; i < T; i++) {
		t->ids[b * T + i] = t->window[i];
		t->targets[b * T + i] = (int32_t)t->window[i + 1];
	}
	return 0;
}

/* This rank's rows of the next micro-batch of the shuffled training
 * order; the position moves past the whole micro-batch. */
int train_next_batch(struct trainer *t, struct llm_err *e)
{
	uint64_t data_key = crng_key(t->o.seed, 0xDA7A);
	for (int b = 0; b < t->rows; b++) {
		uint64_t s = t->data_pos + (uint64_t)(t->row0 + b);
		uint64_t epoch = s / t->train.nwin, i = s % t->train.nwin;
		uint64_t w = crng_permute(crng_key(data_key, epoch), t->train.nwin, i);
		if (train_read_window(t, &t->train, w, b, e) < 0)
			return -1;
	}
	t->data_pos += (uint64_t)t->o.batch;
	return 0;
}

int train_setup_data(struct trainer *t, struct model_config *c, struct llm_err *e)
{
	const char *dir = t->o.data;
	if (!dir)
		return llm_err_set(e, "no --data folder");
	struct shard_set *probe = shard_set_open(dir, "train", e);
	if (!probe)
		return -1;
	uint32_t v = shard_set_vocab(probe);
	shard_set_close(probe);
	if (c->vocab == 0)
		c->vocab = (int)v;
	if (t->o.seq == 0)
		t->o.seq = c->context < 64 ? c->context : 64;
	if (t->o.seq > c->context)
		return llm_err_set(e, "--seq %d is longer than the context %d", t->o.seq,
				   c->context);
	if (open_split(&t->train, dir, "train", t->o.seq, (uint32_t)c->vocab, e) < 0)
		return -1;
	int hv = has_split(dir, "val", e);
	if (hv < 0)
		return -1;
	if (hv && open_split(&t->val, dir, "val", t->o.seq, (uint32_t)c->vocab, e) < 0)
		return -1;
	return 0;
}
