/* train_ckpt.c - a run's checkpoints: the arrays gathered over the ranks,
 * written by rank 0, latest.ckpt, pruning; see train.h and train_int.h. */
#include "train_int.h"
#include "buf.h"
#include "checkpoint.h"
#include "comm.h"
#include "err.h"
#include "zero.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ckpt_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the oldest ckpt-*.ckpt beyond `keep`. */
static void prune(struct trainer *t)
{
	if (t->o.keep <= 0)
		return;
	DIR *d = opendir(t->out);
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "ckpt-", 5) == 0 && len > 10 &&
		    strcmp(de->d_name + len - 5, ".ckpt") == 0) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, ckpt_cmp);
	for (size_t i = 0; i + (size_t)t->o.keep < n; i++) {
		char *p = train_path_in(t->out, names[i]);
		unlink(p);
		free(p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Tensor parallel: the data-parallel rank 0 of each tensor-parallel rank
 * holds its share whole; rank 0 gathers the shares and lays them out as
 * the whole model's arrays (owned[a] then set). */
static int gather_tp(struct trainer *t, float **arr, int *owned,
		     struct llm_err *e)
{
	struct model *m = t->m;
	size_t n = m->nparams, whole_n = model_count_params(&m->cfg);
	int T = t->tp->size;
	float *all = xmalloc(n * (size_t)T * sizeof *all);
	if (comm_all_gather(t->tp, *arr, all, n, COMM_F32, e) < 0) {
		free(all);
		return -1;
	}
	if (t->tp->rank == 0) {
		float *w = xcalloc(whole_n, sizeof *w);	/* zero: see gather_pp */
		for (int r = 0; r < T; r++)
			for (int k = 0; k < m->ntensors; k++)
				model_tp_slice(m, k, r, w + m->ctensors[k].offset,
					       all + (size_t)r * n + m->tensors[k].offset, 0);
		if (*owned)
			free(*arr);
		*arr = w;
		*owned = 1;
	}
	free(all);
	return 0;
}

/* Pipeline: each stage's first rank holds its tensors whole; laid out in
 * the whole model's arrays, zero elsewhere, the stages' arrays add up to
 * the whole model (the last stage's copy of tied embeddings left out). */
static int gather_pp(struct trainer *t, float **arr, int *owned,
		     struct llm_err *e)
{
	struct model *m = t->m;
	size_t whole_n = model_count_params(&m->cfg);
	if (!t->tp) {	/* this stage's layout: to the whole one */
		float *w = xcalloc(whole_n, sizeof *w);
		for (int k = 0; k < m->ntensors; k++)
			memcpy(w + m->ctensors[k].offset, *arr + m->tensors[k].offset,
			       m->tensors[k].numel * sizeof *w);
		if (*owned)
			free(*arr);
		*arr = w;
		*owned = 1;
	}
	const struct model_tensor *wte = model_tensor(m, "wte");
	if (!m->first && wte)	/* the last stage's copy */
		memset(*arr + m->ctensors[wte - m->tensors].offset, 0,
		       m->ctensors[wte - m->tensors].numel * sizeof(float));
	return comm_all_reduce(t->pp, *arr, *arr, whole_n, COMM_F32, COMM_SUM, e);
}

/* One of the whole model's arrays (0 parameters, 1 and 2 AdamW's
 * moments) on rank 0, gathered over the data-parallel, tensor-parallel
 * and pipeline groups; every rank calls it. */
struct saver {
	struct trainer *t;
	float *arr;
	int owned, next;	/* next: the array to gather next */
};

static int gather_array(struct saver *s, int which, struct llm_err *e)
{
	struct trainer *t = s->t;
	s->next = which + 1;
	s->arr = NULL;
	s->owned = zero_gather_owned(t->z);
	if (zero_gather_one(t->z, which, &s->arr, e) < 0)
		return -1;
	int rc = 0;
	if (t->tp && t->dp->rank == 0)
		rc = gather_tp(t, &s->arr, &s->owned, e);
	int head = t->dp->rank == 0 && (!t->tp || t->tp->rank == 0);
	if (rc == 0 && t->pp && head)
		rc = gather_pp(t, &s->arr, &s->owned, e);
	if (rc < 0 && s->owned) {
		free(s->arr);
		s->arr = NULL;
	}
	return rc;
}

/* The checkpoint writer's source, on rank 0 (which ends up with it). */
static const float *gather_next(void *ctx, int which, struct llm_err *e)
{
	struct saver *s = ctx;
	return gather_array(s, which, e) < 0 ? NULL : s->arr;
}

static void gather_done(void *ctx, int which)
{
	struct saver *s = ctx;
	(void)which;
	if (s->owned)
		free(s->arr);
	s->arr = NULL;
}

/* The whole model and optimizer in the one layout-independent format,
 * written by rank 0 one array at a time (one whole array in its memory
 * besides its own share). */
static int save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		struct llm_err *e)
{
	struct saver s = {t, NULL, 0, 0};
	int rc = 0;
	if (t->rank == 0) {
		struct ckpt_source src = {&s, gather_next, gather_done, 1, zero_adam_t(t->z)};
		rc = ckpt_save_source(path, t->m, &src, ts, e);
	}
	/* The other ranks take part in every gather; so does rank 0 in those
	 * its writer did not reach after an error. */
	struct llm_err ignored;
	for (int which = s.next; which < 3; which++) {
		if (gather_array(&s, which, t->rank == 0 ? &ignored : e) < 0 && t->rank != 0)
			rc = -1;
		gather_done(&s, which);
	}
	return rc;
}

int train_checkpoint(struct trainer *t, struct llm_err *e)
{
	char name[64];
	snprintf(name, sizeof name, "ckpt-%08llu.ckpt", (unsigned long long)t->step);
	char *path = train_path_in(t->out, name);
	struct ckpt_train ts = {t->step, t->tokens, t->data_pos, t->o.seed,
				train_opts_to_json(&t->o)};
	int rc;
#ifdef LLM_CUDA
	if (t->g)
		rc = train_gpu_save(t, path, &ts, e);
	else
#endif
		rc = save(t, path, &ts, e);
	json_decref(ts.options);
	free(path);
	if (rc < 0 || t->rank != 0)
		return rc;
	/* Point latest.ckpt at it: a new link renamed over the old one. */
	char *tmp = train_path_in(t->out, ".latest.ckpt.tmp");
	char *latest = train_path_in(t->out, "latest.ckpt");
	unlink(tmp);
	if (symlink(name, tmp) < 0 || rename(tmp, latest) < 0)
		rc = llm_err_set(e, "%s: %s", latest, strerror(errno));
	free(tmp);
	free(latest);
	if (rc == 0)
		prune(t);
	return rc;
}
