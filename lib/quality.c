/* quality.c - parameters, per-document scratch and shared helpers of the
 * quality rules; see quality.h.  The rule sets are in quality_*.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "quality.h"
#include "quality_int.h"
#include "err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include <xxhash.h>

static const char *const rule_names[Q_NRULES] = {
	"length", "gopher-quality", "gopher-repetition", "c4", "fineweb", "badwords",
};

const char *quality_rule_name(int rule)
{
	return rule >= 0 && rule < Q_NRULES ? rule_names[rule] : "?";
}

int quality_rule_parse(const char *name)
{
	for (int i = 0; i < Q_NRULES; i++)
		if (strcmp(name, rule_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------ parameters */

static const char C4_CITATION[] = "\\[\\d*]|\\[edit]|\\[citation needed]";

static void list_set(struct qlist *l, const char *const *v, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = n ? xcalloc(n, sizeof *l->v) : NULL;
	for (size_t i = 0; i < n; i++)
		l->v[i] = xstrdup(v[i]);
	l->n = n;
}

void quality_defaults(struct quality_params *p)
{
	static const char *const stop[] = {"the", "be", "to", "of", "and", "that", "have", "with"};
	static const char *const policy[] = {
		"terms of use", "privacy policy", "cookie policy", "uses cookies",
		"use of cookies", "use cookies",
	};
	static const char *const endp[] = {".", "?", "!", "\"", "'"};
	memset(p, 0, sizeof *p);
	p->gq.min_doc_words = 50;
	p->gq.max_doc_words = 100000;
	p->gq.min_avg_word_length = 3;
	p->gq.max_avg_word_length = 10;
	p->gq.max_symbol_word_ratio = 0.1;
	p->gq.max_bullet_lines_ratio = 0.9;
	p->gq.max_ellipsis_lines_ratio = 0.3;
	p->gq.max_non_alpha_words_ratio = 0.8;
	p->gq.min_stop_words = 2;
	list_set(&p->gq.stop_words, stop, sizeof stop / sizeof *stop);

	p->gr.dup_line_frac = 0.3;
	p->gr.dup_para_frac = 0.3;
	p->gr.dup_line_char_frac = 0.2;
	p->gr.dup_para_char_frac = 0.2;
	p->gr.top_n_grams = (struct qngrams){{2, 3, 4}, {0.2, 0.18, 0.16}, 3};
	p->gr.dup_n_grams = (struct qngrams){{5, 6, 7, 8, 9, 10},
					     {0.15, 0.14, 0.13, 0.12, 0.11, 0.10}, 6};

	p->c4.remove_citations = 1;
	p->c4.filter_no_terminal_punct = 1;
	p->c4.min_num_sentences = 5;
	p->c4.min_words_per_line = 3;
	p->c4.max_word_length = 1000;
	p->c4.filter_lorem_ipsum = 1;
	p->c4.filter_javascript = 1;
	p->c4.filter_curly_bracket = 1;
	p->c4.filter_policy = 1;
	list_set(&p->c4.policy_substrings, policy, sizeof policy / sizeof *policy);
	list_set(&p->c4.end_punctuation, endp, sizeof endp / sizeof *endp);
	p->c4.citation_regex = xstrdup(C4_CITATION);

	p->fw.line_punct_thr = 0.12;
	p->fw.short_line_thr = 0.67;
	p->fw.short_line_length = 30;
	p->fw.char_duplicates_ratio = 0.01;
	p->fw.new_line_ratio = 0.3;
}

enum ptype { P_LONG, P_DOUBLE, P_BOOL, P_LIST, P_NGRAMS, P_STRING };

/* Every settable value: rule, key (datatrove's name), type, where. */
struct pdef {
	int rule;
	const char *key;
	enum ptype type;
	size_t off;
	long off_value;		/* what "off" / null sets a number to */
};

#define F(field) offsetof(struct quality_params, field)
static const struct pdef pdefs[] = {
	{Q_LENGTH, "min_chars", P_LONG, F(length.min_chars), 0},
	{Q_LENGTH, "max_chars", P_LONG, F(length.max_chars), 0},
	{Q_LENGTH, "min_words", P_LONG, F(length.min_words), 0},
	{Q_LENGTH, "max_words", P_LONG, F(length.max_words), 0},
	{Q_GOPHER_QUALITY, "min_doc_words", P_LONG, F(gq.min_doc_words), 0},
	{Q_GOPHER_QUALITY, "max_doc_words", P_LONG, F(gq.max_doc_words), 0},
	{Q_GOPHER_QUALITY, "min_avg_word_length", P_DOUBLE, F(gq.min_avg_word_length), 0},
	{Q_GOPHER_QUALITY, "max_avg_word_length", P_DOUBLE, F(gq.max_avg_word_length), 0},
	{Q_GOPHER_QUALITY, "max_symbol_word_ratio", P_DOUBLE, F(gq.max_symbol_word_ratio), 0},
	{Q_GOPHER_QUALITY, "max_bullet_lines_ratio", P_DOUBLE, F(gq.max_bullet_lines_ratio), 0},
	{Q_GOPHER_QUALITY, "max_ellipsis_lines_ratio", P_DOUBLE, F(gq.max_ellipsis_lines_ratio), 0},
	{Q_GOPHER_QUALITY, "max_non_alpha_words_ratio", P_DOUBLE, F(gq.max_non_alpha_words_ratio), 0},
	{Q_GOPHER_QUALITY, "min_stop_words", P_LONG, F(gq.min_stop_words), 0},
	{Q_GOPHER_QUALITY, "stop_words", P_LIST, F(gq.stop_words), 0},
	{Q_GOPHER_REPETITION, "dup_line_frac", P_DOUBLE, F(gr.dup_line_frac), 0},
	{Q_GOPHER_REPETITION, "dup_para_frac", P_DOUBLE, F(gr.dup_para_frac), 0},
	{Q_GOPHER_REPETITION, "dup_line_char_frac", P_DOUBLE, F(gr.dup_line_char_frac), 0},
	{Q_GOPHER_REPETITION, "dup_para_char_frac", P_DOUBLE, F(gr.dup_para_char_frac), 0},
	{Q_GOPHER_REPETITION, "top_n_grams", P_NGRAMS, F(gr.top_n_grams), 0},
	{Q_GOPHER_REPETITION, "dup_n_grams", P_NGRAMS, F(gr.dup_n_grams), 0},
	{Q_C4, "remove_citations", P_BOOL, F(c4.remove_citations), 0},
	{Q_C4, "filter_no_terminal_punct", P_BOOL, F(c4.filter_no_terminal_punct), 0},
	{Q_C4, "min_num_sentences", P_LONG, F(c4.min_num_sentences), -1},
	{Q_C4, "min_words_per_line", P_LONG, F(c4.min_words_per_line), -1},
	{Q_C4, "max_word_length", P_LONG, F(c4.max_word_length), -1},
	{Q_C4, "filter_lorem_ipsum", P_BOOL, F(c4.filter_lorem_ipsum), 0},
	{Q_C4, "filter_javascript", P_BOOL, F(c4.filter_javascript), 0},
	{Q_C4, "filter_curly_bracket", P_BOOL, F(c4.filter_curly_bracket), 0},
	{Q_C4, "filter_policy", P_BOOL, F(c4.filter_policy), 0},
	{Q_C4, "policy_substrings", P_LIST, F(c4.policy_substrings), 0},
	{Q_C4, "end_punctuation", P_LIST, F(c4.end_punctuation), 0},
	{Q_C4, "citation_regex", P_STRING, F(c4.citation_regex), 0},
	{Q_C4, "keep_lines", P_BOOL, F(c4.keep_lines), 0},
	{Q_FINEWEB, "line_punct_thr", P_DOUBLE, F(fw.line_punct_thr), 0},
	{Q_FINEWEB, "line_punct_exclude_zero", P_BOOL, F(fw.line_punct_exclude_zero), 0},
	{Q_FINEWEB, "short_line_thr", P_DOUBLE, F(fw.short_line_thr), 0},
	{Q_FINEWEB, "short_line_length", P_LONG, F(fw.short_line_length), 0},
	{Q_FINEWEB, "char_duplicates_ratio", P_DOUBLE, F(fw.char_duplicates_ratio), 0},
	{Q_FINEWEB, "new_line_ratio", P_DOUBLE, F(fw.new_line_ratio), 0},
	{Q_FINEWEB, "stop_chars", P_LIST, F(fw.stop_chars), 0},
};
#undef F

/* The rule names of datatrove's constants file, and its upper-case list
 * names. */
static int section_rule(const char *name)
{
	static const struct {
		const char *name;
		int rule;
	} alias[] = {
		{"gopher_quality_defaults", Q_GOPHER_QUALITY},
		{"gopher_repetition_defaults", Q_GOPHER_REPETITION},
		{"c4_quality_defaults", Q_C4},
		{"fineweb_quality_defaults", Q_FINEWEB},
	};
	for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
		if (strcmp(name, alias[i].name) == 0)
			return alias[i].rule;
	return quality_rule_parse(name);
}

static const struct pdef *find_pdef(int rule, const char *key)
{
	static const struct {
		const char *upper, *key;
	} alias[] = {
		{"STOP_WORDS", "stop_words"},
		{"POLICY_SUBSTRINGS", "policy_substrings"},
		{"END_PUNCTUATION", "end_punctuation"},
		{"CITATION_REGEX", "citation_regex"},
	};
	for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
		if (strcmp(key, alias[i].upper) == 0)
			key = alias[i].key;
	for (size_t i = 0; i < sizeof pdefs / sizeof *pdefs; i++)
		if (pdefs[i].rule == rule && strcmp(pdefs[i].key, key) == 0)
			return &pdefs[i];
	return NULL;
}

static int parse_double(const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*v) ? -1 : 0;
}

static int parse_long(const char *s, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

/* "2:0.2,3:0.18" */
static int parse_ngrams(const char *s, struct qngrams *g)
{
	struct qngrams r = {.len = 0};
	char *copy = xstrdup(s), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		long n;
		double f;
		if (!colon || r.len == sizeof r.n / sizeof *r.n) {
			rc = -1;
			break;
		}
		*colon = '\0';
		if (parse_long(t, &n) < 0 || n < 1 || n > 100 || parse_double(colon + 1, &f) < 0) {
			rc = -1;
			break;
		}
		r.n[r.len] = (int)n;
		r.frac[r.len++] = f;
	}
	free(copy);
	if (rc == 0)
		*g = r;
	return rc;
}

static int set_text(struct quality_params *p, const struct pdef *d, const char *v,
		    struct llm_err *e)
{
	char *at = (char *)p + d->off;
	int off = strcmp(v, "off") == 0 || strcmp(v, "none") == 0;
	switch (d->type) {
	case P_LONG:
		if (off)
			*(long *)at = d->off_value;
		else if (parse_long(v, (long *)at) < 0)
			return llm_err_set(e, "%s: '%s' is not a whole number", d->key, v);
		return 0;
	case P_DOUBLE:
		if (off)
			*(double *)at = (double)d->off_value;
		else if (parse_double(v, (double *)at) < 0)
			return llm_err_set(e, "%s: '%s' is not a number", d->key, v);
		return 0;
	case P_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
			*(int *)at = 1;
		else if (off || strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
			*(int *)at = 0;
		else
			return llm_err_set(e, "%s: '%s' is not true or false", d->key, v);
		return 0;
	case P_NGRAMS:
		if (off)
			((struct qngrams *)at)->len = 0;
		else if (parse_ngrams(v, (struct qngrams *)at) < 0)
			return llm_err_set(e, "%s: '%s' is not a list of N:FRACTION", d->key, v);
		return 0;
	case P_STRING:
		free(*(char **)at);
		*(char **)at = xstrdup(v);
		return 0;
	case P_LIST: {
		size_t n = 0;
		const char *items[4096];
		char *copy = xstrdup(v), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t && n < 4096; t = strtok_r(NULL, ",", &save))
			items[n++] = t;
		list_set((struct qlist *)at, items, n);
		free(copy);
		return 0;
	}
	}
	return 0;
}

int quality_set(struct quality_params *p, const char *name, const char *value,
		struct llm_err *e)
{
	const char *dot = strchr(name, '.');
	if (!dot)
		return llm_err_set(e, "'%s': expected RULE.KEY (for example gopher-quality.min_doc_words)", name);
	char rule[64];
	snprintf(rule, sizeof rule, "%.*s", (int)(dot - name), name);
	int r = quality_rule_parse(rule);
	if (r < 0)
		return llm_err_set(e, "'%s': no rule set named '%s'", name, rule);
	const struct pdef *d = find_pdef(r, dot + 1);
	if (!d)
		return llm_err_set(e, "'%s': %s has no setting '%s'", name, rule, dot + 1);
	if (set_text(p, d, value, e) < 0) {
		llm_err_prefix(e, "%s", rule);
		return -1;
	}
	return 0;
}

/* One JSON value of a rules file into d. */
static int set_json(struct quality_params *p, const struct pdef *d, json_t *v,
		    struct llm_err *e)
{
	char *at = (char *)p + d->off;
	if (json_is_null(v) && d->type != P_LIST && d->type != P_STRING)
		return set_text(p, d, "off", e);
	switch (d->type) {
	case P_LONG:
		if (!json_is_integer(v))
			return llm_err_set(e, "%s: not a whole number", d->key);
		*(long *)at = (long)json_integer_value(v);
		return 0;
	case P_DOUBLE:
		if (!json_is_number(v))
			return llm_err_set(e, "%s: not a number", d->key);
		*(double *)at = json_number_value(v);
		return 0;
	case P_BOOL:
		if (!json_is_boolean(v))
			return llm_err_set(e, "%s: not true or false", d->key);
		*(int *)at = json_is_true(v);
		return 0;
	case P_STRING:
		if (!json_is_string(v))
			return llm_err_set(e, "%s: not a string", d->key);
		free(*(char **)at);
		*(char **)at = xstrdup(json_string_value(v));
		return 0;
	case P_LIST: {
		if (!json_is_array(v))
			return llm_err_set(e, "%s: not a list of strings", d->key);
		size_t n = json_array_size(v);
		const char **items = xcalloc(n + 1, sizeof *items);
		for (size_t i = 0; i < n; i++) {
			items[i] = json_string_value(json_array_get(v, i));
			if (!items[i]) {
				free(items);
				return llm_err_set(e, "%s: not a list of strings", d->key);
			}
		}
		list_set((struct qlist *)at, items, n);
		free(items);
		return 0;
	}
	case P_NGRAMS: {
		struct qngrams g = {.len = 0};
		if (!json_is_array(v) || json_array_size(v) > sizeof g.n / sizeof *g.n)
			return llm_err_set(e, "%s: not a list of [n, fraction]", d->key);
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *pair = json_array_get(v, i);
			json_t *n = json_array_get(pair, 0), *f = json_array_get(pair, 1);
			if (json_array_size(pair) != 2 || !json_is_integer(n) || !json_is_number(f) ||
			    json_integer_value(n) < 1 || json_integer_value(n) > 100)
				return llm_err_set(e, "%s: not a list of [n, fraction]", d->key);
			g.n[g.len] = (int)json_integer_value(n);
			g.frac[g.len++] = json_number_value(f);
		}
		*(struct qngrams *)at = g;
		return 0;
	}
	}
	return 0;
}

int quality_load(struct quality_params *p, const char *path, struct llm_err *e)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (!root)
		return llm_err_set(e, "%s:%d: %s", path, je.line, je.text);
	int rc = 0;
	if (!json_is_object(root))
		rc = llm_err_set(e, "%s: not a JSON object", path);
	const char *sec;
	json_t *obj;
	json_object_foreach(root, sec, obj) {
		if (rc)
			break;
		/* datatrove's constants file: provenance, not settings. */
		if (strcmp(sec, "source") == 0 || strcmp(sec, "note") == 0 ||
		    strcmp(sec, "c4_badwords_en_url_commit") == 0)
			continue;
		int r = section_rule(sec);
		if (r < 0 || !json_is_object(obj)) {
			rc = llm_err_set(e, "%s: '%s' is not a rule set (one of length, "
					 "gopher-quality, gopher-repetition, c4, fineweb)", path, sec);
			break;
		}
		const char *key;
		json_t *v;
		json_object_foreach(obj, key, v) {
			const struct pdef *d = find_pdef(r, key);
			if (!d) {
				rc = llm_err_set(e, "%s: %s has no setting '%s'", path, sec, key);
				break;
			}
			if (set_json(p, d, v, e) < 0) {
				llm_err_prefix(e, "%s: %s", path, sec);
				rc = -1;
				break;
			}
		}
	}
	json_decref(root);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int quality_prepare(struct quality_params *p, struct llm_err *e)
{
	if (p->citation_re)
		pcre2_code_free(p->citation_re);
	p->citation_re = NULL;
	int err;
	PCRE2_SIZE at;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->c4.citation_regex, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP, &err, &at, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		return llm_err_set(e, "c4.citation_regex: offset %zu: %s", (size_t)at, (char *)msg);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);	/* falls back if no JIT */
	p->citation_re = re;
	p->citation_default = strcmp(p->c4.citation_regex, C4_CITATION) == 0;
	p->stop_maxlen = 0;
	memset(p->stop_first, 0, sizeof p->stop_first);
	for (size_t i = 0; i < p->gq.stop_words.n; i++) {
		const char *w = p->gq.stop_words.v[i];
		if (strlen(w) > p->stop_maxlen)
			p->stop_maxlen = strlen(w);
		if (strlen(w) < 64)
			p->stop_first[(unsigned char)w[0]] |= 1ull << strlen(w);
	}
	/* Stop words are a set: sorted for bsearch. */
	qsort(p->gq.stop_words.v, p->gq.stop_words.n, sizeof *p->gq.stop_words.v, cmp_str);
	free(p->stop_len);
	p->stop_len = xcalloc(p->gq.stop_words.n + 1, sizeof *p->stop_len);
	for (size_t i = 0; i < p->gq.stop_words.n; i++)
		p->stop_len[i] = strlen(p->gq.stop_words.v[i]);
	/* Where C4's phrases may start: their first four bytes. */
	memset(p->c4_phrase, 0, sizeof p->c4_phrase);
	const char *fixed[] = {"lorem ipsum", "javascript"};
	for (size_t i = 0; i < 2 + p->c4.policy_substrings.n; i++) {
		const char *w = i < 2 ? fixed[i] : p->c4.policy_substrings.v[i - 2];
		if (strlen(w) < 4)
			continue;
		uint32_t four;
		memcpy(&four, w, 4);
		unsigned bit = QUALITY_PHRASE_BIT(four);
		p->c4_phrase[bit >> 6] |= 1ull << (bit & 63);
	}
	for (size_t i = 0; i < p->c4.end_punctuation.n; i++)
		if (!*p->c4.end_punctuation.v[i])
			return llm_err_set(e, "c4.end_punctuation: an empty string ends every line");
	return 0;
}

void quality_params_free(struct quality_params *p)
{
	list_set(&p->gq.stop_words, NULL, 0);
	list_set(&p->c4.policy_substrings, NULL, 0);
	list_set(&p->c4.end_punctuation, NULL, 0);
	list_set(&p->fw.stop_chars, NULL, 0);
	free(p->c4.citation_regex);
	free(p->stop_len);
	if (p->citation_re)
		pcre2_code_free(p->citation_re);
	memset(p, 0, sizeof *p);
}

/* -------------------------------------------------------------- the set */

void qset_begin(struct qset *s, size_t n)
{
	size_t want = 64;
	while (want < 2 * n)
		want *= 2;
	if (want > s->cap) {
		free(s->e);
		s->e = xmalloc(want * sizeof *s->e);
		s->cap = want;
	}
	/* A small document uses the front of a large table only. */
	memset(s->e, 0, want * sizeof *s->e);
	s->mask = want - 1;
}

void qset_free(struct qset *s)
{
	free(s->e);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- qdoc */

void qdoc_reset(struct qdoc *q, const char *text, size_t n)
{
	q->text = text;
	q->n = n;
	q->ncp = words_count_cp(text, n);
	q->have_words = 0;
	q->have_pl = 0;
	q->nwords = (size_t)-1;
}

const struct qslice *qdoc_lines(struct qdoc *q, size_t *n)
{
	if (!q->have_pl) {
		const char *s;
		size_t len, pos = 0;
		q->npl = 0;
		while (py_nextline(q->text, q->n, &pos, &s, &len)) {
			if (q->npl == q->plcap) {
				q->plcap = q->plcap ? 2 * q->plcap : 256;
				q->pl = xrealloc(q->pl, q->plcap * sizeof *q->pl);
			}
			q->pl[q->npl++] = (struct qslice){s, len};
		}
		q->have_pl = 1;
	}
	*n = q->npl;
	return q->pl;
}

size_t qdoc_nwords(struct qdoc *q)
{
	return q->nwords != (size_t)-1 && !q->have_words ? q->nwords : qdoc_words(q)->n;
}

const struct words *qdoc_words(struct qdoc *q)
{
	if (!q->have_words) {
		words_split(&q->w, q->text, q->n);
		q->have_words = 1;
	}
	return &q->w;
}

void qdoc_free(struct qdoc *q)
{
	words_free(&q->w);
	words_free(&q->lw);
	if (q->set) {
		qset_free(q->set);
		free(q->set);
	}
	free(q->sl);
	free(q->pl);
	free(q->hw);
	free(q->wid);
	free(q->cstart);
	free(q->cbyte);
	free(q->cnt);
	free(q->cand_cat);
	free(q->run);
	free(q->run2);
	free(q->pk);
	free(q->cat);
	free(q->stopseen);
	buf_free(&q->lower);
	buf_free(&q->out);
	buf_free(&q->clean);
	buf_free(&q->line);
	if (q->match)
		pcre2_match_data_free(q->match);
	memset(q, 0, sizeof *q);
}

/* ------------------------------------------------------------- helpers */

/* Decode the code point before s[n] (n > 0); *len gets its byte length. */
static uint32_t prev_cp(const char *s, size_t n, size_t *len)
{
	size_t k = n - 1;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80 && n - k < 4)
		k--;
	size_t i = k;
	uint32_t c = words_next_cp((const unsigned char *)s, n, &i);
	*len = n - k;
	return c;
}

uint32_t last_cp(const char *s, size_t n)
{
	size_t len;
	return prev_cp(s, n, &len);
}

void py_lstrip(const char **s, size_t *n)
{
	const unsigned char *u = (const unsigned char *)*s;
	size_t i = 0;
	while (i < *n) {
		size_t k = i;
		if (!(words_class(words_next_cp(u, *n, &k)) & WC_SPACE))
			break;
		i = k;
	}
	*s += i;
	*n -= i;
}

void py_rstrip(const char **s, size_t *n)
{
	while (*n > 0) {
		size_t len;
		if (!(words_class(prev_cp(*s, *n, &len)) & WC_SPACE))
			break;
		*n -= len;
	}
}

void py_strip(const char **s, size_t *n)
{
	py_lstrip(s, n);
	py_rstrip(s, n);
}

size_t py_linebreak(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	switch (u[0]) {
	case '\n': case '\v': case '\f': case 0x1c: case 0x1d: case 0x1e:
		return 1;
	case '\r':
		return n > 1 && u[1] == '\n' ? 2 : 1;
	case 0xc2:
		return n > 1 && u[1] == 0x85 ? 2 : 0;
	case 0xe2:
		return n > 2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9) ? 3 : 0;
	default:
		return 0;
	}
}

int py_nextline(const char *t, size_t n, size_t *pos, const char **s, size_t *len)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t start = *pos, i = start, br = 0;
	if (start >= n)
		return 0;
	for (; i < n; i++) {
		/* Only these bytes can start a line break. */
		if (u[i] >= 0x1f && u[i] != 0xc2 && u[i] != 0xe2)
			continue;
		if ((br = py_linebreak(t + i, n - i)))
			break;
	}
	*s = t + start;
	*len = i - start;
	*pos = i + br;
	return 1;
}

void py_lower(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	/* ASCII, the common case, straight into the buffer. */
	buf_reserve(out, n + 1);
	char *o = out->p + out->len;
	while (i < n && u[i] < 0x80) {
		unsigned char c = u[i];
		o[i++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out->len += i;
	out->p[out->len] = '\0';
	while (i < n) {
		if (u[i] < 0x80) {
			unsigned char c = u[i++];
			buf_putc(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
			continue;
		}
		uint32_t c = words_next_cp(u, n, &i);
		char enc[8];
		if (c == 0x130) {	/* İ -> "i" + combining dot, as Python */
			buf_append(out, "i\xcc\x87", 3);
			continue;
		}
		utf8proc_ssize_t len = utf8proc_encode_char(utf8proc_tolower((utf8proc_int32_t)c),
							    (utf8proc_uint8_t *)enc);
		buf_append(out, enc, (size_t)len);
	}
}

size_t count_str(const char *s, size_t n, const char *needle, size_t m)
{
	size_t k = 0;
	const char *end = s + n;
	while ((size_t)(end - s) >= m) {
		const char *hit = memmem(s, (size_t)(end - s), needle, m);
		if (!hit)
			break;
		k++;
		s = hit + m;
	}
	return k;
}

static int same_slice(const void *ctx, uint32_t a, uint32_t b)
{
	const struct qslice *v = ctx;
	return v[a].n == v[b].n && memcmp(v[a].p, v[b].p, v[a].n) == 0;
}

void find_duplicates(struct qdoc *q, const struct qslice *v, size_t n,
		     size_t *dup_elems, size_t *dup_chars)
{
	if (!q->set)
		q->set = xcalloc(1, sizeof *q->set);
	qset_begin(q->set, n);
	*dup_elems = *dup_chars = 0;
	for (size_t i = 0; i < n; i++) {
		int fresh;
		qset_get(q->set, XXH3_64bits(v[i].p, v[i].n), same_slice, v, (uint32_t)i, &fresh);
		if (!fresh) {
			(*dup_elems)++;
			*dup_chars += words_count_cp(v[i].p, v[i].n);
		}
	}
}

struct qslice *qdoc_slices(struct qdoc *q, size_t n)
{
	if (n > q->slcap) {
		q->slcap = n > 2 * q->slcap ? n : 2 * q->slcap;
		q->sl = xrealloc(q->sl, q->slcap * sizeof *q->sl);
	}
	return q->sl;
}

/* ---------------------------------------------------------- length */

const char *quality_length(const struct quality_params *p, struct qdoc *q)
{
	if (p->length.min_chars && q->ncp < (size_t)p->length.min_chars)
		return "too_few_chars";
	if (p->length.max_chars && q->ncp > (size_t)p->length.max_chars)
		return "too_many_chars";
	if (p->length.min_words || p->length.max_words) {
		size_t n = qdoc_nwords(q);
		if (p->length.min_words && n < (size_t)p->length.min_words)
			return "too_few_words";
		if (p->length.max_words && n > (size_t)p->length.max_words)
			return "too_many_words";
	}
	return NULL;
}
