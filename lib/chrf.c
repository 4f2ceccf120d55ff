/* chrf.c - sacreBLEU-compatible chrF and chrF++; see chrf.h. */
#include "chrf.h"
#include "bleu.h"
#include "buf.h"
#include "ngram.h"
#include "pystr.h"

#include <stdlib.h>
#include <string.h>

void chrf_opts_default(struct chrf_opts *o)
{
	memset(o, 0, sizeof *o);
	o->char_order = 6;
	o->beta = 2;
}

/* One preprocessed text: its characters and word ids, and the n-grams of
 * every order, which point into them. */
struct text {
	uint32_t *chars;
	size_t nchars, cap_chars;
	uint32_t *words;
	size_t nwords, cap_words;
	struct ngrams g[CHRF_MAX_ORDER];
};

struct chrf {
	struct chrf_opts o;
	struct strtab *tab;
	struct buf low;
	struct text *t;		/* [0] hypothesis, [1..] references */
	int ntexts;
};

struct chrf *chrf_new(const struct chrf_opts *o)
{
	struct chrf *c = xcalloc(1, sizeof *c);
	c->o = *o;
	c->tab = strtab_new();
	return c;
}

void chrf_free(struct chrf *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->ntexts; i++) {
		free(c->t[i].chars);
		free(c->t[i].words);
		for (int k = 0; k < CHRF_MAX_ORDER; k++)
			ngrams_free(&c->t[i].g[k]);
	}
	free(c->t);
	strtab_free(c->tab);
	buf_free(&c->low);
	free(c);
}

static int ascii_punct(char ch)
{
	return ch > 0 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", ch) != NULL;
}

static void push_word(struct chrf *c, struct text *t, const char *s, size_t n)
{
	if (t->nwords == t->cap_words) {
		t->cap_words = t->cap_words ? t->cap_words * 2 : 64;
		t->words = xrealloc(t->words, t->cap_words * sizeof *t->words);
	}
	t->words[t->nwords++] = strtab_id(c->tab, s, n);
}

/* chrF++'s words: split on whitespace, then one punctuation mark off the
 * end of a word of two or more characters, or else off its start. */
static void split_words(struct chrf *c, struct text *t, const char *s, size_t n)
{
	size_t pos = 0, st, len;
	t->nwords = 0;
	while (pystr_field(s, n, &pos, &st, &len)) {
		const char *w = s + st;
		size_t one = 0;
		pystr_next(w, len, &one);
		if (one == len)	/* a single character */
			push_word(c, t, w, len);
		else if (ascii_punct(w[len - 1])) {
			push_word(c, t, w, len - 1);
			push_word(c, t, w + len - 1, 1);
		} else if (ascii_punct(w[0])) {
			push_word(c, t, w, 1);
			push_word(c, t, w + 1, len - 1);
		} else {
			push_word(c, t, w, len);
		}
	}
}

static void load_text(struct chrf *c, struct text *t, const char *s, size_t n)
{
	if (c->o.lowercase) {
		buf_clear(&c->low);
		pystr_lower(&c->low, s, n);
		s = c->low.p;
		n = c->low.len;
	}
	t->nchars = pystr_decode(s, n, &t->chars, &t->cap_chars);
	if (!c->o.whitespace) {	/* ''.join(line.split()) */
		size_t w = 0;
		for (size_t i = 0; i < t->nchars; i++)
			if (!pystr_isspace(t->chars[i]))
				t->chars[w++] = t->chars[i];
		t->nchars = w;
	}
	for (int k = 0; k < c->o.char_order; k++)
		ngrams_count(&t->g[k], t->chars, t->nchars, k + 1);
	if (c->o.word_order > 0) {
		split_words(c, t, s, n);
		for (int k = 0; k < c->o.word_order; k++)
			ngrams_count(&t->g[c->o.char_order + k], t->words,
				     t->nwords, k + 1);
	}
}

static void reserve_texts(struct chrf *c, int n)
{
	if (n <= c->ntexts)
		return;
	c->t = xrealloc(c->t, (size_t)n * sizeof *c->t);
	memset(c->t + c->ntexts, 0, (size_t)(n - c->ntexts) * sizeof *c->t);
	c->ntexts = n;
}

void chrf_segment(struct chrf *c, const char *hyp, size_t hyp_len,
		  const char *const *refs, const size_t *ref_lens, int nrefs,
		  struct chrf_stats *st)
{
	int orders = c->o.char_order + c->o.word_order;
	reserve_texts(c, nrefs + 1);
	load_text(c, &c->t[0], hyp, hyp_len);
	double best = -1.0;
	memset(st, 0, sizeof *st);
	for (int r = 0; r < nrefs; r++) {
		struct text *rt = &c->t[r + 1];
		struct chrf_stats cur = {{0}};
		load_text(c, rt, refs[r], ref_lens[r]);
		for (int k = 0; k < orders; k++) {
			const struct ngrams *h = &c->t[0].g[k], *g = &rt->g[k];
			/* No hypothesis count where the reference has none. */
			cur.v[3 * k] = g->total ? (double)h->total : 0.0;
			cur.v[3 * k + 1] = (double)g->total;
			cur.v[3 * k + 2] = (double)ngrams_overlap(h, g);
		}
		double f = chrf_compute(&c->o, &cur);
		if (f > best) {
			best = f;
			*st = cur;
		}
	}
}

void chrf_stats_add(const struct chrf_opts *o, struct chrf_stats *sum,
		    const struct chrf_stats *seg)
{
	int n = 3 * (o->char_order + o->word_order);
	for (int i = 0; i < n; i++)
		sum->v[i] += seg->v[i];
}

double chrf_compute(const struct chrf_opts *o, const struct chrf_stats *st)
{
	const double eps = 1e-16;
	int orders = o->char_order + o->word_order, eff = 0;
	double factor = o->beta * o->beta, score = 0, avg_p = 0, avg_r = 0;
	for (int k = 0; k < orders; k++) {
		double nh = st->v[3 * k], nr = st->v[3 * k + 1], nm = st->v[3 * k + 2];
		double p = nh > 0 ? nm / nh : eps;
		double r = nr > 0 ? nm / nr : eps;
		double denom = factor * p + r;
		score += denom > 0 ? (1 + factor) * p * r / denom : eps;
		if (nh > 0 && nr > 0) {
			avg_p += p;
			avg_r += r;
			eff++;
		}
	}
	if (o->eps_smoothing)
		return 100 * score / orders;
	if (eff == 0) {
		avg_p = avg_r = 0;
	} else {
		avg_p /= eff;
		avg_r /= eff;
	}
	if (avg_p + avg_r == 0)
		return 0.0;
	double f = (1 + factor) * avg_p * avg_r;
	f /= factor * avg_p + avg_r;
	return 100 * f;
}

void chrf_name(const struct chrf_opts *o, struct buf *out)
{
	buf_printf(out, "chrF%g", o->beta);
	for (int i = 0; i < o->word_order; i++)
		buf_putc(out, '+');
}

void chrf_signature(const struct chrf_opts *o, int nrefs, struct buf *out)
{
	buf_printf(out, "nrefs:%d|case:%s|eff:%s|nc:%d|nw:%d|space:%s|version:%s",
		   nrefs, o->lowercase ? "lc" : "mixed",
		   o->eps_smoothing ? "no" : "yes", o->char_order, o->word_order,
		   o->whitespace ? "yes" : "no", SACREBLEU_VERSION);
}
