/* review.c - review sheets and judge commands; see review.h. */
#include "review.h"
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "evaltask.h"
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- judge ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct child {
	pid_t pid;
	int in, out, err;	/* our ends: its stdin, stdout, stderr */
};

static int spawn(const char *cmd, struct child *c, struct llm_err *e)
{
	int p[6] = {-1, -1, -1, -1, -1, -1};
	int *pin = p, *pout = p + 2, *perr = p + 4;
	pid_t pid = -1;
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		int err = errno;
		for (int i = 0; i < 6; i++)
			if (p[i] >= 0)
				close(p[i]);
		return llm_err_set(e, "judge: %s", strerror(err));
	}
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	c->pid = pid;
	c->in = pin[1];
	c->out = pout[0];
	c->err = perr[0];
	/* Writing must never block us while the judge writes, nor kill us
	 * with SIGPIPE if it exits without reading (poll tells us POLLERR). */
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Feed input, collect stdout and stderr until both close or time runs
 * out.  Returns 0, or -1 on timeout (the child is killed). */
static int talk(struct child *c, const struct buf *input, struct buf *out,
		struct buf *err, double timeout)
{
	size_t sent = 0;
	double end = now() + timeout;
	int open_out = 1, open_err = 1;
	while (open_out || open_err) {
		struct pollfd p[3];
		int np = 0, iin = -1, iout = -1, ierr = -1;
		if (c->in >= 0) {
			p[np] = (struct pollfd){c->in, POLLOUT, 0};
			iin = np++;
		}
		if (open_out) {
			p[np] = (struct pollfd){c->out, POLLIN, 0};
			iout = np++;
		}
		if (open_err) {
			p[np] = (struct pollfd){c->err, POLLIN, 0};
			ierr = np++;
		}
		double left = end - now();
		if (left <= 0)
			return -1;
		if (poll(p, (nfds_t)np, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return -1;
		if (iin >= 0 && p[iin].revents) {
			ssize_t w = (p[iin].revents & POLLOUT)
				? write(c->in, input->p + sent, input->len - sent) : -1;
			if (w > 0)
				sent += (size_t)w;
			if (w < 0 && errno == EAGAIN)
				continue;
			if (w < 0 || sent == input->len) {
				close(c->in);
				c->in = -1;
			}
		}
		struct { int idx, fd, *open; struct buf *b; } rd[2] = {
			{iout, c->out, &open_out, out}, {ierr, c->err, &open_err, err}};
		for (int k = 0; k < 2; k++) {
			if (rd[k].idx < 0 || !p[rd[k].idx].revents)
				continue;
			buf_reserve(rd[k].b, 4096);
			ssize_t r = read(rd[k].fd, rd[k].b->p + rd[k].b->len, 4096);
			if (r > 0)
				rd[k].b->len += (size_t)r;
			else if (r == 0 || errno != EINTR)
				*rd[k].open = 0;
			if (rd[k].b->p)
				rd[k].b->p[rd[k].b->len] = '\0';
		}
	}
	return 0;
}

/* A score: a number, or {"score": number}, surrounded by whitespace. */
static int parse_score(const char *s, double *score)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s == '{') {
		json_t *o = json_loads(s, 0, NULL);
		json_t *v = json_object_get(o, "score");
		int ok = json_is_number(v) && isfinite(json_number_value(v));
		if (ok)
			*score = json_number_value(v);
		json_decref(o);
		return ok ? 0 : -1;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end)
		return -1;
	*score = v;
	return 0;
}

/* The first line of s, at most 200 bytes, for messages. */
static void first_line(const char *s, char *out, size_t cap)
{
	size_t n = s ? strcspn(s, "\n") : 0;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, s ? s : "", n);
	out[n] = '\0';
}

/* Wait for the child; one that lingers after closing its output is
 * killed when the time limit runs out. */
static int wait_child(pid_t pid, double timeout, int *timed_out)
{
	int status = 0;
	double end = now() + timeout;
	for (;;) {
		pid_t r = waitpid(pid, &status, *timed_out ? 0 : WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		if (r == 0 && now() > end) {
			kill(pid, SIGKILL);
			*timed_out = 1;
		} else if (r == 0) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

int judge_run(const struct judge *j, const json_t *item, double *score,
	      struct llm_err *e)
{
	struct child c = {0, -1, -1, -1};
	if (spawn(j->cmd, &c, e) < 0)
		return -1;
	struct buf in = {0}, out = {0}, err = {0};
	char *line = json_dumps(item, JSON_COMPACT);
	buf_puts(&in, line);
	buf_putc(&in, '\n');
	free(line);
	int timed_out = talk(&c, &in, &out, &err, j->timeout) < 0;
	if (timed_out)
		kill(c.pid, SIGKILL);
	if (c.in >= 0)
		close(c.in);
	close(c.out);
	close(c.err);
	int status = wait_child(c.pid, j->timeout, &timed_out);
	char said[201], why[201];
	first_line(out.p, said, sizeof said);
	first_line(err.p, why, sizeof why);
	int rc = 0;
	if (timed_out)
		rc = llm_err_set(e, "judge timed out after %g s", j->timeout);
	else if (WIFSIGNALED(status))
		rc = llm_err_set(e, "judge killed by signal %d%s%s", WTERMSIG(status),
				 why[0] ? ": " : "", why);
	else if (WEXITSTATUS(status) != 0)
		rc = llm_err_set(e, "judge exited with status %d%s%s",
				 WEXITSTATUS(status), why[0] ? ": " : "", why);
	else if (parse_score(out.p ? out.p : "", score) < 0)
		rc = llm_err_set(e, "judge printed '%s', not a score", said);
	buf_free(&in);
	buf_free(&out);
	buf_free(&err);
	return rc;
}

/* ---- sheets ---- */

void csv_field(struct buf *out, const char *s, size_t n)
{
	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) &&
	    !memchr(s, '\r', n)) {
		buf_append(out, s, n);
		return;
	}
	buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_putc(out, '"');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '"');
}

static void csv_str(struct buf *out, const char *s)
{
	csv_field(out, s ? s : "", s ? strlen(s) : 0);
}

const char *review_group(const json_t *item)
{
	const char *g = json_string_value(json_object_get(item, "group"));
	if (!g)
		g = json_string_value(json_object_get(item, "model"));
	return g ? g : "all";
}

static const char *field(const json_t *item, const char *key)
{
	return json_string_value(json_object_get(item, key));
}

void review_sheet_header(struct buf *out, int judged)
{
	buf_puts(out, "id,group,prompt,completion,rating,notes");
	if (judged)
		buf_puts(out, ",judge_score,judge_error");
	buf_puts(out, "\r\n");
}

void review_sheet_row(struct buf *out, const json_t *item, int judged,
		      double judge_score, const char *judge_error)
{
	json_t *id = json_object_get(item, "id");
	if (json_is_string(id)) {
		csv_str(out, json_string_value(id));
	} else {
		char *s = json_dumps(id, JSON_ENCODE_ANY);
		csv_str(out, s);
		free(s);
	}
	buf_putc(out, ',');
	csv_str(out, review_group(item));
	buf_putc(out, ',');
	csv_str(out, field(item, "prompt"));
	buf_putc(out, ',');
	csv_str(out, field(item, "completion"));
	buf_puts(out, ",,");
	if (judged) {
		buf_putc(out, ',');
		if (!isnan(judge_score))
			buf_printf(out, "%.17g", judge_score);
		buf_putc(out, ',');
		csv_str(out, judge_error);
	}
	buf_puts(out, "\r\n");
}

static void html_text(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_puts(out, "&amp;"); break;
		case '<': buf_puts(out, "&lt;"); break;
		case '>': buf_puts(out, "&gt;"); break;
		case '"': buf_puts(out, "&quot;"); break;
		default: buf_putc(out, *s); break;
		}
	}
}

void review_html(struct buf *out, json_t *const *items, size_t n,
		 const char *title)
{
	buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>");
	html_text(out, title);
	buf_puts(out, "</title>\n<style>\n"
		"body{font-family:sans-serif;max-width:60em;margin:auto}\n"
		".item{border:1px solid #ccc;margin:1em 0;padding:.5em 1em}\n"
		"pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}\n"
		".completion{background:#eef6ee}\n"
		"</style></head><body>\n<h1>");
	html_text(out, title);
	buf_printf(out, "</h1>\n<p>%zu items. Rate each completion (1 = bad, "
		   "5 = excellent), then save the sheet and give it to "
		   "<code>llm-eval review import</code>.</p>\n", n);
	for (size_t i = 0; i < n; i++) {
		char *id = json_is_string(json_object_get(items[i], "id"))
			? xstrdup(field(items[i], "id"))
			: json_dumps(json_object_get(items[i], "id"), JSON_ENCODE_ANY);
		buf_puts(out, "<div class=\"item\" data-id=\"");
		html_text(out, id);
		buf_puts(out, "\" data-group=\"");
		html_text(out, review_group(items[i]));
		buf_puts(out, "\">\n<h3>");
		html_text(out, id);
		buf_puts(out, "</h3>\n<pre class=\"prompt\">");
		html_text(out, field(items[i], "prompt"));
		buf_puts(out, "</pre>\n<pre class=\"completion\">");
		html_text(out, field(items[i], "completion"));
		buf_puts(out, "</pre>\n<label>Rating <input class=\"rating\" type=\"number\" "
			 "min=\"1\" max=\"5\" step=\"1\"></label>\n<label>Notes <input "
			 "class=\"notes\" size=\"60\"></label>\n</div>\n");
		free(id);
	}
	buf_puts(out, "<button id=\"save\">Save sheet (CSV)</button>\n<script>\n"
		"function q(s){s=String(s);return /[\",\\r\\n]/.test(s)?'\"'+s.replace(/\"/g,'\"\"')+'\"':s}\n"
		"document.getElementById('save').onclick=function(){\n"
		" var rows=['id,group,prompt,completion,rating,notes'];\n"
		" document.querySelectorAll('.item').forEach(function(d){\n"
		"  rows.push([d.dataset.id,d.dataset.group,d.querySelector('.prompt').textContent,\n"
		"   d.querySelector('.completion').textContent,d.querySelector('.rating').value,\n"
		"   d.querySelector('.notes').value].map(q).join(','));});\n"
		" var a=document.createElement('a');\n"
		" a.href=URL.createObjectURL(new Blob([rows.join('\\r\\n')+'\\r\\n'],{type:'text/csv'}));\n"
		" a.download='sheet.csv';a.click();};\n"
		"</script>\n</body></html>\n");
}

/* ---- import ---- */

static struct review_group *group_of(struct review_summary *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->g[i].name, name) == 0)
			return &s->g[i];
	s->g = xrealloc(s->g, (s->n + 1) * sizeof *s->g);
	struct review_group *g = &s->g[s->n++];
	memset(g, 0, sizeof *g);
	g->name = xstrdup(name);
	return g;
}

/* Per-group running sums, kept beside the summary while reading. */
struct sums {
	double r, r2, j, j2;
};

static int number(const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	while (*end == ' ')
		end++;
	return end != s && !*end && !errno && isfinite(*v);
}

double t_quantile_975(double df)
{
	/* A table for small df (the quantiles of Student's t); beyond 30 the
	 * Cornish-Fisher expansion around the normal quantile (Abramowitz &
	 * Stegun 26.7.5), within 1e-6 there. */
	static const double t[30] = {
		12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
		2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
		2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
		2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
		2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
	};
	if (df < 1)
		return NAN;
	if (df <= 30)
		return t[(int)df - 1];
	double z = 1.959963985, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
	double z9 = z7 * z * z;
	return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df * df * df) +
	       (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) /
		       (92160 * df * df * df * df);
}

static void finish_group(struct review_group *g, const struct sums *s)
{
	if (g->rated > 0) {
		double n = (double)g->rated;
		g->mean = s->r / n;
		double var = g->rated > 1 ? (s->r2 - n * g->mean * g->mean) / (n - 1) : 0;
		g->stderr_ = sqrt(var > 0 ? var : 0) / sqrt(n);
		double t = g->rated > 1 ? t_quantile_975(n - 1) : 0;
		g->lo = g->mean - t * g->stderr_;
		g->hi = g->mean + t * g->stderr_;
	}
	if (g->judged > 0) {
		double n = (double)g->judged;
		g->judge_mean = s->j / n;
		double var = g->judged > 1 ? (s->j2 - n * g->judge_mean * g->judge_mean) / (n - 1) : 0;
		g->judge_stderr = sqrt(var > 0 ? var : 0) / sqrt(n);
	}
}

/* Column positions found in the header. */
struct cols {
	int group, rating, judge, judge_error, n;
};

static int header(const char *path, const struct buf *f, const size_t *st,
		  int nf, struct cols *c, struct llm_err *e)
{
	c->group = c->rating = c->judge = c->judge_error = -1;
	c->n = nf;
	for (int k = 0; k < nf; k++) {
		const char *name = f->p + st[k];
		if (strcmp(name, "group") == 0)
			c->group = k;
		else if (strcmp(name, "rating") == 0)
			c->rating = k;
		else if (strcmp(name, "judge_score") == 0)
			c->judge = k;
		else if (strcmp(name, "judge_error") == 0)
			c->judge_error = k;
	}
	if (c->rating < 0 && c->judge < 0)
		return llm_err_set(e, "%s:1: no \"rating\" or \"judge_score\" column", path);
	return 0;
}

/* One data row into its group's counts. */
static int row(const char *path, size_t line, const struct buf *f,
	       const size_t *st, const struct cols *c,
	       struct review_summary *s, struct sums **sums, struct llm_err *e)
{
	const char *gname = c->group >= 0 && f->p[st[c->group]] ? f->p + st[c->group] : "all";
	size_t before = s->n;
	struct review_group *g = group_of(s, gname);
	if (s->n > before) {
		*sums = xrealloc(*sums, s->n * sizeof **sums);
		memset(&(*sums)[s->n - 1], 0, sizeof **sums);
	}
	struct sums *sm = &(*sums)[g - s->g];
	double v;
	if (c->rating >= 0) {
		const char *r = f->p + st[c->rating];
		if (!*r)
			g->unrated++;
		else if (!number(r, &v))
			return llm_err_set(e, "%s:%zu: rating '%s' is not a number", path, line, r);
		else {
			g->rated++;
			sm->r += v;
			sm->r2 += v * v;
		}
	}
	if (c->judge >= 0) {
		const char *r = f->p + st[c->judge];
		if (!*r)
			g->judge_failed++;
		else if (!number(r, &v))
			return llm_err_set(e, "%s:%zu: judge_score '%s' is not a number", path, line, r);
		else {
			g->judged++;
			sm->j += v;
			sm->j2 += v * v;
		}
	}
	return 0;
}

int review_import(const char *path, struct review_summary *s,
		  struct llm_err *e)
{
	memset(s, 0, sizeof *s);
	struct buf all = {0}, f = {0};
	if (input_read_all(path, &all, e) < 0)
		return -1;
	size_t pos = 0, line = 1, *st = NULL, cap = 0;
	struct cols c = {-1, -1, -1, -1, 0};
	struct sums *sums = NULL;
	int rc = 0, first = 1;
	for (;;) {
		size_t at = line;
		int nf = csv_record(all.p, all.len, &pos, &line, &f, &st, &cap);
		if (nf == 0)
			break;
		if (nf < 0) {
			rc = llm_err_set(e, "%s:%zu: unterminated quoted field", path, at);
			break;
		}
		if (nf == 1 && !f.p[0])
			continue;
		if (first) {
			first = 0;
			if ((rc = header(path, &f, st, nf, &c, e)) < 0)
				break;
			continue;
		}
		if (nf != c.n) {
			rc = llm_err_set(e, "%s:%zu: %d fields, the header has %d", path, at, nf, c.n);
			break;
		}
		if ((rc = row(path, at, &f, st, &c, s, &sums, e)) < 0)
			break;
		s->rows++;
	}
	if (rc == 0 && first)
		rc = llm_err_set(e, "%s: empty sheet", path);
	for (size_t i = 0; rc == 0 && i < s->n; i++)
		finish_group(&s->g[i], &sums[i]);
	free(sums);
	free(st);
	buf_free(&f);
	buf_free(&all);
	if (rc < 0)
		review_summary_free(s);
	return rc;
}

void review_summary_free(struct review_summary *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->g[i].name);
	free(s->g);
	memset(s, 0, sizeof *s);
}

/* ---- runs ---- */

int review_judge_item(struct cli *c, const struct judge *j, const json_t *item,
		      const char *path, size_t i, double *score,
		      struct buf *why, struct llm_err *e)
{
	buf_clear(why);
	if (judge_run(j, item, score, e) == 0) {
		cli_count(c, "judged", 1);
		return 0;
	}
	if (c->skip_errors)
		buf_puts(why, e->msg);	/* the reason, before the prefix */
	char *id = json_dumps(json_object_get(item, "id"), JSON_ENCODE_ANY);
	llm_err_prefix(e, "%s: item %zu (id %s)", path, i + 1, id);
	free(id);
	if (!c->skip_errors)
		return -1;
	cli_warn(c, "%s", e->msg);
	cli_count(c, "judge_failed", 1);
	*score = NAN;
	return 0;
}

const char *review_check_item(const json_t *o)
{
	return !json_is_object(o) ? "not a JSON object"
		: !json_object_get(o, "id") ? "missing \"id\""
		: !json_is_string(json_object_get(o, "completion"))
			? "missing string \"completion\"" : NULL;
}

int review_export(struct cli *c, json_t *const *items, size_t n,
		  const char *path, const struct judge *j, struct buf *out,
		  struct llm_err *e)
{
	struct buf why = {0};
	int r = 0;
	review_sheet_header(out, j->cmd != NULL);
	for (size_t i = 0; i < n && r == 0; i++) {
		double score = NAN;
		if (j->cmd && (r = review_judge_item(c, j, items[i], path, i,
						     &score, &why, e)) < 0)
			break;
		review_sheet_row(out, items[i], j->cmd != NULL, score,
				 why.len ? why.p : "");
	}
	buf_free(&why);
	return r;
}

void review_summary_print(FILE *f, const struct review_summary *s)
{
	fprintf(f, "%-24s %6s %8s %8s %8s  %s\n", "group", "rated", "mean",
		"stderr", "unrated", "95% interval");
	for (size_t i = 0; i < s->n; i++) {
		const struct review_group *g = &s->g[i];
		fprintf(f, "%-24s %6zu %8.3f %8.3f %8zu", g->name, g->rated,
			g->mean, g->stderr_, g->unrated);
		if (g->rated > 1)
			fprintf(f, "  [%.3f, %.3f]", g->lo, g->hi);
		fputc('\n', f);
		if (g->judged || g->judge_failed)
			fprintf(f, "%-24s %6zu %8.3f %8.3f %8s  judge, %zu failed\n",
				"", g->judged, g->judge_mean, g->judge_stderr, "",
				g->judge_failed);
	}
}

json_t *review_summary_json(const struct review_summary *s)
{
	json_t *groups = json_object();
	for (size_t i = 0; i < s->n; i++) {
		const struct review_group *g = &s->g[i];
		json_t *o = json_pack("{s:I, s:I}", "rated", (json_int_t)g->rated,
				      "unrated", (json_int_t)g->unrated);
		if (g->rated)
			json_object_update_new(o, json_pack("{s:f, s:f}", "mean",
				g->mean, "stderr", g->stderr_));
		if (g->rated > 1)	/* one rating gives no interval */
			json_object_set_new(o, "ci95", json_pack("[f, f]", g->lo, g->hi));
		if (g->judged || g->judge_failed)
			json_object_update_new(o, json_pack("{s:I, s:I, s:f, s:f}",
				"judged", (json_int_t)g->judged,
				"judge_failed", (json_int_t)g->judge_failed,
				"judge_mean", g->judge_mean, "judge_stderr", g->judge_stderr));
		json_object_set_new(groups, g->name, o);
	}
	return json_pack("{s:I, s:o}", "rows", (json_int_t)s->rows, "groups", groups);
}
