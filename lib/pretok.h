/*
 * pretok.h - pre-tokenization: cut text into the pieces that BPE merges
 * within, with a regular expression, exactly as tiktoken does.
 *
 * A pattern is a name or a regex:
 *
 *   gpt2    GPT-2's pattern (tiktoken's r50k_base/p50k_base spelling)
 *   cl100k  cl100k_base's (GPT-3.5/GPT-4)
 *   o200k   o200k_base's (GPT-4o)
 *   other   a PCRE2 regex, compiled with UTF and UCP
 *
 * The regex runs through PCRE2's JIT.  Three things make PCRE2 agree with
 * tiktoken's Rust regex engine on every code point:
 *
 *   - \s and \S are spelled out as Unicode's White_Space list; PCRE2's \s
 *     under UCP also matches U+180E, which Rust's does not;
 *   - \p{L}, \p{N}, \p{Lu}, \p{Ll}, \p{Lm}, \p{Lo} and \p{M} are widened
 *     with the code points that Unicode 15.0 to 16.0 added to them: PCRE2
 *     10.42 knows Unicode 14, tiktoken's regex-syntax 0.8.11 Unicode 16
 *     (tests/data/bpe/unicode_classes.json holds tiktoken's view of every
 *     class; test_pretok checks all of 0..0x10FFFF against it);
 *   - $ matches only at the very end (PCRE2_DOLLAR_ENDONLY), as in Rust.
 *
 * Text is checked for UTF-8 once; matching then skips PCRE2's own check.
 * Text that is not valid UTF-8 still splits, and every byte ends up in
 * exactly one piece: each maximal ill-formed subsequence (the unit that
 * U+FFFD replaces, 1 to 3 bytes) is seen by the pattern as one symbol
 * character, neither letter, number nor space -- like the U+FFFD that
 * tiktoken would see after a lossy decode -- while the piece keeps the
 * original bytes.  Text the pattern does not match (possible only with a
 * custom regex) becomes a piece of its own, as in Hugging Face's Split;
 * tiktoken would drop it, which would break decode(encode(x)) == x.  So
 * does a character where PCRE2 gives up matching (its match limit; only a
 * custom regex that backtracks without end reaches it).
 *
 * A struct pretok is read-only once made and may be shared by threads; each
 * thread scans with its own struct pretok_iter.
 */
#ifndef LLM_PRETOK_H
#define LLM_PRETOK_H

#include <stddef.h>
#include <stdint.h>

struct llm_err;
struct pretok;
struct pretok_iter;

/* tiktoken's regex for a pattern name, or NULL if name is not one. */
const char *pretok_builtin(const char *name);

/* Compile a pattern (a name above or a regex).  NULL with e set when the
 * regex does not compile. */
struct pretok *pretok_new(const char *pattern, struct llm_err *e);
void pretok_free(struct pretok *p);
/* The pattern as given: "gpt2", "cl100k", "o200k" or the regex. */
const char *pretok_pattern(const struct pretok *p);
/* The regex in tiktoken's own spelling (for exported files). */
const char *pretok_regex(const struct pretok *p);

/*
 * Where raw text may be cut into independent chunks: the largest k in
 * (0, n) such that the pieces of text[0..k) followed by those of
 * text[k..n) are the pieces of text[0..n), or 0 when no such place is
 * known.  For the built-in patterns that is after a newline between an
 * ASCII graphic character and an ASCII letter or digit; a custom regex is
 * never cut (0).
 */
size_t pretok_cut(const struct pretok *p, const char *text, size_t n);

/* A scanner, one per thread. */
struct pretok_iter *pretok_iter_new(const struct pretok *p);
void pretok_iter_free(struct pretok_iter *it);
/* Start scanning text[0..n); text must stay alive while scanning. */
void pretok_iter_start(struct pretok_iter *it, const char *text, size_t n);
/* The next piece, as an offset and length into the text.  Returns 1, or 0
 * when the text is used up.  Pieces are never empty and cover the text
 * in order. */
int pretok_iter_next(struct pretok_iter *it, size_t *off, size_t *len);

/* Turn the ASCII fast path of a built-in pattern off (1) or back on (0),
 * so that PCRE2 alone splits; for tests. */
void pretok_no_fast_path(struct pretok *p, int off);

/* Rewrite a regex as pretok_new() compiles it (classes widened, \s spelled
 * out); for tests.  The result is malloc'ed. */
char *pretok_rewrite(const char *regex);

#endif
