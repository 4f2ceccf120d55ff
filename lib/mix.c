/* mix.c - source mixture plans, document keys, subsampling; see mix.h. */
#include "mix.h"
#include "buf.h"
#include "crng.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Epochs above this are almost surely a mistake in --mix or --tokens. */
#define MIX_MAX_EPOCHS 1e6

static int name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

void mix_spec_free(struct mix_spec *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	free(m->shares);
	memset(m, 0, sizeof *m);
}

int mix_spec_find(const struct mix_spec *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* One "NAME=WEIGHT" item of length len at s. */
static int parse_item(struct mix_spec *m, const char *s, size_t len,
		      struct llm_err *e)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq ? (size_t)(eq - s) : 0;
	if (!eq || nlen == 0)
		return llm_err_set(e, "'%.*s' is not NAME=WEIGHT", (int)len, s);
	for (size_t i = 0; i < nlen; i++)
		if (!name_char((unsigned char)s[i]))
			return llm_err_set(e, "'%.*s': a source name has only letters, digits, '_', '-' and '.'",
					   (int)nlen, s);
	char num[64];
	size_t wlen = len - nlen - 1;
	if (wlen == 0 || wlen >= sizeof num)
		return llm_err_set(e, "'%.*s': the weight is not a number", (int)len, s);
	memcpy(num, eq + 1, wlen);
	num[wlen] = '\0';
	char *end;
	double w = strtod(num, &end);
	if (*end || !isfinite(w) || w < 0)
		return llm_err_set(e, "'%.*s': the weight is not a number >= 0", (int)len, s);
	char *name = xmalloc(nlen + 1);
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	if (mix_spec_find(m, name) >= 0) {
		llm_err_set(e, "source '%s' is named twice", name);
		free(name);
		return -1;
	}
	m->names = xrealloc(m->names, (m->n + 1) * sizeof *m->names);
	m->shares = xrealloc(m->shares, (m->n + 1) * sizeof *m->shares);
	m->names[m->n] = name;
	m->shares[m->n++] = w;
	return 0;
}

int mix_spec_parse(const char *s, struct mix_spec *m, struct llm_err *e)
{
	memset(m, 0, sizeof *m);
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_item(m, p, len, e) < 0) {
			mix_spec_free(m);
			return -1;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	double sum = 0;
	for (size_t i = 0; i < m->n; i++)
		sum += m->shares[i];
	if (!(sum > 0)) {
		mix_spec_free(m);
		return llm_err_set(e, "the weights add up to 0");
	}
	for (size_t i = 0; i < m->n; i++)
		m->shares[i] /= sum;
	return 0;
}

/* Split a source's epochs into whole passes and a last fractional pass,
 * treating a hair's breadth from a whole number as whole. */
static void split_epochs(struct mix_source *s)
{
	double full = floor(s->epochs);
	double frac = s->epochs - full;
	if (frac > 1 - 1e-12) {
		full += 1;
		frac = 0;
	} else if (frac < 1e-12) {
		frac = 0;
	}
	s->full = (unsigned)full;
	s->frac = frac;
}

int mix_plan(struct mix_source *s, size_t n, uint64_t total, int natural,
	     const char *const *names, struct llm_err *e)
{
	double all = 0, shared = 0;
	for (size_t i = 0; i < n; i++) {
		all += (double)s[i].tokens;
		if (natural || s[i].share > 0)
			shared += (double)s[i].tokens;
	}
	double out = total ? (double)total : shared;
	for (size_t i = 0; i < n; i++) {
		struct mix_source *x = &s[i];
		if (natural)
			x->share = all > 0 ? (double)x->tokens / all : 0;
		x->target = x->epochs = x->frac = 0;
		x->full = 0;
		if (natural && x->tokens == 0)
			continue;
		if (x->share <= 0)
			continue;
		if (x->tokens == 0)
			return llm_err_set(e, "source '%s' has no tokens but a share of %g",
					   names[i], x->share);
		if (natural && total == 0) {
			/* Exactly once each, with no floating-point doubt. */
			x->target = (double)x->tokens;
			x->epochs = 1;
		} else {
			x->target = x->share * out;
			x->epochs = x->target / (double)x->tokens;
		}
		if (x->epochs > MIX_MAX_EPOCHS)
			return llm_err_set(e, "source '%s' (%llu tokens) would be repeated %.0f times",
					   names[i], (unsigned long long)x->tokens, x->epochs);
		split_epochs(x);
	}
	return 0;
}

void mix_doc_keys(const uint32_t *ids, size_t n, uint64_t seed,
		  uint64_t *split_key, uint64_t *sample_key)
{
	XXH128_hash_t h;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	/* Hash little-endian bytes so keys agree across machines. */
	uint32_t *le = xmalloc(n ? n * sizeof *le : 1);
	for (size_t i = 0; i < n; i++)
		le[i] = __builtin_bswap32(ids[i]);
	h = XXH3_128bits(le, n * sizeof *le);
	free(le);
#else
	h = XXH3_128bits(ids, n * sizeof *ids);
#endif
	*split_key = h.low64;
	*sample_key = crng_mix(h.high64 ^ crng_mix(seed + CRNG_GOLDEN));
}

uint32_t mix_cut_fraction(double f)
{
	if (!(f > 0))
		return 0;
	if (f >= 1)
		return MIX_CUT_BUCKETS;
	double c = nearbyint(f * MIX_CUT_BUCKETS);
	if (c < 1)
		return 1;
	return c > MIX_CUT_BUCKETS ? MIX_CUT_BUCKETS : (uint32_t)c;
}

uint32_t mix_cut_tokens(const uint64_t *const *hist, const double *scale,
			size_t nsrc, uint64_t want, double *got)
{
	double cum = 0, best_diff = (double)want, first_cum = 0;
	uint32_t best = 0, first = 0;
	for (uint32_t b = 1; b <= MIX_CUT_BUCKETS; b++) {
		for (size_t s = 0; s < nsrc; s++)
			cum += scale[s] * (double)hist[s][b - 1];
		if (cum > 0 && first == 0) {
			first = b;
			first_cum = cum;
		}
		double diff = fabs(cum - (double)want);
		if (diff < best_diff) {
			best_diff = diff;
			best = b;
			*got = cum;
		}
	}
	if (best == 0) {
		*got = 0;
		/* Asked for some validation: give the smallest there is. */
		if (want > 0 && first > 0) {
			best = first;
			*got = first_cum;
		}
	}
	return best;
}

void mix_sampler_init(struct mix_sampler *s, double frac)
{
	memset(s, 0, sizeof *s);
	s->frac = frac;
}

int mix_sample(struct mix_sampler *s, int split, uint64_t n, uint64_t key)
{
	double size = (double)n;
	/* Tokens we should have taken once this document is counted, less
	 * those taken: the document's chance, as a fraction of its size. */
	double owed = s->frac * (s->seen[split] + size) - s->taken[split];
	double p = owed / size;
	double u = (double)(key >> 11) * 0x1.0p-53;	/* [0, 1) */
	int take = u < p;
	s->seen[split] += size;
	if (take)
		s->taken[split] += size;
	return take;
}

int mix_pick(const double *target, const double *emitted, const int *active,
	     size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!active[i] || !(target[i] > 0))
			continue;
		/* emitted[i] / target[i] < emitted[best] / target[best] */
		if (best < 0 || emitted[i] * target[best] < emitted[best] * target[i])
			best = (int)i;
	}
	return best;
}
