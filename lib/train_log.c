/* train_log.c - a run's log.jsonl: one line per step written, cut back
 * on resuming, read back as loss curves; see train.h. */
#include "train_int.h"
#include "buf.h"
#include "err.h"
#include "output.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void train_log_step(struct trainer *t)
{
	const struct train_status *s = &t->st;
	if (!t->log)
		return;	/* not rank 0 */
	char norm[32] = "null";	/* JSON has no inf: a skipped step's */
	if (isfinite(s->grad_norm))
		snprintf(norm, sizeof norm, "%.9g", s->grad_norm);
	fprintf(t->log,
		"{\"step\":%ld,\"loss\":%.9g,\"lr\":%.9g,\"grad_norm\":%s,\"tokens\":%llu,"
		"\"batch_tokens\":%ld,\"ms\":%.3f,\"tokens_per_s\":%.1f,\"gflops\":%.2f%s}\n",
		s->step, s->loss, s->lr, norm, (unsigned long long)s->tokens,
		(long)s->accum * t->o.batch * t->o.seq, s->ms, s->tokens_per_s, s->gflops,
		s->skipped ? ",\"skipped\":true" : "");
	if (!isnan(s->val_loss))
		fprintf(t->log, "{\"step\":%ld,\"val_loss\":%.9g}\n", s->step, s->val_loss);
	fflush(t->log);
}

/* Cut log.jsonl back to the lines of steps <= step (atomically). */
int train_log_trim(const char *path, uint64_t step, struct llm_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	struct buf keep = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		json_int_t s = json_integer_value(json_object_get(j, "step"));
		json_decref(j);
		if (j && s >= 0 && (uint64_t)s <= step)
			buf_append(&keep, line, (size_t)n);
	}
	free(line);
	fclose(f);
	int rc = atomic_write_file(path, keep.p ? keep.p : "", keep.len, e);
	buf_free(&keep);
	return rc;
}

int train_log_curves(const char *path, struct buf *train, struct buf *val,
		     long *ntrain, long *nval, struct llm_err *e)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = 0;
	*ntrain = *nval = 0;
	while (rc == 0 && getline(&line, &cap, in) > 0) {
		lineno++;
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		if (!j) {
			rc = llm_err_set(e, "%s:%ld: %s", path, lineno, je.text);
			break;
		}
		json_t *st = json_object_get(j, "step"), *l = json_object_get(j, "loss"),
		       *v = json_object_get(j, "val_loss");
		if (!json_is_integer(st) || (!json_is_number(l) && !json_is_number(v)))
			rc = llm_err_set(e, "%s:%ld: not a llm-train log line", path, lineno);
		else if (json_is_number(l)) {
			buf_printf(train, "%lld %.9g\n", (long long)json_integer_value(st), json_number_value(l));
			(*ntrain)++;
		}
		if (rc == 0 && json_is_number(v)) {
			buf_printf(val, "%lld %.9g\n", (long long)json_integer_value(st), json_number_value(v));
			(*nval)++;
		}
		json_decref(j);
	}
	free(line);
	fclose(in);
	return rc;
}

/* The curves as two gnuplot data blocks (train loss, then val loss) in
 * dat, and the script that draws them into tmp. */
static int plot_files(const char *run, const char *dat, const char *tmp,
		      const struct buf *train, const struct buf *val, long nval,
		      struct buf *script, struct llm_err *e)
{
	FILE *df = fopen(dat, "w");
	if (!df)
		return llm_err_set(e, "%s: %s", dat, strerror(errno));
	fputs(train->p, df);
	fputs("\n\n", df);
	if (nval)
		fputs(val->p, df);
	fclose(df);
	buf_printf(script,
		   "set terminal pngcairo size 960,540 enhanced font 'sans,11'\n"
		   "set output '%s'\nset title 'llm-train: %s'\nset xlabel 'step'\n"
		   "set ylabel 'loss (nats per token)'\nset grid\nset key top right\n"
		   "plot '%s' index 0 using 1:2 with lines lw 1.5 title 'train'%s\n",
		   tmp, run, dat,
		   nval ? ", '' index 1 using 1:2 with linespoints lw 2 pt 7 title 'val'" : "");
	return 0;
}

int train_log_plot(const char *run, const char *png, long *ntrain, long *nval,
		   struct llm_err *e)
{
	struct buf logp = {0}, tmp = {0}, dat = {0}, script = {0};
	struct buf train = {0}, val = {0};
	buf_printf(&logp, "%s/log.jsonl", run);
	int rc = train_log_curves(logp.p, &train, &val, ntrain, nval, e);
	if (rc == 0 && *ntrain == 0)
		rc = llm_err_set(e, "%s: no training steps logged", logp.p);
	if (rc == 0) {
		buf_printf(&tmp, "%s.tmp.%ld", png, (long)getpid());
		buf_printf(&dat, "%s.dat", tmp.p);
		rc = plot_files(run, dat.p, tmp.p, &train, &val, *nval, &script, e);
	}
	if (rc == 0) {
		FILE *gp = popen("gnuplot", "w");
		if (!gp || fputs(script.p, gp) < 0 || pclose(gp) != 0) {
			rc = llm_err_set(e, "gnuplot failed (is gnuplot installed?)");
			unlink(tmp.p);
		} else if (rename(tmp.p, png) < 0)
			rc = llm_err_set(e, "%s: %s", png, strerror(errno));
		unlink(dat.p);
	}
	buf_free(&logp), buf_free(&tmp), buf_free(&dat), buf_free(&script);
	buf_free(&train), buf_free(&val);
	return rc;
}
