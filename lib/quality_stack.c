/* quality_stack.c - apply rule sets in order; see quality.h. */
#include "quality.h"
#include "classifier.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

const char *qstack_rule_name(int rule)
{
	return rule == Q_CLASSIFIER ? "classifier" : quality_rule_name(rule);
}

/* GPT-3's rule: keep when np.random.pareto(alpha) > 1 - score. */
static int pareto_keep(const struct qstack *s, const char *id, size_t idlen, double score)
{
	uint64_t rng = s->seed ^ XXH3_64bits(id, idlen);
	double u = clf_uniform(&rng);
	/* inverse CDF of Lomax(alpha, 1): (1 - u)^(-1/alpha) - 1 */
	double draw = expm1(-log1p(-u) / s->pareto_alpha);
	return draw > 1 - score;
}

static const char *classify(const struct qstack *s, struct qdoc *q, struct clf_feats *f,
			    const char *id, size_t idlen, struct qverdict *v)
{
	if (!v->scored) {
		v->score = clf_score(s->clf, f, q->text, q->n);
		v->scored = 1;
	}
	if (v->score < s->min_score)
		return "low_score";
	if (s->pareto_alpha > 0 && !pareto_keep(s, id, idlen, v->score))
		return "pareto_sample";
	return NULL;
}

static const char *run(const struct qstack *s, int rule, struct qdoc *q,
		       struct clf_feats *f, const char *lang, size_t langlen,
		       const char *id, size_t idlen, struct qverdict *v)
{
	switch (rule) {
	case Q_LENGTH:
		return quality_length(s->p, q);
	case Q_GOPHER_QUALITY:
		return quality_gopher(s->p, q);
	case Q_GOPHER_REPETITION:
		return quality_repetition(s->p, q);
	case Q_FINEWEB:
		return quality_fineweb(s->p, q);
	case Q_BADWORDS:
		return quality_badwords(s->bw, lang, langlen, q);
	case Q_CLASSIFIER:
		return classify(s, q, f, id, idlen, v);
	case Q_C4: {
		const char *why = quality_c4(s->p, q);
		if (why)
			return why;
		/* Later rules judge the cleaned text. */
		if (q->out.len != q->n || memcmp(q->out.p ? q->out.p : "", q->text, q->n) != 0) {
			size_t nwords = q->out_words;
			buf_clear(&q->clean);
			buf_append(&q->clean, q->out.p ? q->out.p : "", q->out.len);
			qdoc_reset(q, q->clean.p ? q->clean.p : "", q->clean.len);
			q->nwords = nwords;	/* spares splitting it again */
			v->text_changed = 1;
		}
		return NULL;
	}
	}
	return NULL;
}

void qstack_judge(const struct qstack *s, struct qdoc *q, struct clf_feats *f,
		  const char *text, size_t n, const char *lang, size_t langlen,
		  const char *id, size_t idlen, int score_all, struct qverdict *v)
{
	memset(v, 0, sizeof *v);
	v->rule = -1;
	if (!lang) {
		lang = s->language;
		langlen = strlen(lang);
	}
	qdoc_reset(q, text, n);
	for (int i = 0; i < s->nrules && !v->reason; i++) {
		const char *why = run(s, s->rules[i], q, f, lang, langlen, id, idlen, v);
		if (why) {
			v->rule = s->rules[i];
			v->reason = why;
		}
	}
	if (score_all && s->clf && !v->scored) {
		v->score = clf_score(s->clf, f, q->text, q->n);
		v->scored = 1;
	}
}
