/*
 * pii.h - find personal and secret information in UTF-8 text.
 *
 * A struct pii holds the compiled patterns: the built-in types below and
 * any rules of the user's own.  Each built-in pattern is a PCRE2 pattern,
 * JIT-compiled and anchored, tried only where a cheap scan of the text
 * says it could start (an '@' for e-mail addresses, a run of digits with
 * at least seven digits for numbers, a word of twenty or more letters and
 * digits for keys and wallet addresses, ...), and every match is then
 * confirmed by a validator from pii_check.h.  Most text holds none of
 * these triggers, so most text costs one pass of byte comparisons.
 *
 * Overlapping findings are resolved the same way every time: the longest
 * span wins; between spans of equal length the type that comes first in
 * the type order wins (built-in types in enum order, then rule types in
 * the order they were added); then the leftmost.  What pii_find() returns
 * never overlaps and is sorted by start.
 *
 * Threads: after set-up (pii_new, pii_add_rule, pii_enable,
 * pii_keep_private) a struct pii is read-only and may be shared; each
 * thread brings its own struct pii_scratch (PCRE2 match data, JIT stack,
 * span buffers).
 */
#ifndef LLM_PII_H
#define LLM_PII_H

#include <stddef.h>

struct llm_err;

/* The built-in types, in tie-break order: the most specific first. */
enum pii_builtin {
	PII_SECRET,		/* keys, tokens, private keys, password=... */
	PII_URL_CREDENTIALS,	/* user:password in scheme://user:password@ */
	PII_CRYPTO,		/* Bitcoin (base58check, bech32), Ethereum */
	PII_IBAN,
	PII_CREDIT_CARD,
	PII_US_SSN,
	PII_EMAIL,
	PII_IP_ADDRESS,		/* IPv4 and IPv6 */
	PII_MAC_ADDRESS,
	PII_PHONE,
	PII_NBUILTIN
};

/* One finding: a type and a byte range [start, end) of the text. */
struct pii_span {
	int type;
	size_t start, end;
};

struct pii;
struct pii_scratch;

/* Compile the built-in patterns, all types enabled.  NULL on error (only
 * if PCRE2 itself fails). */
struct pii *pii_new(struct llm_err *e);
void pii_free(struct pii *p);

/*
 * Add a rule: every match of the PCRE2 pattern (UTF mode) is a finding of
 * type `name`.  A name that is already a type (built-in or an earlier
 * rule) adds a pattern to that type; otherwise a new type is made, placed
 * after the existing ones.  Names are letters, digits and '_'.  On a bad
 * name or pattern, -1 with e->msg "rule NAME: ... at offset N".
 */
int pii_add_rule(struct pii *p, const char *name, const char *pattern,
		 struct llm_err *e);
/*
 * Read rules from a file: one "NAME<TAB>PATTERN" per line; blank lines
 * and lines starting with '#' are ignored.  Errors name the file and the
 * line ("rules.tsv:3: rule KEY: PCRE2 error at offset 5: ...").
 */
int pii_load_rules(struct pii *p, const char *path, struct llm_err *e);

/* Types are numbered 0..pii_ntypes()-1; built-ins first, as in the enum. */
int pii_ntypes(const struct pii *p);
const char *pii_type_name(const struct pii *p, int type);
/* The type with this name, or -1. */
int pii_type_find(const struct pii *p, const char *name);
/* Turn one type's search on or off (all are on after pii_new). */
void pii_enable(struct pii *p, int type, int on);
int pii_enabled(const struct pii *p, int type);
/* With on, IP addresses in private and reserved ranges are not findings. */
void pii_keep_private(struct pii *p, int on);

struct pii_scratch *pii_scratch_new(const struct pii *p);
void pii_scratch_free(struct pii_scratch *s);

/*
 * Find every enabled type in text[0..n), which must be valid UTF-8 (it is
 * not checked again).  *spans is set to the findings, valid until the
 * next call with the same scratch.  Returns their number, or -1 when a
 * pattern could not finish (PCRE2's match or depth limit, which only a
 * user rule should reach), with e->msg naming the rule.
 */
long pii_find(const struct pii *p, struct pii_scratch *s, const char *text,
	      size_t n, const struct pii_span **spans, struct llm_err *e);

#endif
