/* quality_c4.c - C4's line cleaning and document rules, as datatrove's
 * C4QualityFilter with split_paragraph=True; see quality.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "quality.h"
#include "quality_int.h"

#include <pcre2.h>
#include <string.h>

/* Whitespace-separated words of a line (str.split()): how many, and
 * whether one is longer than max code points (max < 0: never).  They are
 * the runs of the text's words (words_split()) with nothing between them:
 * v[0..nv), the words of the line. */
static size_t split_count(const struct word *v, size_t nv, long max, int *too_long)
{
	size_t words = 0, run = 0;
	*too_long = 0;
	for (size_t i = 0; i < nv; i++) {
		if (i == 0 || v[i].off != v[i - 1].off + v[i - 1].len) {
			words++;
			run = 0;
		}
		run += v[i].ncp;
		if (max >= 0 && run > (size_t)max)
			*too_long = 1;
	}
	return words;
}

/* Remove every match of the citation regex from s[0..n) into out. */
static void remove_citations(const struct quality_params *p, struct qdoc *q,
			     const char *s, size_t n, struct buf *out)
{
	buf_clear(out);
	if (p->citation_default && !memchr(s, '[', n)) {
		buf_append(out, s, n);
		return;
	}
	if (!q->match)
		q->match = pcre2_match_data_create_from_pattern(p->citation_re, NULL);
	size_t at = 0;
	while (at <= n) {
		int rc = pcre2_match(p->citation_re, (PCRE2_SPTR)s, n, at, 0, q->match, NULL);
		if (rc < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(q->match);
		buf_append(out, s + at, ov[0] - at);
		if (ov[1] == ov[0]) {	/* empty match: keep one character */
			if (ov[0] >= n)
				break;
			size_t k = ov[0];
			words_next_cp((const unsigned char *)s, n, &k);
			buf_append(out, s + ov[0], k - ov[0]);
			at = k;
			continue;
		}
		at = ov[1];
	}
	if (at < n)
		buf_append(out, s + at, n - at);
}

/*
 * Sentences in a line as spaCy's sentencizer counts them: a new sentence
 * starts at the first token after a sentence-final character ('.', '!',
 * '?' and their kin) that is neither punctuation nor one of them.  Runs of
 * whitespace other than a single space are tokens of their own there.
 */
static size_t count_sentences(const char *s, size_t prev, const struct word *v,
			      size_t nw)
{
	size_t count = 1;
	int seen = 0;
	for (size_t i = 0; i < nw; i++) {
		const struct word *w = &v[i];
		size_t gap = w->off - prev;
		if (gap && !(gap == 1 && s[prev] == ' ') && seen) {
			count++;	/* a whitespace token */
			seen = 0;
		}
		const unsigned char *u = (const unsigned char *)s + w->off;
		size_t k = 0;
		uint32_t first = words_next_cp(u, w->len, &k);
		int in_sent = w->ncp == 1 && words_class(first) & WC_SENT;
		int punct = 1;
		for (k = 0; k < w->len && punct;)
			punct = (words_class(words_next_cp(u, w->len, &k)) & WC_PYPUNCT) != 0;
		if (seen && !punct && !in_sent) {
			count++;
			seen = 0;
		} else if (in_sent) {
			seen = 1;
		}
		prev = w->off + w->len;
	}
	return count;
}

static size_t sentences(struct qdoc *q, const char *s, size_t n)
{
	words_split(&q->lw, s, n);
	return count_sentences(s, 0, q->lw.v, q->lw.n);
}

/* The same for the line at q->text[off..off+n), with the words of the
 * whole text: a line's words are the text's words between its ends, as
 * lines end in whitespace.  *cursor moves forward through the words. */
static void line_words(struct qdoc *q, size_t off, size_t n, size_t *cursor, size_t *i,
		       size_t *j)
{
	const struct words *w = qdoc_words(q);
	*i = *cursor;
	while (*i < w->n && w->v[*i].off < off)
		(*i)++;
	*j = *i;
	while (*j < w->n && w->v[*j].off < off + n)
		(*j)++;
	*cursor = *j;
}

enum { HAS_LOREM = 1, HAS_JAVASCRIPT = 2, HAS_POLICY = 4 };

/* Which of "lorem ipsum", "javascript" and the policy phrases the
 * lower-cased line holds, in one pass: a bitmap of hashes of the phrases'
 * first four bytes (quality_prepare()) says where one may start. */
static int phrases(const struct quality_params *p, const char *s, size_t n)
{
	int has = 0;
	for (size_t i = 0; i + 4 <= n; i++) {
		uint32_t four;
		memcpy(&four, s + i, 4);
		unsigned bit = QUALITY_PHRASE_BIT(four);
		if (!(p->c4_phrase[bit >> 6] >> (bit & 63) & 1))
			continue;
		if (!(has & HAS_LOREM) && n - i >= 11 && memcmp(s + i, "lorem ipsum", 11) == 0)
			has |= HAS_LOREM;
		if (!(has & HAS_JAVASCRIPT) && n - i >= 10 && memcmp(s + i, "javascript", 10) == 0)
			has |= HAS_JAVASCRIPT;
		for (size_t k = 0; k < p->c4.policy_substrings.n && !(has & HAS_POLICY); k++) {
			const char *ps = p->c4.policy_substrings.v[k];
			size_t len = strlen(ps);
			if (len >= 4 && n - i >= len && memcmp(s + i, ps, len) == 0)
				has |= HAS_POLICY;
		}
	}
	/* Phrases of fewer than four bytes: the bitmap cannot hold them. */
	for (size_t k = 0; k < p->c4.policy_substrings.n && !(has & HAS_POLICY); k++) {
		const char *ps = p->c4.policy_substrings.v[k];
		if (strlen(ps) < 4 && memmem(s, n, ps, strlen(ps)))
			has |= HAS_POLICY;
	}
	return has;
}

static int ends_punct(const struct quality_params *p, const char *s, size_t n)
{
	if (ends_with(s, n, "..."))
		return 0;
	for (size_t i = 0; i < p->c4.end_punctuation.n; i++)
		if (ends_with(s, n, p->c4.end_punctuation.v[i]))
			return 1;
	return 0;
}

/* One line (stripped): 1 keep it, 0 drop it, or a reason to drop the
 * whole document. */
static const char *c4_line(const struct quality_params *p, struct qdoc *q,
			   const char *s, size_t n, struct buf *line,
			   size_t *nsent, size_t *cursor, size_t *nwords_kept, int *keep)
{
	*keep = 0;
	/* The line's words are the text's words between its ends: lines end
	 * in whitespace, and no word holds any. */
	size_t off = (size_t)(s - q->text), i, j;
	line_words(q, off, n, cursor, &i, &j);
	const struct word *lw = qdoc_words(q)->v + i;
	int too_long;
	size_t nwords = split_count(lw, j - i, p->c4.max_word_length, &too_long);
	if (too_long)
		return NULL;
	if (p->c4.remove_citations) {
		remove_citations(p, q, s, n, line);
	} else {
		buf_clear(line);
		buf_append(line, s, n);
	}
	/* Citations only ever remove: the same length is the same line. */
	int same = line->len == n;
	s = line->p ? line->p : "";
	n = line->len;
	if (p->c4.filter_no_terminal_punct && !ends_punct(p, s, n))
		return NULL;
	if (p->c4.min_words_per_line >= 0 && nwords < (size_t)p->c4.min_words_per_line)
		return NULL;
	buf_clear(&q->lower);
	py_lower(&q->lower, s, n);
	int has = phrases(p, q->lower.p ? q->lower.p : "", q->lower.len);
	int doc_rules = !p->c4.keep_lines;
	if (doc_rules && p->c4.filter_lorem_ipsum && has & HAS_LOREM)
		return "lorem_ipsum";
	if (p->c4.filter_javascript && has & HAS_JAVASCRIPT)
		return NULL;
	if (doc_rules && p->c4.filter_curly_bracket && memchr(s, '{', n))
		return "curly_bracket";
	if (p->c4.filter_policy && has & HAS_POLICY)
		return NULL;
	/* Citations cut out: the words must be found again. */
	if (same) {
		if (p->c4.min_num_sentences != -1 && doc_rules)
			*nsent += count_sentences(q->text, off, lw, j - i);
		if (*nwords_kept != (size_t)-1)
			*nwords_kept += j - i;
	} else {
		if (p->c4.min_num_sentences != -1 && doc_rules)
			*nsent += sentences(q, s, n);
		*nwords_kept = (size_t)-1;	/* not known */
	}
	*keep = 1;
	return NULL;
}

const char *quality_c4(const struct quality_params *p, struct qdoc *q)
{
	struct buf *line = &q->line;
	buf_clear(&q->out);
	size_t nsent = 0, kept = 0;
	const char *why = NULL;
	size_t cursor = 0, nlines;
	const struct qslice *lines = qdoc_lines(q, &nlines);
	q->out_words = 0;
	for (size_t k = 0; k < nlines && !why; k++) {
		const char *s = lines[k].p;
		size_t len = lines[k].n;
		py_strip(&s, &len);
		int keep;
		why = c4_line(p, q, s, len, line, &nsent, &cursor, &q->out_words, &keep);
		if (keep) {
			if (kept++)
				buf_putc(&q->out, '\n');
			buf_append(&q->out, line->p ? line->p : "", line->len);
		}
	}
	if (why)
		return why;
	if (!p->c4.keep_lines && (long)nsent < p->c4.min_num_sentences)
		return "too_few_sentences";
	/* "\n".join(kept_lines).strip() */
	const char *o = q->out.p ? q->out.p : "";
	size_t on = q->out.len;
	py_strip(&o, &on);
	if (o != q->out.p || on != q->out.len) {
		memmove(q->out.p, o, on);
		q->out.len = on;
		if (q->out.p)
			q->out.p[on] = '\0';
	}
	return NULL;
}
