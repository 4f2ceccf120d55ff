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
