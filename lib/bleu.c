/* bleu.c - sacreBLEU-compatible BLEU; see bleu.h. */
#include "bleu.h"
#include "buf.h"
#include "ngram.h"
#include "pystr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bleu_opts_default(struct bleu_opts *o)
{
	memset(o, 0, sizeof *o);
	o->tok = BLEU_TOK_13A;
	o->smooth = BLEU_SMOOTH_EXP;
	o->smooth_value = -1;
	o->max_order = 4;
}

/* Append s with every occurrence of `from` replaced by `to`. */
static void replace_all(struct buf *out, const char *s, size_t n,
			const char *from, const char *to)
{
	size_t fl = strlen(from);
	for (;;) {
		const char *hit = memmem(s, n, from, fl);
		size_t k = hit ? (size_t)(hit - s) : n;
		buf_append(out, s, k);
		if (!hit)
			break;
		buf_puts(out, to);
		s += k + fl;
		n -= k + fl;
	}
}

/* Apply f(a -> b) and swap, so each pass reads the previous one's output. */
#define PASS(a, b, call) do { buf_clear(b); call; struct buf t_ = *(a); \
	*(a) = *(b); *(b) = t_; } while (0)

/* The characters mteval-v13a pads with spaces:
 * [\{-\~\[-\` -\&\(-\+\:-\@\/] */
static int v13a_symbol(unsigned char c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') ||
	       (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
	       (c >= ':' && c <= '@') || c == '/';
}

static int digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int dot_comma(unsigned char c)
{
	return c == '.' || c == ',';
}

/*
 * The three substitutions after the symbol padding, each a left-to-right
 * scan that, like re.sub, resumes after a match.  Working on bytes gives
 * the same result as on characters: the characters tested are ASCII and
 * no byte of a multi-byte character is a digit, '.', ',' or '-'.
 */
static void v13a_rule(struct buf *out, const char *s, size_t n, int rule)
{
	/* Each match of two bytes grows by two: 2n bytes always suffice. */
	buf_reserve(out, 2 * n + 1);
	char *w = out->p + out->len;
	for (size_t i = 0; i < n;) {
		unsigned char a = (unsigned char)s[i];
		unsigned char b = i + 1 < n ? (unsigned char)s[i + 1] : 0;
		int hit = i + 1 < n &&
			((rule == 2 && !digit(a) && dot_comma(b)) ||
			 (rule == 3 && dot_comma(a) && !digit(b)) ||
			 (rule == 4 && digit(a) && b == '-'));
		if (!hit) {
			*w++ = (char)a;
			i++;
			continue;
		}
		if (rule == 3)	/* ' \1 \2' */
			*w++ = ' ';
		*w++ = (char)a;
		*w++ = ' ';
		*w++ = (char)b;
		if (rule != 3)	/* '\1 \2 ' */
			*w++ = ' ';
		i += 2;
	}
	out->len = (size_t)(w - out->p);
	out->p[out->len] = '\0';
}

static void tok_13a(const char *s, size_t n, struct buf *out)
{
	struct buf a = {0}, b = {0};
	buf_append(&a, s, n);
	PASS(&a, &b, replace_all(&b, a.p, a.len, "<skipped>", ""));
	PASS(&a, &b, replace_all(&b, a.p, a.len, "-\n", ""));
	PASS(&a, &b, replace_all(&b, a.p, a.len, "\n", " "));
	if (memchr(a.p, '&', a.len)) {
		PASS(&a, &b, replace_all(&b, a.p, a.len, "&quot;", "\""));
		PASS(&a, &b, replace_all(&b, a.p, a.len, "&amp;", "&"));
		PASS(&a, &b, replace_all(&b, a.p, a.len, "&lt;", "<"));
		PASS(&a, &b, replace_all(&b, a.p, a.len, "&gt;", ">"));
	}
	/* f' {line} ', then pad the symbols: at most 3 bytes per byte. */
	buf_clear(&b);
	buf_reserve(&b, 3 * a.len + 3);
	char *w = b.p;
	*w++ = ' ';
	for (size_t i = 0; i < a.len; i++) {
		if (v13a_symbol((unsigned char)a.p[i])) {
			*w++ = ' ';
			*w++ = a.p[i];
			*w++ = ' ';
		} else {
			*w++ = a.p[i];
		}
	}
	*w++ = ' ';
	b.len = (size_t)(w - b.p);
	b.p[b.len] = '\0';
	struct buf t = a;
	a = b;
	b = t;
	for (int rule = 2; rule <= 4; rule++)
		PASS(&a, &b, v13a_rule(&b, a.p, a.len, rule));
	pystr_squeeze(out, a.p, a.len);
	buf_free(&a);
	buf_free(&b);
}

/* One regex substitution of the international tokenizer over code points:
 * rule 1 (\P{N})(\p{P}) -> '\1 \2 ', rule 2 (\p{P})(\P{N}) -> ' \1 \2',
 * rule 3 (\p{S}) -> ' \1 '. */
static void intl_rule(struct buf *out, const uint32_t *c, size_t n, int rule)
{
	for (size_t i = 0; i < n;) {
		if (rule == 3) {
			if (pystr_is_symbol(c[i])) {
				buf_putc(out, ' ');
				pystr_put(out, c[i]);
				buf_putc(out, ' ');
			} else {
				pystr_put(out, c[i]);
			}
			i++;
			continue;
		}
		int hit = i + 1 < n &&
			((rule == 1 && !pystr_is_number(c[i]) && pystr_is_punct(c[i + 1])) ||
			 (rule == 2 && pystr_is_punct(c[i]) && !pystr_is_number(c[i + 1])));
		if (!hit) {
			pystr_put(out, c[i++]);
			continue;
		}
		if (rule == 2)
			buf_putc(out, ' ');
		pystr_put(out, c[i]);
		buf_putc(out, ' ');
		pystr_put(out, c[i + 1]);
		if (rule == 1)
			buf_putc(out, ' ');
		i += 2;
	}
	buf_append(out, "", 0);
}

static void tok_intl(const char *s, size_t n, struct buf *out)
{
	struct buf a = {0}, b = {0};
	uint32_t *cps = NULL;
	size_t cap = 0;
	buf_append(&a, s, n);
	for (int rule = 1; rule <= 3; rule++) {
		size_t k = pystr_decode(a.p, a.len, &cps, &cap);
		PASS(&a, &b, intl_rule(&b, cps, k, rule));
	}
	pystr_squeeze(out, a.p, a.len);
	free(cps);
	buf_free(&a);
	buf_free(&b);
}

/* ' '.join(line) and the later split(): each non-space character. */
static void tok_char(const char *s, size_t n, struct buf *out)
{
	int first = 1;
	for (size_t i = 0; i < n;) {
		size_t st = i;
		if (pystr_isspace(pystr_next(s, n, &i)))
			continue;
		if (!first)
			buf_putc(out, ' ');
		buf_append(out, s + st, i - st);
		first = 0;
	}
	buf_append(out, "", 0);
}

void bleu_preprocess(const struct bleu_opts *o, const char *s, size_t n,
		     struct buf *out)
{
	struct buf low = {0};
	if (o->lowercase) {
		pystr_lower(&low, s, n);
		s = low.p;
		n = low.len;
	}
	n = pystr_rstrip(s, n);
	switch (o->tok) {
	case BLEU_TOK_13A: tok_13a(s, n, out); break;
	case BLEU_TOK_INTL: tok_intl(s, n, out); break;
	case BLEU_TOK_CHAR: tok_char(s, n, out); break;
	case BLEU_TOK_NONE: pystr_squeeze(out, s, n); break;
	}
	buf_free(&low);
}

/* Token ids of one text; the n-gram sets point into v. */
struct ids {
	uint32_t *v;
	size_t n, cap;
};

struct bleu {
	struct bleu_opts o;
	struct strtab *tab;
	struct buf pre;
	struct ids *ids;		/* [0] hypothesis, [1..] references */
	struct ngrams *grams;		/* [text * max_order + order - 1] */
	int ntexts;
};

struct bleu *bleu_new(const struct bleu_opts *o)
{
	struct bleu *b = xcalloc(1, sizeof *b);
	b->o = *o;
	b->tab = strtab_new();
	return b;
}

void bleu_free(struct bleu *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->ntexts; i++) {
		free(b->ids[i].v);
		for (int k = 0; k < b->o.max_order; k++)
			ngrams_free(&b->grams[i * b->o.max_order + k]);
	}
	free(b->ids);
	free(b->grams);
	strtab_free(b->tab);
	buf_free(&b->pre);
	free(b);
}

/* Preprocess text number t, intern its tokens and count its n-grams. */
static size_t load_text(struct bleu *b, int t, const char *s, size_t n)
{
	struct ids *a = &b->ids[t];
	buf_clear(&b->pre);
	bleu_preprocess(&b->o, s, n, &b->pre);
	a->n = 0;
	size_t pos = 0, st, len;
	while (pystr_field(b->pre.p, b->pre.len, &pos, &st, &len)) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 64;
			a->v = xrealloc(a->v, a->cap * sizeof *a->v);
		}
		a->v[a->n++] = strtab_id(b->tab, b->pre.p + st, len);
	}
	for (int k = 0; k < b->o.max_order; k++)
		ngrams_count(&b->grams[t * b->o.max_order + k], a->v, a->n, k + 1);
	return a->n;
}

static void reserve_texts(struct bleu *b, int ntexts)
{
	if (ntexts <= b->ntexts)
		return;
	int mo = b->o.max_order;
	b->ids = xrealloc(b->ids, (size_t)ntexts * sizeof *b->ids);
	b->grams = xrealloc(b->grams, (size_t)ntexts * (size_t)mo * sizeof *b->grams);
	memset(b->ids + b->ntexts, 0, (size_t)(ntexts - b->ntexts) * sizeof *b->ids);
	memset(b->grams + (size_t)b->ntexts * (size_t)mo, 0,
	       (size_t)(ntexts - b->ntexts) * (size_t)mo * sizeof *b->grams);
	b->ntexts = ntexts;
}

void bleu_segment(struct bleu *b, const char *hyp, size_t hyp_len,
		  const char *const *refs, const size_t *ref_lens, int nrefs,
		  struct bleu_stats *st)
{
	int mo = b->o.max_order;
	reserve_texts(b, nrefs + 1);
	memset(st, 0, sizeof *st);
	st->sys_len = (double)load_text(b, 0, hyp, hyp_len);

	/* The closest reference length, the shorter one on a tie. */
	long closest = -1, closest_diff = -1;
	for (int r = 0; r < nrefs; r++) {
		long len = (long)load_text(b, r + 1, refs[r], ref_lens[r]);
		long diff = labs((long)st->sys_len - len);
		if (closest_diff == -1 || diff < closest_diff) {
			closest_diff = diff;
			closest = len;
		} else if (diff == closest_diff && len < closest) {
			closest = len;
		}
	}
	st->ref_len = (double)closest;

	for (int k = 0; k < mo; k++) {
		const struct ngrams *h = &b->grams[k];
		st->total[k] = (double)h->total;
		if (nrefs == 1) {
			st->correct[k] = (double)ngrams_overlap(h, &b->grams[mo + k]);
			continue;
		}
		/* Clip by the largest count in any one reference. */
		uint64_t c = 0;
		for (size_t i = 0; i < h->len; i++) {
			uint32_t max = 0;
			for (int r = 1; r <= nrefs; r++) {
				uint32_t x = ngrams_find(&b->grams[r * mo + k], h->v[i].seq);
				if (x > max)
					max = x;
			}
			c += h->v[i].count < max ? h->v[i].count : max;
		}
		st->correct[k] = (double)c;
	}
}

void bleu_stats_add(struct bleu_stats *sum, const struct bleu_stats *seg,
		    int max_order)
{
	sum->sys_len += seg->sys_len;
	sum->ref_len += seg->ref_len;
	for (int k = 0; k < max_order; k++) {
		sum->correct[k] += seg->correct[k];
		sum->total[k] += seg->total[k];
	}
}

static double smooth_value(const struct bleu_opts *o)
{
	if (o->smooth_value >= 0)
		return o->smooth_value;
	return o->smooth == BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
}

/* sacreBLEU's my_log: log(0) is -9999999999, so the score underflows to 0
 * instead of failing. */
static double my_log(double x)
{
	return x == 0.0 ? -9999999999.0 : log(x);
}

void bleu_compute(const struct bleu_opts *o, const struct bleu_stats *st,
		  struct bleu_score *out)
{
	int mo = o->max_order;
	double v = smooth_value(o);
	memset(out, 0, sizeof *out);
	out->stats = *st;
	double *correct = out->stats.correct, *total = out->stats.total;
	double sys = st->sys_len, ref = st->ref_len;

	out->bp = 1.0;
	if (sys < ref)
		out->bp = sys > 0 ? exp(1 - ref / sys) : 0.0;

	int any = 0;
	for (int k = 0; k < mo; k++)
		any |= correct[k] != 0;
	if (!any)	/* no match at all: 0, whatever the smoothing (#141) */
		return;

	double mteval = 1.0;
	int eff = mo;
	for (int n = 1; n <= mo; n++) {
		if (o->smooth == BLEU_SMOOTH_ADDK && n > 1) {
			correct[n - 1] += v;
			total[n - 1] += v;
		}
		if (total[n - 1] == 0)
			break;
		if (o->effective_order)
			eff = n;
		if (correct[n - 1] == 0) {
			if (o->smooth == BLEU_SMOOTH_EXP) {
				mteval *= 2;
				out->precisions[n - 1] = 100.0 / (mteval * total[n - 1]);
			} else if (o->smooth == BLEU_SMOOTH_FLOOR) {
				out->precisions[n - 1] = 100.0 * v / total[n - 1];
			}
		} else {
			out->precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
		}
	}
	double sum = 0;
	for (int k = 0; k < eff; k++)
		sum += my_log(out->precisions[k]);
	out->score = out->bp * exp(sum / eff);
}

/* Indexed by enum bleu_tok and enum bleu_smooth. */
static const char *const tok_names[] = {"13a", "intl", "char", "none"};
static const char *const smooth_names[] = {"exp", "floor", "add-k", "none"};

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int bleu_tok_parse(const char *s)
{
	return name_index(tok_names, 4, s);
}

int bleu_smooth_parse(const char *s)
{
	return name_index(smooth_names, 4, s);
}

void bleu_signature(const struct bleu_opts *o, int nrefs, struct buf *out)
{
	buf_printf(out, "nrefs:%d|case:%s|eff:%s|tok:%s|smooth:%s", nrefs,
		   o->lowercase ? "lc" : "mixed",
		   o->effective_order ? "yes" : "no", tok_names[o->tok],
		   smooth_names[o->smooth]);
	if (o->smooth == BLEU_SMOOTH_FLOOR || o->smooth == BLEU_SMOOTH_ADDK)
		buf_printf(out, "[%.2f]", smooth_value(o));
	buf_puts(out, "|version:" SACREBLEU_VERSION);
}
