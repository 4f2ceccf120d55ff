/*
 * quality.h - heuristic document quality rules: Gopher, C4, FineWeb.
 *
 * The rule sets that built MassiveText (Gopher), C4 and FineWeb, exactly as
 * datatrove implements them (GopherQualityFilter, GopherRepetitionFilter,
 * C4QualityFilter, FineWebQualityFilter, C4BadWordsFilter), with datatrove's
 * default constants, plus plain length bounds:
 *
 *   length             characters (code points) and words, min and max
 *   gopher-quality     word count, mean word length, "#" and ellipsis per
 *                      word, bullet and ellipsis lines, words with a letter,
 *                      stop words
 *   gopher-repetition  duplicate paragraphs and lines (count, characters),
 *                      most frequent 2..4-gram, duplicate 5..10-grams
 *   c4                 drops lines (no terminal punctuation, few words,
 *                      javascript, policy text, over-long words), removes
 *                      citation markers, then drops the document for lorem
 *                      ipsum, a curly bracket or too few sentences
 *   fineweb            terminal-punctuation lines, short lines, duplicated
 *                      line characters, newlines per word
 *   badwords           the LDNOOBW list of the document's language
 *
 * "Words" are words_split()'s (spaCy's English tokenizer), "characters"
 * code points, "lines" and "whitespace" what Python's str methods mean by
 * them, because datatrove's thresholds are defined on those.
 *
 * A struct quality_params holds every threshold; it is filled with the
 * defaults, then changed by name (quality_set(), "--set rule.key=value")
 * or from a JSON rules file (quality_load(), which also reads datatrove's
 * constants file as ../shared/data/lists/quality_filter_constants.json
 * writes it).  After quality_prepare() it is read-only and shared by all
 * threads; each thread has its own struct qdoc scratch space.
 *
 * A rule returns NULL to keep the document, or the reason it fails, a
 * static string named as datatrove names it ("gopher_short_doc",
 * "top_2_gram", "too_few_sentences", ...).
 */
#ifndef LLM_QUALITY_H
#define LLM_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "words.h"

struct llm_err;
struct badwords;
struct qset;
struct qslice;
struct clf_model;
struct clf_feats;

enum qrule {
	Q_LENGTH,
	Q_GOPHER_QUALITY,
	Q_GOPHER_REPETITION,
	Q_C4,
	Q_FINEWEB,
	Q_BADWORDS,
	Q_NRULES
};

/* "gopher-quality" etc.; quality_rule_parse() returns -1 for an unknown
 * name. */
const char *quality_rule_name(int rule);
int quality_rule_parse(const char *name);

/* A list of strings (stop words, policy phrases, end punctuation). */
struct qlist {
	char **v;
	size_t n;
};

/* (n, fraction) pairs of the n-gram rules. */
struct qngrams {
	int n[16];
	double frac[16];
	size_t len;
};

/*
 * Every threshold.  As in datatrove, a gopher threshold of 0 is switched
 * off, and so is a c4 count of -1.
 */
struct quality_params {
	struct {
		long min_chars, max_chars, min_words, max_words;	/* 0: none */
	} length;
	struct {
		long min_doc_words, max_doc_words;
		double min_avg_word_length, max_avg_word_length;
		double max_symbol_word_ratio;
		double max_bullet_lines_ratio, max_ellipsis_lines_ratio;
		double max_non_alpha_words_ratio;	/* really a minimum */
		long min_stop_words;
		struct qlist stop_words;
	} gq;
	struct {
		double dup_line_frac, dup_para_frac;
		double dup_line_char_frac, dup_para_char_frac;
		struct qngrams top_n_grams, dup_n_grams;
	} gr;
	struct {
		int remove_citations, filter_no_terminal_punct;
		long min_num_sentences, min_words_per_line, max_word_length;
		int filter_lorem_ipsum, filter_javascript, filter_curly_bracket;
		int filter_policy;
		struct qlist policy_substrings, end_punctuation;
		char *citation_regex;
		int keep_lines;		/* only clean lines, never drop */
	} c4;
	struct {
		double line_punct_thr;
		int line_punct_exclude_zero;
		double short_line_thr;
		long short_line_length;
		double char_duplicates_ratio, new_line_ratio;
		struct qlist stop_chars;	/* empty: TERMINAL_PUNCTUATION */
	} fw;

	/* Set by quality_prepare(). */
	void *citation_re;	/* pcre2_code */
	int citation_default;	/* the regex is C4's own: look for '[' first */
	size_t stop_maxlen;
	uint64_t stop_first[256];	/* lengths (bits) of stop words by first byte */
	size_t *stop_len;		/* strlen of each stop word */
	uint64_t c4_phrase[1024];	/* first four bytes of C4's phrases */
};

/* The bit of quality_params.c4_phrase for the first four bytes of a
 * phrase (as a little-endian uint32). */
#define QUALITY_PHRASE_BIT(four) ((unsigned)(((four) * 0x9e3779b1u) >> 16))

/* datatrove's defaults. */
void quality_defaults(struct quality_params *p);
/* Set one value: name "gopher-quality.min_doc_words" (rule names as above,
 * keys as in datatrove's constructors), value as text: a number, true /
 * false, "off", or for lists comma-separated items ("2:0.2,3:0.18" for the
 * n-gram lists). */
int quality_set(struct quality_params *p, const char *name, const char *value,
		struct llm_err *e);
/* Read a JSON rules file: {"gopher-quality": {"min_doc_words": 30}, ...};
 * datatrove's section names (gopher_quality_defaults, ...) and upper-case
 * list names (STOP_WORDS, POLICY_SUBSTRINGS, ...) are accepted too. */
int quality_load(struct quality_params *p, const char *path, struct llm_err *e);
/* Check and compile (the citation regex); then p is read-only. */
int quality_prepare(struct quality_params *p, struct llm_err *e);
void quality_params_free(struct quality_params *p);

/* Per-thread scratch: the text being judged and what has been worked out
 * about it so far.  Zero it once; qdoc_free() at the end. */
struct qdoc {
	const char *text;
	size_t n;		/* bytes */
	size_t ncp;		/* code points */
	struct words w;
	int have_words;

	/* scratch for the rules */
	struct qset *set;
	struct qslice *sl;	/* scratch: lines or paragraphs */
	size_t slcap;
	struct qslice *pl;	/* str.splitlines() of the text */
	size_t npl, plcap;
	int have_pl;
	uint64_t *hw;		/* hash of each word, then of the top n-gram at i */
	size_t thn;		/* that n-gram's n; 0: words' hashes */
	uint32_t *wid;		/* id of each word: where it first occurs */
	size_t *cstart;		/* code points of the words before each word */
	size_t *cbyte;		/* bytes of the words before each word */
	uint32_t *cnt;		/* occurrences of the n-gram first seen at i */
	uint8_t *cand_cat;	/* the n-grams (run together) from i may repeat */
	uint8_t *run;		/* scratch: word first seen at i occurs again */
	uint32_t *run2;		/* words from i on, in a row, that occur again */
	size_t nrun[12];	/* positions with run2 >= k (k < 11; [11]: >= 11) */
	void *pk;		/* table of word-position prefixes */
	size_t pkcap;
	size_t hcap;
	char *cat;		/* the words run together */
	size_t catcap;
	struct buf lower, out;
	size_t out_words;	/* words of q->out, or (size_t)-1: not known */
	size_t nwords;		/* words of the text when known without them,
				 * else (size_t)-1 */
	struct buf clean;	/* the text after C4 cleaned it */
	struct buf line;	/* scratch: one line */
	void *match;		/* pcre2_match_data */
	struct words lw;	/* words of one line */
	uint32_t *stopseen;
	uint32_t stopgen;
};

/* Start judging text[0..n) (valid UTF-8). */
void qdoc_reset(struct qdoc *q, const char *text, size_t n);
/* The words of the text (computed once). */
const struct words *qdoc_words(struct qdoc *q);
/* How many words the text has (counted once). */
size_t qdoc_nwords(struct qdoc *q);
void qdoc_free(struct qdoc *q);

const char *quality_length(const struct quality_params *p, struct qdoc *q);
const char *quality_gopher(const struct quality_params *p, struct qdoc *q);
const char *quality_repetition(const struct quality_params *p, struct qdoc *q);
/* C4 also cleans: the surviving lines, joined by "\n", are left in
 * q->out (a document kept by it should take them as its text), and how
 * many words they hold in q->out_words when that is known. */
const char *quality_c4(const struct quality_params *p, struct qdoc *q);
const char *quality_fineweb(const struct quality_params *p, struct qdoc *q);

/*
 * Bad words.  badwords_load() reads every LDNOOBW list in dir (files named
 * by language code, one entry per line); for English it prefers
 * "en.c4-25e679f", the version C4 and datatrove pin, when present.  An
 * entry matches, in the lower-cased text (Python's str.lower()), where
 * neither side touches a word character (regex \w), except in Japanese,
 * Thai and Chinese, written without spaces, where it matches anywhere.  As
 * datatrove, "sm", "グロ", "女の子" and "性" are taken out of every list.
 */
struct badwords *badwords_load(const char *dir, struct llm_err *e);
void badwords_free(struct badwords *b);
/* Is there a list for this language? */
int badwords_has(const struct badwords *b, const char *lang, size_t n);
/* "document_removed_with_badwords", or NULL.  A language without a list
 * keeps the document. */
const char *quality_badwords(const struct badwords *b, const char *lang,
			     size_t langlen, struct qdoc *q);

/*
 * A stack: the rule sets to apply, in order, and what they need.  The
 * classifier (rule Q_CLASSIFIER) keeps a document whose score is at least
 * min_score and, with pareto_alpha > 0, samples as GPT-3 did: keep when
 * a Pareto(alpha) draw (numpy.random.pareto: Lomax, scale 1) exceeds
 * 1 - score.  The draw comes from SplitMix64 seeded with seed XOR the xxh3
 * of the document id, so it does not depend on thread count or order.
 */
#define Q_CLASSIFIER Q_NRULES

struct qstack {
	const struct quality_params *p;
	int rules[Q_NRULES + 1];
	int nrules;
	const struct badwords *bw;
	const char *language;		/* when a document names none */
	const struct clf_model *clf;
	double min_score;
	double pareto_alpha;		/* 0: no sampling */
	uint64_t seed;
};

struct qverdict {
	int rule;		/* the first rule that failed, or -1 */
	const char *reason;	/* its reason, or NULL: keep */
	double score;		/* classifier score, when scored */
	int scored;
	int text_changed;	/* C4 cleaned the text: now q->text, q->n */
};

/* "classifier" for Q_CLASSIFIER, else quality_rule_name(). */
const char *qstack_rule_name(int rule);

/*
 * Judge text[0..n) by each rule in order, stopping at the first that
 * fails.  lang is metadata.language (NULL: s->language); id seeds the
 * sampling.  With score_all, the classifier scores the document even when
 * an earlier rule failed (for --annotate).  q and f are the thread's
 * scratch.
 */
void qstack_judge(const struct qstack *s, struct qdoc *q, struct clf_feats *f,
		  const char *text, size_t n, const char *lang, size_t langlen,
		  const char *id, size_t idlen, int score_all, struct qverdict *v);

#endif
