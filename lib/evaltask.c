/* evaltask.c - llm-eval's input files and task prompts; see evaltask.h. */
#include "evaltask.h"
#include "err.h"
#include "input.h"
#include "output.h"
#include "pystr.h"
#include "rng.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

/* ---- files ---- */

int lines_read(struct lines *l, const char *path, enum lines_mode mode,
	       struct llm_err *e)
{
	memset(l, 0, sizeof *l);
	struct buf all = {0};
	if (input_read_all(path, &all, e) < 0)
		return -1;
	const char *name = path && strcmp(path, "-") ? path : "<stdin>";
	for (size_t i = 0; i < all.len;) {
		const char *nl = memchr(all.p + i, '\n', all.len - i);
		size_t end = nl ? (size_t)(nl - all.p) : all.len, len = end - i;
		size_t bad = utf8_check(all.p + i, len);
		if (bad < len) {
			llm_err_set(e, "%s:%zu: byte %zu: invalid UTF-8", name,
				    l->n + 1, bad + 1);
			buf_free(&all);
			lines_free(l);
			return -1;
		}
		if (mode == LINES_RSTRIP)
			len = pystr_rstrip(all.p + i, len);
		else if (len > 0 && all.p[i + len - 1] == '\r')
			len--;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			l->off = xrealloc(l->off, l->cap * sizeof *l->off);
			l->len = xrealloc(l->len, l->cap * sizeof *l->len);
		}
		l->off[l->n] = l->data.len;
		l->len[l->n++] = len;
		buf_append(&l->data, all.p + i, len);
		buf_putc(&l->data, '\0');
		i = end + 1;
	}
	if (!l->data.p)
		buf_append(&l->data, "", 0);
	buf_free(&all);
	return 0;
}

void lines_free(struct lines *l)
{
	buf_free(&l->data);
	free(l->off);
	free(l->len);
	memset(l, 0, sizeof *l);
}

/* ---- JSON lines ---- */

json_t *jsonl_line(const struct lines *l, size_t i, const char *path,
		   jsonl_check *check, struct llm_err *e)
{
	json_error_t je;
	json_t *o = json_loadb(lines_at(l, i), l->len[i], 0, &je);
	const char *why = !o ? je.text : check ? check(o) : NULL;
	if (why) {
		llm_err_set(e, "%s:%zu: %s", path, i + 1, why);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t **jsonl_read(const char *path, jsonl_check *check, size_t *n,
		    struct llm_err *e)
{
	struct lines l;
	if (lines_read(&l, path, LINES_CR, e) < 0)
		return NULL;
	json_t **v = xcalloc(l.n ? l.n : 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.len[i] == 0)
			continue;
		if (!(v[*n] = jsonl_line(&l, i, path, check, e))) {
			jsonl_free(v, *n);
			lines_free(&l);
			return NULL;
		}
		(*n)++;
	}
	lines_free(&l);
	return v;
}

void jsonl_free(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
}

int jsonl_write(struct output *out, json_t *v, struct llm_err *e)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
	size_t n = strlen(s);
	s[n] = '\n';	/* json_dumps leaves room for the NUL we replace */
	int r = output_write(out, s, n + 1, e);
	free(s);
	json_decref(v);
	if (r < 0)
		output_abort(out);
	return r;
}

/* ---- task items ---- */

static struct mc_item *new_item(struct mc_task *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->items = xrealloc(t->items, t->cap * sizeof *t->items);
	}
	struct mc_item *it = &t->items[t->n++];
	memset(it, 0, sizeof *it);
	return it;
}

static void free_items(struct mc_task *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct mc_item *it = &t->items[i];
		free(it->id);
		free(it->question);
		for (int c = 0; c < it->nchoices; c++)
			free(it->choices[c]);
		free(it->choices);
		free(it->delimiter);
	}
	free(t->items);
}

void mc_free(struct mc_task *t)
{
	free_items(t);
	for (size_t s = 0; s < t->nsubjects; s++) {
		free(t->subjects[s]);
		if (t->dev)
			free_items(&t->dev[s]);
	}
	free(t->subjects);
	free(t->dev);
	memset(t, 0, sizeof *t);
}

static char *dup_n(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void hellaswag_preprocess(const char *s, size_t n, struct buf *out)
{
	/* text.strip() */
	size_t st = 0, pos = 0, fst, flen;
	if (pystr_field(s, n, &pos, &fst, &flen))
		st = fst;
	else
		st = n;
	n = pystr_rstrip(s, n);
	if (st > n)
		st = n;
	struct buf a = {0};
	/* .replace(" [title]", ". ") */
	for (size_t i = st; i < n;) {
		if (n - i >= 8 && memcmp(s + i, " [title]", 8) == 0) {
			buf_puts(&a, ". ");
			i += 8;
		} else {
			buf_putc(&a, s[i++]);
		}
	}
	buf_append(&a, "", 0);
	/* re.sub("\\[.*?\\]", "", text): '.' does not match '\n' */
	struct buf b = {0};
	for (size_t i = 0; i < a.len;) {
		if (a.p[i] == '[') {
			size_t j = i + 1;
			while (j < a.len && a.p[j] != ']' && a.p[j] != '\n')
				j++;
			if (j < a.len && a.p[j] == ']') {
				i = j + 1;
				continue;
			}
		}
		buf_putc(&b, a.p[i++]);
	}
	/* .replace("  ", " "): one pass, left to right */
	for (size_t i = 0; i < b.len;) {
		if (i + 1 < b.len && b.p[i] == ' ' && b.p[i + 1] == ' ') {
			buf_putc(out, ' ');
			i += 2;
		} else {
			buf_putc(out, b.p[i++]);
		}
	}
	buf_append(out, "", 0);
	buf_free(&a);
	buf_free(&b);
}

static char *preprocessed(const char *s, size_t n)
{
	struct buf b = {0};
	hellaswag_preprocess(s, n, &b);
	return b.p;
}

/* llama.cpp's HellaSwag text: six lines a task. */
static int load_hellaswag_txt(struct mc_task *t, const char *path,
			      struct llm_err *e)
{
	struct lines l;
	if (lines_read(&l, path, LINES_CR, e) < 0)
		return -1;
	size_t n = l.n;
	while (n > 0 && l.len[n - 1] == 0)	/* trailing blank lines */
		n--;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += 6) {
		if (n - i < 6) {
			rc = llm_err_set(e, "%s:%zu: task has %zu of its 6 lines "
					 "(context, label, 4 endings)", path, i + 1, n - i);
			break;
		}
		const char *g = lines_at(&l, i + 1);
		if (l.len[i + 1] != 1 || g[0] < '0' || g[0] > '3') {
			rc = llm_err_set(e, "%s:%zu: gold label '%s' is not 0, 1, 2 or 3",
					 path, i + 2, g);
			break;
		}
		struct mc_item *it = new_item(t);
		it->id = xasprintf("%zu", i + 1);	/* line of its context */
		it->question = preprocessed(lines_at(&l, i), l.len[i]);
		it->gold = g[0] - '0';
		it->nchoices = 4;
		it->choices = xcalloc(4, sizeof *it->choices);
		for (int c = 0; c < 4; c++)
			it->choices[c] = preprocessed(lines_at(&l, i + 2 + (size_t)c),
						      l.len[i + 2 + (size_t)c]);
	}
	lines_free(&l);
	return rc;
}

/* Python's str.capitalize(): first character title case, the rest lower. */
static void capitalize(const char *s, size_t n, struct buf *out)
{
	if (n == 0)
		return;
	size_t i = 0;
	uint32_t c = pystr_next(s, n, &i);
	pystr_put(out, (uint32_t)utf8proc_totitle((utf8proc_int32_t)c));
	pystr_lower(out, s + i, n - i);
}

static const char *jstr(json_t *o, const char *key, size_t *n)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

/* Choices from a JSON array of strings; -1 when it is not one. */
static int json_choices(json_t *arr, struct mc_item *it)
{
	if (!json_is_array(arr) || json_array_size(arr) < 2 ||
	    json_array_size(arr) > 26)
		return -1;
	it->nchoices = (int)json_array_size(arr);
	it->choices = xcalloc((size_t)it->nchoices, sizeof *it->choices);
	for (int c = 0; c < it->nchoices; c++) {
		json_t *v = json_array_get(arr, (size_t)c);
		if (!json_is_string(v))
			return -1;
		it->choices[c] = dup_n(json_string_value(v), json_string_length(v));
	}
	return 0;
}

/* A gold index: an integer, or a string holding one (HellaSwag's "label"). */
static int json_gold(json_t *v, int nchoices)
{
	long g = -1;
	if (json_is_integer(v)) {
		g = (long)json_integer_value(v);
	} else if (json_is_string(v)) {
		char *end;
		const char *s = json_string_value(v);
		g = strtol(s, &end, 10);
		if (end == s || *end)
			g = -1;
	}
	return g >= 0 && g < nchoices ? (int)g : -1;
}

/* One JSON line of a task file into an item; the reason on failure. */
static const char *json_item(enum mc_format fmt, json_t *o, struct mc_item *it,
			     size_t lineno)
{
	size_t n = 0, m = 0;
	const char *s;
	if (fmt == MC_HELLASWAG) {
		const char *a = jstr(o, "ctx_a", &n), *b = jstr(o, "ctx_b", &m);
		size_t ln = 0;
		const char *label = jstr(o, "activity_label", &ln);
		if (!a || !b || !label)
			return "needs string fields ctx_a, ctx_b and activity_label";
		struct buf q = {0};
		buf_append(&q, label, ln);
		buf_puts(&q, ": ");
		buf_append(&q, a, n);
		buf_putc(&q, ' ');
		capitalize(b, m, &q);
		it->question = preprocessed(q.p, q.len);
		buf_free(&q);
		if (json_choices(json_object_get(o, "endings"), it) < 0)
			return "\"endings\" is not an array of 2 to 26 strings";
		for (int c = 0; c < it->nchoices; c++) {
			char *p = preprocessed(it->choices[c], strlen(it->choices[c]));
			free(it->choices[c]);
			it->choices[c] = p;
		}
		it->gold = json_gold(json_object_get(o, "label"), it->nchoices);
	} else {
		const char *key = fmt == MC_ARC ? "query" : "context";
		if ((s = jstr(o, key, &n)))
			it->question = dup_n(s, n);
		else if (fmt == MC_ARC && (s = jstr(o, "question", &n)))
			it->question = xasprintf("Question: %.*s", (int)n, s);
		if (!it->question)
			return fmt == MC_ARC ? "missing string \"query\" or \"question\""
					     : "missing string \"context\"";
		if (json_choices(json_object_get(o, "choices"), it) < 0)
			return "\"choices\" is not an array of 2 to 26 strings";
		it->gold = json_gold(json_object_get(o, "gold"), it->nchoices);
		if ((s = jstr(o, "delimiter", &n)))
			it->delimiter = dup_n(s, n);
	}
	if (it->gold < 0)
		return "gold answer missing or not an index into the choices";
	if ((s = jstr(o, "id", &n)))
		it->id = dup_n(s, n);
	else
		it->id = xasprintf("%zu", lineno);
	return NULL;
}

static int load_jsonl(struct mc_task *t, enum mc_format fmt, const char *path,
		      struct llm_err *e)
{
	struct lines l;
	if (lines_read(&l, path, LINES_CR, e) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		if (pystr_rstrip(lines_at(&l, i), l.len[i]) == 0)
			continue;
		json_error_t je;
		json_t *o = json_loadb(lines_at(&l, i), l.len[i], 0, &je);
		if (!json_is_object(o)) {
			rc = llm_err_set(e, "%s:%zu: %s", path, i + 1,
					 o ? "not a JSON object" : je.text);
			json_decref(o);
			break;
		}
		struct mc_item *it = new_item(t);
		const char *why = json_item(fmt, o, it, i + 1);
		if (why)
			rc = llm_err_set(e, "%s:%zu: %s", path, i + 1, why);
		json_decref(o);
	}
	lines_free(&l);
	if (rc == 0 && t->n == 0)
		rc = llm_err_set(e, "%s: no items", path);
	return rc;
}

/* ---- MMLU CSV ---- */

/* RFC 4180 records, shared with review.c; see evaltask.h. */
int csv_record(const char *s, size_t n, size_t *pos, size_t *line,
	       struct buf *f, size_t **st, size_t *cap)
{
	size_t i = *pos;
	if (i >= n)
		return 0;
	int nf = 0;
	buf_clear(f);
	for (;;) {
		if ((size_t)nf == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*st = xrealloc(*st, *cap * sizeof **st);
		}
		(*st)[nf++] = f->len;
		if (i < n && s[i] == '"') {
			for (i++;; i++) {
				if (i >= n)
					return -1;
				if (s[i] == '"') {
					if (i + 1 < n && s[i + 1] == '"') {
						buf_putc(f, '"');
						i++;
						continue;
					}
					i++;
					break;
				}
				if (s[i] == '\n')
					(*line)++;
				buf_putc(f, s[i]);
			}
		}
		while (i < n && s[i] != ',' && s[i] != '\n')
			buf_putc(f, s[i++]);
		/* End of record: drop a '\r' before the newline. */
		if (f->len > (*st)[nf - 1] && f->p[f->len - 1] == '\r' &&
		    (i >= n || s[i] == '\n'))
			f->len--;
		buf_putc(f, '\0');
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n)
			(*line)++;
		*pos = i + 1;
		return nf;
	}
}

/* The answer field: 0..3, or A..D as in the official files. */
static int mmlu_answer(const char *a)
{
	if (a[0] >= '0' && a[0] <= '3' && !a[1])
		return a[0] - '0';
	if (a[0] >= 'A' && a[0] <= 'D' && !a[1])
		return a[0] - 'A';
	return -1;
}

static int load_mmlu_csv(struct mc_task *t, const char *path, int subject,
			 const char *name, struct llm_err *e)
{
	struct buf all = {0}, f = {0};
	if (input_read_all(path, &all, e) < 0)
		return -1;
	size_t bad = utf8_check(all.p, all.len);
	if (bad < all.len) {
		buf_free(&all);
		return llm_err_set(e, "%s: byte %zu: invalid UTF-8", path, bad + 1);
	}
	size_t pos = 0, line = 1, *starts = NULL, cap = 0;
	int rc = 0, nf;
	for (size_t rec = 0;; rec++) {
		size_t at = line;
		nf = csv_record(all.p, all.len, &pos, &line, &f, &starts, &cap);
		if (nf == 0)
			break;
		if (nf < 0) {
			rc = llm_err_set(e, "%s:%zu: unterminated quoted field", path, at);
			break;
		}
		if (nf == 1 && f.p[0] == '\0')	/* blank line */
			continue;
		if (nf != 6) {
			rc = llm_err_set(e, "%s:%zu: %d fields, want 6 (question, "
					 "4 choices, answer)", path, at, nf);
			break;
		}
		if (rec == 0 && strcmp(f.p, "question") == 0)
			continue;	/* the header */
		int gold = mmlu_answer(f.p + starts[5]);
		if (gold < 0) {
			rc = llm_err_set(e, "%s:%zu: answer '%s' is not 0-3 or A-D",
					 path, at, f.p + starts[5]);
			break;
		}
		struct mc_item *it = new_item(t);
		it->id = xasprintf("%s:%zu", name, at);
		it->question = xstrdup(f.p);
		it->nchoices = 4;
		it->choices = xcalloc(4, sizeof *it->choices);
		for (int c = 0; c < 4; c++)
			it->choices[c] = xstrdup(f.p + starts[c + 1]);
		it->gold = gold;
		it->subject = subject;
	}
	free(starts);
	buf_free(&all);
	buf_free(&f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Subject names from dir/test/<subject>_test.csv, sorted. */
static size_t mmlu_subjects(const char *dir, char ***out)
{
	char *test = xasprintf("%s/test", dir);
	DIR *d = opendir(test);
	free(test);
	size_t n = 0, cap = 0;
	*out = NULL;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 9 || strcmp(de->d_name + len - 9, "_test.csv") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		(*out)[n++] = dup_n(de->d_name, len - 9);
	}
	closedir(d);
	qsort(*out, n, sizeof **out, cmp_str);
	return n;
}

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int load_mmlu_subject(struct mc_task *t, size_t s, const char *test,
			     const char *dev, struct llm_err *e)
{
	if (load_mmlu_csv(t, test, (int)s, t->subjects[s], e) < 0)
		return -1;
	if (dev && file_exists(dev))
		return load_mmlu_csv(&t->dev[s], dev, (int)s, t->subjects[s], e);
	return 0;
}

static int load_mmlu(struct mc_task *t, const char *path, struct llm_err *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		t->nsubjects = mmlu_subjects(path, &t->subjects);
		if (t->nsubjects == 0)
			return llm_err_set(e, "%s: no test/<subject>_test.csv files", path);
		t->dev = xcalloc(t->nsubjects, sizeof *t->dev);
		for (size_t s = 0; s < t->nsubjects; s++) {
			t->dev[s].format = MC_MMLU;
			char *test = xasprintf("%s/test/%s_test.csv", path, t->subjects[s]);
			char *dev = xasprintf("%s/dev/%s_dev.csv", path, t->subjects[s]);
			int rc = load_mmlu_subject(t, s, test, dev, e);
			free(test);
			free(dev);
			if (rc < 0)
				return -1;
		}
		return 0;
	}
	/* One file: .../test/<subject>_test.csv, its dev split beside. */
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t bl = strlen(base), cut = bl;
	if (bl > 9 && strcmp(base + bl - 9, "_test.csv") == 0)
		cut = bl - 9;
	else if (bl > 4 && strcmp(base + bl - 4, ".csv") == 0)
		cut = bl - 4;
	t->nsubjects = 1;
	t->subjects = xcalloc(1, sizeof *t->subjects);
	t->subjects[0] = dup_n(base, cut);
	t->dev = xcalloc(1, sizeof *t->dev);
	t->dev[0].format = MC_MMLU;
	char *dev = NULL;
	if (cut == bl - 9) {
		dev = xasprintf("%.*s../dev/%s_dev.csv", (int)(base - path), path,
				t->subjects[0]);
	}
	int rc = load_mmlu_subject(t, 0, path, dev, e);
	free(dev);
	return rc;
}

int mc_load(struct mc_task *t, enum mc_format fmt, const char *path,
	    struct llm_err *e)
{
	memset(t, 0, sizeof *t);
	t->format = fmt;
	int rc;
	size_t len = strlen(path);
	if (fmt == MC_MMLU)
		rc = load_mmlu(t, path, e);
	else if (fmt == MC_HELLASWAG && !(len > 6 && strcmp(path + len - 6, ".jsonl") == 0))
		rc = load_hellaswag_txt(t, path, e);
	else
		rc = load_jsonl(t, fmt, path, e);
	if (rc == 0 && t->n == 0)
		rc = llm_err_set(e, "%s: no items", path);
	if (rc < 0)
		mc_free(t);
	return rc;
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

/* A JSONL task file's format, from its first object's keys. */
static int sniff_jsonl(const char *path, enum mc_format *fmt, struct llm_err *e)
{
	struct lines l;
	if (lines_read(&l, path, LINES_CR, e) < 0)
		return -1;
	json_t *o = l.n ? json_loadb(lines_at(&l, 0), l.len[0], 0, NULL) : NULL;
	lines_free(&l);
	if (!json_is_object(o)) {
		json_decref(o);
		return llm_err_set(e, "%s:1: not a JSON object", path);
	}
	if (json_object_get(o, "ctx_a") && json_object_get(o, "endings"))
		*fmt = MC_HELLASWAG;
	else if (json_object_get(o, "query") || json_object_get(o, "question"))
		*fmt = MC_ARC;
	else
		*fmt = MC_JSONL;
	json_decref(o);
	return 0;
}

int mc_resolve(const char *task, const char *datadir, enum mc_format *fmt,
	       char **path, struct llm_err *e)
{
	static const struct {
		const char *name, *file;
		enum mc_format fmt;
	} known[] = {
		{"hellaswag", "hellaswag/hellaswag_val_full.txt.bz2", MC_HELLASWAG},
		{"arc", "arc/arc_challenge.jsonl", MC_ARC},
		{"arc_challenge", "arc/arc_challenge.jsonl", MC_ARC},
		{"arc_easy", "arc/arc_easy.jsonl", MC_ARC},
		{"mmlu", "mmlu", MC_MMLU},
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		if (strcmp(task, known[i].name) == 0) {
			*fmt = known[i].fmt;
			*path = xasprintf("%s/%s", datadir, known[i].file);
			return 0;
		}
	}
	struct stat st;
	if (stat(task, &st) < 0)
		return llm_err_set(e, "%s: %s (tasks: hellaswag, arc, arc_easy, "
				   "arc_challenge, mmlu, or a file)", task, strerror(errno));
	*path = xstrdup(task);
	if (S_ISDIR(st.st_mode) || ends_with(task, ".csv")) {
		*fmt = MC_MMLU;
		return 0;
	}
	if (ends_with(task, ".txt") || ends_with(task, ".bz2")) {
		*fmt = MC_HELLASWAG;
		return 0;
	}
	if (sniff_jsonl(task, fmt, e) < 0) {
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

/* ---- prompts ---- */

static const struct mc_item *item_at(const struct mc_task *t, size_t i)
{
	return &t->items[i];
}

/* The choices as "\nA. ...\nB. ..." for letter mode. */
static void list_choices(const struct mc_item *it, struct buf *out)
{
	for (int c = 0; c < it->nchoices; c++)
		buf_printf(out, "\n%c. %s", 'A' + c, it->choices[c]);
}

/* The question part of an item, up to and including "Answer:" where the
 * task has one. */
static void question_text(const struct mc_task *t, const struct mc_item *it,
			  int letter, struct buf *out)
{
	const char *q = it->question;
	size_t n = strlen(q);
	switch (t->format) {
	case MC_MMLU: {
		size_t pos = 0, st = n, len;
		pystr_field(q, n, &pos, &st, &len);	/* st: first non-space */
		size_t end = pystr_rstrip(q, n);
		if (!letter)
			buf_puts(out, "Question: ");
		if (end > st)
			buf_append(out, q + st, end - st);
		if (letter)
			list_choices(it, out);
		buf_puts(out, "\nAnswer:");
		break;
	}
	case MC_ARC:
		buf_append(out, q, n);
		if (letter)
			list_choices(it, out);
		buf_puts(out, "\nAnswer:");
		break;
	case MC_HELLASWAG:
	case MC_JSONL:
		buf_append(out, q, n);
		if (letter) {
			list_choices(it, out);
			buf_puts(out, "\nAnswer:");
		}
		break;
	}
}

static const char *delim_of(const struct mc_item *it, int letter)
{
	return letter || !it->delimiter ? " " : it->delimiter;
}

static void answer_text(const struct mc_item *it, int c, int letter,
			struct buf *out)
{
	buf_puts(out, delim_of(it, letter));
	if (letter)
		buf_putc(out, (char)('A' + c));
	else
		buf_puts(out, it->choices[c]);
}

void mc_continuation(const struct mc_task *t, size_t i, int c,
		     const struct mc_prompt *p, struct buf *out)
{
	answer_text(item_at(t, i), c, p->letter, out);
}

static void shot(const struct mc_task *t, const struct mc_item *it,
		 int letter, struct buf *out)
{
	question_text(t, it, letter, out);
	answer_text(it, it->gold, letter, out);
	buf_puts(out, "\n\n");
}

int mc_context(const struct mc_task *t, size_t i, const struct mc_prompt *p,
	       struct rng *g, struct buf *out, struct llm_err *e)
{
	const struct mc_item *it = item_at(t, i);
	if (t->format == MC_MMLU) {
		const char *subj = t->subjects[it->subject];
		const struct mc_task *dev = &t->dev[it->subject];
		buf_puts(out, p->letter ? "The following are multiple choice questions "
					  "(with answers) about "
					: "The following are questions (with answers) about ");
		for (const char *s = subj; *s; s++)
			buf_putc(out, *s == '_' ? ' ' : *s);
		buf_puts(out, ".\n\n");
		if ((size_t)p->shots > dev->n)
			return llm_err_set(e, "MMLU %s: %d shots wanted, the dev split "
					   "has %zu", subj, p->shots, dev->n);
		for (int k = 0; k < p->shots; k++)
			shot(dev, &dev->items[k], p->letter, out);
	} else if (p->shots > 0) {
		if (p->shots > MC_MAX_SHOTS)
			return llm_err_set(e, "%d shots: at most %d", p->shots, MC_MAX_SHOTS);
		if ((size_t)p->shots >= t->n)
			return llm_err_set(e, "%d shots wanted, the task has only %zu "
					   "items", p->shots, t->n);
		/* Distinct items other than i, in the order drawn. */
		size_t picked[MC_MAX_SHOTS];
		int k = 0;
		while (k < p->shots) {
			size_t j = (size_t)rng_below(g, t->n);
			int dup = j == i;
			for (int q = 0; q < k && !dup; q++)
				dup = picked[q] == j;
			if (!dup)
				picked[k++] = j;
		}
		for (k = 0; k < p->shots; k++)
			shot(t, item_at(t, picked[k]), p->letter, out);
	}
	question_text(t, it, p->letter, out);
	return 0;
}
