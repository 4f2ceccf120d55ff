/*
 * chrf.h - chrF and chrF++ exactly as sacreBLEU 2.x computes them
 * (sacrebleu/metrics/chrf.py).
 *
 * Character n-grams of orders 1..char_order count code points of the
 * segment with all whitespace removed (or kept, with whitespace=1); chrF++
 * adds word n-grams of orders 1..word_order over the whitespace-split words,
 * one ASCII punctuation mark split off the end of a word (or, failing that,
 * off its start).  Per order a segment gives [hypothesis n-grams (0 when the
 * reference has none of that order), reference n-grams, matches]; with
 * several references the segment keeps the statistics of the reference
 * with the best sentence score (the first on ties).  Statistics are summed
 * over the corpus.
 *
 * The score: by default sacreBLEU's effective-order average -- precision
 * and recall averaged over the orders where both sides have n-grams, then
 * F-beta of the averages; with eps_smoothing, the chrF++.py/NLTK/Moses way
 * -- the mean over all orders of per-order F-beta, an empty side counting
 * as 1e-16.  Scores are 0..100.
 */
#ifndef LLM_CHRF_H
#define LLM_CHRF_H

#include <stddef.h>

struct buf;

#define CHRF_MAX_ORDER 32	/* char_order + word_order */

struct chrf_opts {
	int char_order;		/* default 6 */
	int word_order;		/* default 0; 2 is chrF++ */
	double beta;		/* default 2 */
	int lowercase;
	int whitespace;		/* keep whitespace in character n-grams */
	int eps_smoothing;
};

void chrf_opts_default(struct chrf_opts *o);

/* [hyp, ref, match] per order, char orders first, then word orders. */
struct chrf_stats {
	double v[3 * CHRF_MAX_ORDER];
};

struct chrf;

struct chrf *chrf_new(const struct chrf_opts *o);
void chrf_free(struct chrf *c);

/* Statistics of one segment against nrefs >= 1 references (valid UTF-8). */
void chrf_segment(struct chrf *c, const char *hyp, size_t hyp_len,
		  const char *const *refs, const size_t *ref_lens, int nrefs,
		  struct chrf_stats *st);
void chrf_stats_add(const struct chrf_opts *o, struct chrf_stats *sum,
		    const struct chrf_stats *seg);
/* The score (0..100) of (summed) statistics. */
double chrf_compute(const struct chrf_opts *o, const struct chrf_stats *st);

/* "chrF2" or "chrF2++": sacreBLEU's name for the metric. */
void chrf_name(const struct chrf_opts *o, struct buf *out);
/* sacreBLEU's signature, e.g.
 * "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0". */
void chrf_signature(const struct chrf_opts *o, int nrefs, struct buf *out);

#endif
