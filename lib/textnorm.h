/*
 * textnorm.h - simplify text before comparing it (datatrove's simplify_text).
 *
 * Two texts that differ only in case, accents, punctuation, spacing or the
 * digits of numbers normalise to the same string, so hashing the result
 * finds duplicates that byte comparison misses.  textnorm() applies, per
 * code point and in one pass:
 *
 *   TEXTNORM_LOWER      lower case (Unicode simple lowercase mapping);
 *   TEXTNORM_ACCENTS    canonical decomposition (NFD), then every nonspacing
 *                       mark (category Mn) removed: "é" -> "e";
 *   TEXTNORM_DIGITS     each run of decimal digits (Nd) -> a single "0":
 *                       "2024-03" -> "0 0", "mp3" -> "mp0";
 *   TEXTNORM_PUNCT      punctuation and symbols (P*, S*) and control
 *                       characters (Cc) become word separators; other format
 *                       characters (Cf: soft hyphen, ZWJ...) are removed,
 *                       except U+200B ZERO WIDTH SPACE, which separates;
 *   TEXTNORM_SPACE      every run of separators (Unicode White_Space, Z*,
 *                       and the above) -> one ' ', none at either end.
 *
 * One deliberate difference from datatrove: datatrove deletes punctuation
 * ("don't" -> "dont", "end.Next" -> "endnext"); here it separates words
 * ("don t", "end next"), so words glued by punctuation are not merged into
 * one.  Either way both copies of a text normalise alike.
 *
 * The input must be valid UTF-8 (document text always is); an invalid byte
 * is treated as a separator.  The output is valid UTF-8.  With
 * TEXTNORM_SPACE, words in the output are separated by exactly one ' '.
 * Pure function of its input: safe from any number of threads.
 */
#ifndef LLM_TEXTNORM_H
#define LLM_TEXTNORM_H

#include <stddef.h>

struct buf;

enum {
	TEXTNORM_LOWER = 1 << 0,
	TEXTNORM_ACCENTS = 1 << 1,
	TEXTNORM_DIGITS = 1 << 2,
	TEXTNORM_PUNCT = 1 << 3,
	TEXTNORM_SPACE = 1 << 4,
	TEXTNORM_ALL = 0x1f,	/* simplify_text: what llm-dedup uses */
};

/* Append the normalised form of s[0..n) to out (out is not cleared).
 * Returns the number of bytes appended. */
size_t textnorm(struct buf *out, const char *s, size_t n, unsigned flags);

#endif
