/* pii.c - triggers, matching and overlap resolution; see pii.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pii.h"
#include "buf.h"
#include "err.h"
#include "pii_check.h"
#include "pii_types.h"

#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Byte classes for the trigger scans. */
enum {
	C_DIGIT = 1,
	C_HEX = 2,
	C_TOKEN = 4,		/* [A-Za-z0-9_-] */
	C_NUMSEP = 8,		/* separators inside numbers: " .-/()+" */
	C_PUNCT = 16,		/* ':' '=' '-' '.': the hex and assign scans */
	C_ATEXT = 32,		/* RFC 5322 atext, the e-mail local part */
	C_ALPHA = 64,
};

struct pat {
	pcre2_code *code;
	int jit;		/* JIT compiled */
};

struct rule {
	int type;
	struct pat pat;
};

struct pii {
	struct pat *det;	/* one per detector */
	unsigned char cls[256];
	int keep_private;
	char **names;		/* per type; built-in names are not owned */
	unsigned char *on;	/* per type */
	int ntypes;
	struct rule *rules;
	int nrules;
};

struct pii_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	struct pii_span *cand, *out;
	size_t ncand, capcand, nout, capout;
	size_t *next;		/* per detector: no new start before this */
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ---- set-up ----------------------------------------------------------- */

static int compile(struct pat *pt, const char *re, uint32_t flags,
		   struct llm_err *e, const char *what)
{
	int code;
	PCRE2_SIZE off;
	pt->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | flags, &code, &off, NULL);
	if (!pt->code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		return llm_err_set(e, "%s: PCRE2 error at offset %zu: %s", what,
				   (size_t)off, (char *)msg);
	}
	/* Without JIT (an architecture PCRE2 has no JIT for) the
	 * interpreter still gives the same answers, more slowly. */
	pt->jit = pcre2_jit_compile(pt->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

static void init_classes(unsigned char *cls)
{
	memset(cls, 0, 256);
	for (int c = 0; c < 256; c++) {
		int alpha = is_alpha(c), digit = is_digit(c);
		if (digit)
			cls[c] |= C_DIGIT;
		if (alpha)
			cls[c] |= C_ALPHA;
		if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			cls[c] |= C_HEX;
		if (alpha || digit || c == '_' || c == '-')
			cls[c] |= C_TOKEN;
		if (alpha || digit || (c && strchr("!#$%&'*+/=?^_`{|}~-", c)))
			cls[c] |= C_ATEXT;
	}
	for (const char *s = " .-/()+"; *s; s++)
		cls[(unsigned char)*s] |= C_NUMSEP;
	for (const char *s = ":=-."; *s; s++)
		cls[(unsigned char)*s] |= C_PUNCT;
}

struct pii *pii_new(struct llm_err *e)
{
	struct pii *p = xcalloc(1, sizeof *p);
	p->det = xcalloc(pii_ndetectors, sizeof *p->det);
	init_classes(p->cls);
	p->ntypes = PII_NBUILTIN;
	p->names = xcalloc(PII_NBUILTIN, sizeof *p->names);
	p->on = xcalloc(PII_NBUILTIN, 1);
	for (int i = 0; i < PII_NBUILTIN; i++) {
		p->names[i] = (char *)pii_builtin_names[i];
		p->on[i] = 1;
	}
	for (size_t i = 0; i < pii_ndetectors; i++) {
		char what[64];
		snprintf(what, sizeof what, "built-in pattern %zu (%s)", i,
			 pii_builtin_names[pii_detectors[i].type]);
		if (compile(&p->det[i], pii_detectors[i].re,
			    PCRE2_ANCHORED | pii_detectors[i].flags, e, what) < 0) {
			pii_free(p);
			return NULL;
		}
	}
	return p;
}

void pii_free(struct pii *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < pii_ndetectors; i++)
		pcre2_code_free(p->det[i].code);
	for (int i = 0; i < p->nrules; i++)
		pcre2_code_free(p->rules[i].pat.code);
	for (int i = PII_NBUILTIN; i < p->ntypes; i++)
		free(p->names[i]);
	free(p->det);
	free(p->names);
	free(p->on);
	free(p->rules);
	free(p);
}

int pii_ntypes(const struct pii *p)
{
	return p->ntypes;
}

const char *pii_type_name(const struct pii *p, int type)
{
	return type >= 0 && type < p->ntypes ? p->names[type] : NULL;
}

int pii_type_find(const struct pii *p, const char *name)
{
	for (int i = 0; i < p->ntypes; i++)
		if (strcmp(p->names[i], name) == 0)
			return i;
	return -1;
}

void pii_enable(struct pii *p, int type, int on)
{
	if (type >= 0 && type < p->ntypes)
		p->on[type] = (unsigned char)(on != 0);
}

int pii_enabled(const struct pii *p, int type)
{
	return type >= 0 && type < p->ntypes && p->on[type];
}

void pii_keep_private(struct pii *p, int on)
{
	p->keep_private = on;
}

int pii_add_rule(struct pii *p, const char *name, const char *pattern,
		 struct llm_err *e)
{
	size_t len = strlen(name);
	if (len == 0 || len > 64 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return llm_err_set(e, "rule '%s': a name is 1 to 64 letters, digits "
				   "and '_'", name);
	if (!*pattern)
		return llm_err_set(e, "rule %s: empty pattern", name);
	char what[96];
	snprintf(what, sizeof what, "rule %s", name);
	struct rule r;
	if (compile(&r.pat, pattern, 0, e, what) < 0)
		return -1;
	r.type = pii_type_find(p, name);
	if (r.type < 0) {
		r.type = p->ntypes++;
		p->names = xrealloc(p->names, (size_t)p->ntypes * sizeof *p->names);
		p->on = xrealloc(p->on, (size_t)p->ntypes);
		p->names[r.type] = xstrdup(name);
		p->on[r.type] = 1;
	}
	p->rules = xrealloc(p->rules, (size_t)(p->nrules + 1) * sizeof *p->rules);
	p->rules[p->nrules++] = r;
	return 0;
}

int pii_load_rules(struct pii *p, const char *path, struct llm_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		const char *s = line + strspn(line, " \t");
		if (!*s || *s == '#')
			continue;
		if ((size_t)len != strlen(line)) {
			rc = llm_err_set(e, "%s:%ld: NUL byte in line", path, lineno);
			break;
		}
		char *tab = strchr(line, '\t');
		if (!tab) {
			rc = llm_err_set(e, "%s:%ld: expected NAME<TAB>PATTERN", path,
					 lineno);
			break;
		}
		*tab = 0;
		if (pii_add_rule(p, line, tab + 1, e) < 0) {
			llm_err_prefix(e, "%s:%ld", path, lineno);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = llm_err_set(e, "%s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

struct pii_scratch *pii_scratch_new(const struct pii *p)
{
	(void)p;
	struct pii_scratch *s = xcalloc(1, sizeof *s);
	/* The ovector only has to report the whole match; back references
	 * work whatever its size. */
	s->md = pcre2_match_data_create(16, NULL);
	s->mc = pcre2_match_context_create(NULL);
	s->js = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
	if (!s->md || !s->mc || !s->js) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	pcre2_jit_stack_assign(s->mc, NULL, s->js);
	s->next = xcalloc(pii_ndetectors, sizeof *s->next);
	return s;
}

void pii_scratch_free(struct pii_scratch *s)
{
	if (!s)
		return;
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mc);
	pcre2_jit_stack_free(s->js);
	free(s->cand);
	free(s->out);
	free(s->next);
	free(s);
}

/* ---- matching --------------------------------------------------------- */

static int match(const struct pat *pt, struct pii_scratch *s, const char *t,
		 size_t n, size_t at)
{
	if (pt->jit)
		return pcre2_jit_match(pt->code, (PCRE2_SPTR)t, n, at, 0, s->md,
				       s->mc);
	return pcre2_match(pt->code, (PCRE2_SPTR)t, n, at, PCRE2_NO_UTF_CHECK,
			   s->md, s->mc);
}

static void add_cand(struct pii_scratch *s, int type, size_t start, size_t end)
{
	if (s->ncand == s->capcand) {
		s->capcand = s->capcand ? 2 * s->capcand : 64;
		s->cand = xrealloc(s->cand, s->capcand * sizeof *s->cand);
	}
	s->cand[s->ncand++] = (struct pii_span){type, start, end};
}

static int match_error(int rc, const char *what, struct llm_err *e)
{
	PCRE2_UCHAR msg[256];
	pcre2_get_error_message(rc, msg, sizeof msg);
	return llm_err_set(e, "%s: %s", what, (char *)msg);
}

/*
 * Try detector d anchored at `at`.  On a confirmed match, record it (if
 * `record`), set *end and return 1; 0 when there is none; -1 on a PCRE2
 * failure.
 */
static int try_det(const struct pii *p, struct pii_scratch *s, size_t d,
		   const char *t, size_t n, size_t at, int record, size_t *end,
		   struct llm_err *e)
{
	const struct pii_detector *dt = &pii_detectors[d];
	int rc = match(&p->det[d], s, t, n, at);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return match_error(rc, pii_builtin_names[dt->type], e);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
	size_t st = ov[0], en = ov[1];
	if (en <= st)
		return 0;
	if (dt->check) {
		en = dt->check(dt, p->keep_private, t, n, st, en);
		if (en <= st)
			return 0;
	}
	if (record)
		add_cand(s, dt->type, st, en);
	*end = en;
	return 1;
}

/* Run every enabled detector of trigger `tr` at `at` whose pii_at
 * conditions are in `have`, each at most once over any stretch of text
 * (s->next). */
static int try_trigger_at(const struct pii *p, struct pii_scratch *s,
			  enum pii_trigger tr, unsigned have, const char *t,
			  size_t n, size_t at, struct llm_err *e)
{
	for (size_t d = 0; d < pii_ndetectors; d++) {
		const struct pii_detector *dt = &pii_detectors[d];
		if (dt->trig != tr || !p->on[dt->type] || at < s->next[d] ||
		    (dt->at && !(dt->at & have)))
			continue;
		size_t end;
		int rc = try_det(p, s, d, t, n, at, 1, &end, e);
		if (rc < 0)
			return -1;
		if (rc)
			s->next[d] = end;
	}
	return 0;
}

static int try_trigger(const struct pii *p, struct pii_scratch *s,
		       enum pii_trigger tr, const char *t, size_t n, size_t at,
		       struct llm_err *e)
{
	return try_trigger_at(p, s, tr, ~0u, t, n, at, e);
}

static int trigger_on(const struct pii *p, enum pii_trigger tr)
{
	for (size_t d = 0; d < pii_ndetectors; d++)
		if (pii_detectors[d].trig == tr && p->on[pii_detectors[d].type])
			return 1;
	return 0;
}

static size_t detector_of(enum pii_trigger tr)
{
	for (size_t d = 0; d < pii_ndetectors; d++)
		if (pii_detectors[d].trig == tr)
			return d;
	abort();
}

/* Unicode letters, digits and marks may stand in an e-mail local part
 * (RFC 6531). */
static int local_char(const char *t, size_t i, size_t *start)
{
	size_t j = i - 1;
	while (j > 0 && ((unsigned char)t[j] & 0xc0) == 0x80 && i - j < 4)
		j--;
	utf8proc_int32_t cp;
	if (utf8proc_iterate((const utf8proc_uint8_t *)t + j, (utf8proc_ssize_t)(i - j),
			     &cp) != (utf8proc_ssize_t)(i - j))
		return 0;
	utf8proc_category_t cat = utf8proc_category(cp);
	*start = j;
	return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;
}

/* Where the local part of an address ending at '@' t[a] starts; a when
 * there is none.  Dots may not lead, trail or double. */
static size_t local_start(const struct pii *p, const char *t, size_t a)
{
	size_t i = a;
	while (i > 0 && a - i < 256) {
		unsigned char c = (unsigned char)t[i - 1];
		size_t j;
		if (c < 0x80 && ((p->cls[c] & C_ATEXT) || c == '.'))
			i--;
		else if (c >= 0x80 && local_char(t, i, &j))
			i = j;
		else
			break;
	}
	if (i == a || t[a - 1] == '.')
		return a;
	for (size_t k = i; k + 1 < a; k++)
		if (t[k] == '.' && t[k + 1] == '.')
			i = k + 2;
	while (i < a && t[i] == '.')
		i++;
	return i;
}

/* The scheme's start when '@' t[a] ends the user information of a URL
 * ("scheme://user:pass@"), else a.  The scan back stops at `floor`, the
 * previous '@' (user information holds none), so that no byte is looked
 * at twice however many '@' there are. */
static size_t url_start(const char *t, size_t a, size_t floor)
{
	size_t i = a, lim = a > 512 ? a - 512 : 0;
	if (lim < floor)
		lim = floor;
	while (i > lim + 2) {
		unsigned char c = (unsigned char)t[i - 1];
		if (c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>')
			return a;
		if (c == '/' && t[i - 2] == '/' && t[i - 3] == ':') {
			size_t k = i - 3;
			while (k > 0 && (is_alpha(t[k - 1]) || is_digit(t[k - 1]) ||
					 t[k - 1] == '+' || t[k - 1] == '.' ||
					 t[k - 1] == '-'))
				k--;
			return k < i - 3 && is_alpha(t[k]) ? k : a;
		}
		i--;
	}
	return a;
}

static int scan_at(const struct pii *p, struct pii_scratch *s, const char *t,
		   size_t n, struct llm_err *e)
{
	int email = p->on[PII_EMAIL], url = p->on[PII_URL_CREDENTIALS];
	if (!email && !url)
		return 0;
	size_t d_url = detector_of(PII_TR_URL), d_email = detector_of(PII_TR_EMAIL);
	size_t from = 0, email_next = 0;
	const char *q;
	while (from < n && (q = memchr(t + from, '@', n - from))) {
		size_t a = (size_t)(q - t), end, floor = from;
		from = a + 1;
		if (a < email_next)
			continue;
		/* user:password@host is a credential, not an address, even
		 * when only e-mail addresses are asked for. */
		size_t us = url_start(t, a, floor);
		if (us < a) {
			int rc = try_det(p, s, d_url, t, n, us, url, &end, e);
			if (rc < 0)
				return -1;
			if (rc)
				continue;
		}
		size_t ls = email ? local_start(p, t, a) : a;
		if (ls == a)
			continue;
		int rc = try_det(p, s, d_email, t, n, ls, 1, &end, e);
		if (rc < 0)
			return -1;
		if (rc)
			email_next = end;
	}
	return 0;
}

/* Does the 64-bit word hold an ASCII digit?  For each byte b (high bit
 * clear), 0x7f + 0x3a - b carries into the high bit when b < ':' and
 * b + 0x7f - 0x2f does when b > '/'; bytes with the high bit set are left
 * out by ~w.  (The "hasbetween" trick of Bit Twiddling Hacks.) */
static int has_digit8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, low7 = ones * 0x7f;
	uint64_t x = w & low7;
	return (((ones * (0x7f + 0x3a) - x) & ~w & (x + ones * (0x7f - 0x2f))) &
		ones * 0x80) != 0;
}

/* Offset of the first ASCII digit at or after i, or n. */
static size_t next_digit(const struct pii *p, const unsigned char *u,
			 size_t i, size_t n)
{
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, u + i, 8);
		if (has_digit8(w))
			break;
		i += 8;
	}
	while (i < n && !(p->cls[u[i]] & C_DIGIT))
		i++;
	return i;
}

/*
 * The pii_at conditions that hold at the digit group starting at t[k] of
 * the cluster t[cs..ce); st is where a phone may start ('+' or '(' before
 * k); g and ng are the group's index and the cluster's group count.
 */
static unsigned group_conditions(const struct pii *p, const char *t, size_t cs,
				 size_t ce, size_t st, size_t k, int g, int ng)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t len = 0;
	while (k + len < ce && (p->cls[u[k + len]] & C_DIGIT))
		len++;
	int prev = k > 0 ? u[k - 1] : ' ';
	int word = (p->cls[prev] & (C_ALPHA | C_DIGIT)) || prev == '_';
	int after_num = k >= 2 && (prev == '.' || prev == ',') &&
			(p->cls[u[k - 2]] & C_DIGIT);
	unsigned have = 0;
	if ((len == 4 || (len >= 12 && len <= 19)) && !word && prev != '-' &&
	    prev != '/' && !after_num)
		have |= PII_AT_CARD;
	if ((len == 3 || len == 9) && !word && prev != '-' && !after_num)
		have |= PII_AT_SSN;
	if (len <= 3 && k + len < ce && u[k + len] == '.' && !after_num)
		have |= PII_AT_IPV4;
	if (memchr(t + st, '+', k - st) || (len >= 2 && u[k] == '0' && u[k + 1] == '0'))
		have |= PII_AT_INTL;
	if (len == 3 || (len == 1 && u[k] == '1'))
		have |= PII_AT_NANP;
	if (u[k] == '0' || (len == 1 && u[k] == '8'))
		have |= PII_AT_TRUNK;
	if (u[st] == '(')
		have |= PII_AT_AREA | PII_AT_NANP;
	/* A context word can only be within 24 bytes before the match
	 * (the cluster holds no letters), or right after its end, and a
	 * plain number spans at most six groups. */
	if (k - cs <= 24 || ng - g <= 6)
		have |= PII_AT_PLAIN;
	return have;
}

/*
 * Numbers: a cluster is a run of digits and the separators numbers are
 * written with (" .-/()+", at most three in a row).  Only clusters with
 * seven digits or more, or a dotted quad, can hold a phone, card, SSN or
 * IPv4 address; each digit group in them is a place to start.  Two letters
 * glued before a digit run are where an IBAN may start.
 */
static int scan_numbers(const struct pii *p, struct pii_scratch *s,
			const char *t, size_t n, struct llm_err *e)
{
	int num = trigger_on(p, PII_TR_NUM) || trigger_on(p, PII_TR_PHONE);
	int iban = trigger_on(p, PII_TR_IBAN);
	if (!num && !iban)
		return 0;
	const unsigned char *u = (const unsigned char *)t;
	size_t i = 0;
	while (i < n) {
		i = next_digit(p, u, i, n);
		if (i >= n)
			break;
		if (iban && i >= 2 && i + 1 < n && (p->cls[u[i - 1]] & C_ALPHA) &&
		    (p->cls[u[i - 2]] & C_ALPHA) && (p->cls[u[i + 1]] & C_DIGIT) &&
		    (i < 3 || !(p->cls[u[i - 3]] & (C_ALPHA | C_DIGIT))) &&
		    try_trigger(p, s, PII_TR_IBAN, t, n, i - 2, e) < 0)
			return -1;
		size_t j = i, last = i;
		int digits = 0, dots = 0, gap = 0, groups = 0;
		for (; j < n; j++) {
			unsigned char c = u[j];
			if (p->cls[c] & C_DIGIT) {
				groups += j == i || !(p->cls[u[j - 1]] & C_DIGIT);
				digits++;
				last = j + 1;
				gap = 0;
			} else if ((p->cls[c] & C_NUMSEP) && ++gap <= 3) {
				dots += c == '.';
			} else {
				break;
			}
		}
		if (num && (digits >= 7 || (digits >= 4 && dots >= 3))) {
			int g = 0;
			for (size_t k = i; k < last; k++) {
				if (!(p->cls[u[k]] & C_DIGIT) ||
				    (k > i && (p->cls[u[k - 1]] & C_DIGIT)))
					continue;
				size_t st = k;	/* "+1", "(212", "(+30", "+(371" */
				if (st > 0 && t[st - 1] == '+')
					st--;
				if (st > 0 && t[st - 1] == '(')
					st--;
				if (st < k && st > 0 && t[st - 1] == '+')
					st--;
				unsigned have = group_conditions(p, t, i, last, st, k,
								 g++, groups);
				if (try_trigger_at(p, s, PII_TR_NUM, have, t, n, k, e) < 0 ||
				    try_trigger_at(p, s, PII_TR_PHONE, have, t, n, st, e) < 0)
					return -1;
			}
		}
		i = j > i ? j : i + 1;
	}
	return 0;
}

/* The key name before ':' or '=' at t[i] ends in a word that names a
 * secret: where the name starts, or i when it does not. */
static size_t assign_start(const char *t, size_t i)
{
	static const char *const tails[] = {
		"pass", "passwd", "password", "passphrase", "pwd", "secret",
		"token", "key", "auth", "authorization", "credential",
		"credentials", NULL,
	};
	size_t e = i, quotes = 0;
	while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '"' ||
			 t[e - 1] == '\'') && quotes++ < 3)
		e--;
	size_t b = e;
	while (b > 0 && e - b < 64 && (is_alpha(t[b - 1]) || is_digit(t[b - 1]) ||
				       t[b - 1] == '_' || t[b - 1] == '.' ||
				       t[b - 1] == '-'))
		b--;
	if (e - b < 3)
		return i;
	for (const char *const *w = tails; *w; w++) {
		size_t m = strlen(*w);
		if (e - b < m)
			continue;
		size_t k = 0;
		while (k < m && (t[e - m + k] | 0x20) == (*w)[k])
			k++;
		if (k == m)
			return b;
	}
	return i;
}

/* ':', '=', '-' and '.': IPv6 and MAC addresses, key assignments. */
static int scan_punct(const struct pii *p, struct pii_scratch *s,
		      const char *t, size_t n, struct llm_err *e)
{
	int colon = trigger_on(p, PII_TR_COLON), mac = trigger_on(p, PII_TR_MAC);
	int assign = trigger_on(p, PII_TR_ASSIGN);
	if (!colon && !mac && !assign)
		return 0;
	const unsigned char *u = (const unsigned char *)t;
	const unsigned char *cls = p->cls;
	size_t hex_next = 0;
#define HEX(k) (cls[u[k]] & C_HEX)
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = u[i];
		if (!(cls[c] & C_PUNCT))
			continue;
		if ((c == ':' || c == '=') && assign) {
			size_t b = assign_start(t, i);
			if (b < i && try_trigger(p, s, PII_TR_ASSIGN, t, n, b, e) < 0)
				return -1;
		}
		if (c == ':' && colon && i >= hex_next &&
		    (HEX(i - 1) || u[i - 1] == ':') && (HEX(i + 1) || u[i + 1] == ':')) {
			size_t b = i;
			while (b > 0 && i - b < 40 && (HEX(b - 1) || u[b - 1] == ':'))
				b--;
			hex_next = i;
			while (hex_next < n && (HEX(hex_next) || u[hex_next] == ':' ||
						u[hex_next] == '.'))
				hex_next++;
			if (try_trigger(p, s, PII_TR_COLON, t, n, b, e) < 0)
				return -1;
		}
		if (c == '-' && mac && i >= 2 && i + 3 < n && HEX(i - 2) &&
		    HEX(i - 1) && HEX(i + 1) && HEX(i + 2) && u[i + 3] == '-' &&
		    try_trigger(p, s, PII_TR_MAC, t, n, i - 2, e) < 0)
			return -1;
		if (c == '.' && mac && i >= 4 && i + 5 < n && HEX(i - 4) &&
		    HEX(i - 3) && HEX(i - 2) && HEX(i - 1) && HEX(i + 1) &&
		    HEX(i + 2) && HEX(i + 3) && HEX(i + 4) && u[i + 5] == '.' &&
		    try_trigger(p, s, PII_TR_MAC, t, n, i - 4, e) < 0)
			return -1;
	}
#undef HEX
	return 0;
}

/*
 * Words of [A-Za-z0-9_-] of 20 bytes or more: keys, tokens and wallet
 * addresses.  Most words are short, so look at every 20th byte only: a
 * run of 20 must cover it.  When it is a word byte, find that word's ends
 * and go on after it.
 */
#define LONG_WORD 20
static int scan_tokens(const struct pii *p, struct pii_scratch *s,
		       const char *t, size_t n, struct llm_err *e)
{
	if (!trigger_on(p, PII_TR_TOKEN))
		return 0;
	const unsigned char *u = (const unsigned char *)t;
	const unsigned char *cls = p->cls;
	size_t i = 0;	/* i == 0 or u[i - 1] is not a word byte */
	while (i + LONG_WORD <= n) {
		size_t k = i + LONG_WORD - 1;
		if (!(cls[u[k]] & C_TOKEN)) {
			i = k + 1;
			continue;
		}
		size_t st = k, end = k + 1;
		while (st > i && (cls[u[st - 1]] & C_TOKEN))
			st--;
		while (end < n && (cls[u[end]] & C_TOKEN))
			end++;
		if (end - st >= LONG_WORD &&
		    try_trigger(p, s, PII_TR_TOKEN, t, n, st, e) < 0)
			return -1;
		i = end + 1;
	}
	return 0;
}

/* Places where a literal string occurs; with word_start, only where it
 * starts a [A-Za-z0-9_-] word.  The search is for the literal's rarest
 * byte, `key` bytes into it, with memchr. */
static int scan_literal(const struct pii *p, struct pii_scratch *s,
			const char *t, size_t n, enum pii_trigger tr,
			const char *lit, size_t key, int word_start,
			struct llm_err *e)
{
	if (!trigger_on(p, tr))
		return 0;
	size_t m = strlen(lit), from = key;
	const char *q;
	while (from < n && (q = memchr(t + from, lit[key], n - from))) {
		size_t at = (size_t)(q - t) - key;
		from = at + key + 1;
		if (at + m > n || memcmp(t + at, lit, m) != 0)
			continue;
		if (word_start && at > 0 && (p->cls[(unsigned char)t[at - 1]] & C_TOKEN))
			continue;
		if (try_trigger(p, s, tr, t, n, at, e) < 0)
			return -1;
	}
	return 0;
}

/* Rules of the user's own: unanchored, over the whole text. */
static int scan_rules(const struct pii *p, struct pii_scratch *s,
		      const char *t, size_t n, struct llm_err *e)
{
	for (int r = 0; r < p->nrules; r++) {
		const struct rule *ru = &p->rules[r];
		if (!p->on[ru->type])
			continue;
		size_t at = 0;
		while (at <= n) {
			int rc = match(&ru->pat, s, t, n, at);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				char what[96];
				snprintf(what, sizeof what, "rule %s", p->names[ru->type]);
				return match_error(rc, what, e);
			}
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
			size_t st = ov[0], en = ov[1];
			if (en > st) {
				add_cand(s, ru->type, st, en);
				at = en;
				continue;
			}
			/* An empty match: step over one character. */
			at = (ov[1] > at ? ov[1] : at) + 1;
			while (at < n && ((unsigned char)t[at] & 0xc0) == 0x80)
				at++;
		}
	}
	return 0;
}

/* Priority order: longer first, then type order, then leftmost. */
static int by_priority(const void *a, const void *b)
{
	const struct pii_span *x = a, *y = b;
	size_t lx = x->end - x->start, ly = y->end - y->start;
	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Keep the candidates, best first, that overlap nothing kept before;
 * out stays sorted by start. */
static void resolve(struct pii_scratch *s)
{
	if (s->ncand > 1)
		qsort(s->cand, s->ncand, sizeof *s->cand, by_priority);
	s->nout = 0;
	for (size_t i = 0; i < s->ncand; i++) {
		struct pii_span c = s->cand[i];
		size_t lo = 0, hi = s->nout;
		while (lo < hi) {	/* first kept span starting at or after c */
			size_t mid = (lo + hi) / 2;
			if (s->out[mid].start < c.start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && s->out[lo - 1].end > c.start)
			continue;
		if (lo < s->nout && s->out[lo].start < c.end)
			continue;
		if (s->nout == s->capout) {
			s->capout = s->capout ? 2 * s->capout : 32;
			s->out = xrealloc(s->out, s->capout * sizeof *s->out);
		}
		memmove(s->out + lo + 1, s->out + lo, (s->nout - lo) * sizeof *s->out);
		s->out[lo] = c;
		s->nout++;
	}
}

long pii_find(const struct pii *p, struct pii_scratch *s, const char *text,
	      size_t n, const struct pii_span **spans, struct llm_err *e)
{
	s->ncand = 0;
	memset(s->next, 0, pii_ndetectors * sizeof *s->next);
	if (scan_at(p, s, text, n, e) < 0 ||
	    scan_numbers(p, s, text, n, e) < 0 ||
	    scan_punct(p, s, text, n, e) < 0 ||
	    scan_tokens(p, s, text, n, e) < 0 ||
	    scan_literal(p, s, text, n, PII_TR_JWT, "eyJ", 2, 1, e) < 0 ||
	    scan_literal(p, s, text, n, PII_TR_PEM, "-----BEGIN ", 5, 0, e) < 0 ||
	    scan_literal(p, s, text, n, PII_TR_WEBHOOK, "hooks.slack.com/", 3, 0, e) < 0 ||
	    scan_rules(p, s, text, n, e) < 0)
		return -1;
	resolve(s);
	*spans = s->out;
	return (long)s->nout;
}
