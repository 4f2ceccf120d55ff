/*
 * porter.h - the Porter stemmer exactly as NLTK's PorterStemmer applies it
 * in its default NLTK_EXTENSIONS mode, which is what rouge-score uses for
 * --stem (rouge_score/tokenizers.py).
 *
 * That mode is Porter's 1980 algorithm with Martin Porter's later changes
 * and NLTK's own: a table of irregular forms ("dying" -> "die", "skies" ->
 * "sky", "news" -> "news", ...), "ies"/"ied" -> "ie" in four-letter words,
 * step 1c turning y into i only after a consonant that is not the first
 * letter, "alli" handled before the other step-2 rules, "fulli" -> "ful",
 * "logi" -> "log" measured with the "l", and a two-letter vowel-consonant
 * word counting as cvc.  Where a rule's suffix matches but its condition
 * fails, no later rule of that step is tried, as in NLTK.
 *
 * Words are lowercase ASCII (rouge-score only stems [a-z0-9]+ tokens);
 * upper-case ASCII letters are lowered first, other bytes count as
 * consonants.  Stemming never lengthens a word, so it is done in place.
 */
#ifndef LLM_PORTER_H
#define LLM_PORTER_H

#include <stddef.h>

/* Stem w[0..n) in place; returns the new length (<= n).  Words of one or
 * two letters are returned unchanged, as NLTK does. */
size_t porter_stem(char *w, size_t n);

#endif
