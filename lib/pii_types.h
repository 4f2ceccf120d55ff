/*
 * pii_types.h - the built-in detectors behind pii.h (internal to libllm).
 *
 * A detector is one PCRE2 pattern for one type, the place in the text
 * where pii.c tries it (its trigger), and the check that confirms a
 * match.  pii.c owns the scanning and the matching; this table owns what
 * each type is, so that the two can be read apart.
 */
#ifndef LLM_PII_TYPES_H
#define LLM_PII_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "pii.h"

/*
 * Where a detector's pattern is tried.  The scan of the text (see
 * pii_find) finds these places with plain byte comparisons; the pattern
 * is compiled anchored and runs only there.
 */
enum pii_trigger {
	PII_TR_EMAIL,	/* start of the local part before an '@' */
	PII_TR_URL,		/* start of the scheme before "://...@" */
	PII_TR_NUM,		/* each digit group of a numeric cluster */
	PII_TR_PHONE,	/* the same, backed up over a '+' or '(' */
	PII_TR_IBAN,	/* two letters before a digit run */
	PII_TR_COLON,	/* start of a run of hex digits and ':' */
	PII_TR_MAC,		/* aa-bb-... or aaaa.bbbb.cccc */
	PII_TR_TOKEN,	/* start of a word of 20+ [A-Za-z0-9_-] */
	PII_TR_JWT,		/* "eyJ" starting a word */
	PII_TR_ASSIGN,	/* key name before ':' or '=' */
	PII_TR_PEM,		/* "-----BEGIN " */
	PII_TR_WEBHOOK,	/* "hooks.slack.com/" */
	PII_TR_N
};

/*
 * For the number triggers: what must hold at a digit group for the
 * detector to be worth trying there (0: always).  pii.c tests these with
 * a few byte comparisons, so that long tables of numbers do not cost a
 * PCRE2 call per group and detector.
 */
enum pii_at {
	PII_AT_CARD = 1,	/* 4 or 12..19 digits, not after '-', '/', a word, "9." */
	PII_AT_SSN = 2,		/* 3 or 9 digits, not after '-', a word, "9." */
	PII_AT_IPV4 = 4,	/* 1..3 digits then '.', not after "9." */
	PII_AT_INTL = 8,	/* '+' or "00" */
	PII_AT_NANP = 16,	/* 3 digits, or "1" */
	PII_AT_TRUNK = 32,	/* '0' or "(0" */
	PII_AT_AREA = 64,	/* '(' */
	PII_AT_PLAIN = 128,	/* near enough to the cluster's ends for a context word */
};

struct pii_detector;

/*
 * Confirm a match t[start..end) of detector d: return its end (the same,
 * or shorter when the check trims it), or 0 to reject it.  The whole text
 * t[0..n) is there for checks that look at the words around a match.
 */
typedef size_t (*pii_check_fn)(const struct pii_detector *d, int keep_private,
			       const char *t, size_t n, size_t start, size_t end);

struct pii_detector {
	int type;		/* enum pii_builtin */
	enum pii_trigger trig;
	int arg;		/* for the check function */
	uint32_t flags;		/* PCRE2 compile options besides UTF, ANCHORED */
	const char *re;
	pii_check_fn check;	/* NULL: the pattern is enough */
	unsigned at;		/* enum pii_at bits, for number triggers */
};

extern const struct pii_detector pii_detectors[];
extern const size_t pii_ndetectors;
extern const char *const pii_builtin_names[PII_NBUILTIN];

#endif
