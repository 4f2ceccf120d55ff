/* robots.c - robots.txt parsing and matching; see robots.h. */
#include "robots.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ROBOTS (500 * 1024)

struct rule {
	char *pat;	/* normalised pattern, without a trailing '$' */
	size_t len;	/* length as written, for the longest-match rule */
	int allow;
	int anchored;	/* ended in '$' */
};

struct robots {
	struct rule *rules;
	int n, cap;
	double delay;
	int deny_all;
};

static struct robots *robots_new(void)
{
	struct robots *r = xcalloc(1, sizeof *r);
	r->delay = -1;
	return r;
}

struct robots *robots_allow_all(void)
{
	return robots_new();
}

struct robots *robots_disallow_all(void)
{
	struct robots *r = robots_new();
	r->deny_all = 1;
	return r;
}

void robots_free(struct robots *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++)
		free(r->rules[i].pat);
	free(r->rules);
	free(r);
}

int robots_rules(const struct robots *r)
{
	return r->n;
}

double robots_crawl_delay(const struct robots *r)
{
	return r->delay;
}

void robots_token(const char *ua, char *out, size_t n)
{
	size_t k = 0;
	while (*ua == ' ' || *ua == '\t')
		ua++;
	while (*ua && *ua != '/' && *ua != ' ' && *ua != '\t' && k + 1 < n)
		out[k++] = *ua++;
	out[k] = '\0';
}

static int unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Percent-encoding normalised: escapes of unreserved characters decoded,
 * other escapes upper-cased, bytes outside printable ASCII escaped. */
static void normalise(const char *s, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			int v = hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]);
			if (unreserved(v)) {
				buf_putc(out, (char)v);
			} else {
				buf_putc(out, '%');
				buf_putc(out, hex[v >> 4]);
				buf_putc(out, hex[v & 15]);
			}
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			buf_putc(out, '%');
			buf_putc(out, hex[c >> 4]);
			buf_putc(out, hex[c & 15]);
		} else {
			buf_putc(out, (char)c);
		}
	}
}

static void add_rule(struct robots *r, const char *v, size_t n, int allow)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->rules = xrealloc(r->rules, (size_t)r->cap * sizeof *r->rules);
	}
	struct rule *ru = &r->rules[r->n++];
	ru->len = n;
	ru->allow = allow;
	ru->anchored = n > 0 && v[n - 1] == '$';
	if (ru->anchored)
		n--;
	struct buf b = {0};
	normalise(v, n, &b);
	buf_putc(&b, '\0');
	b.len--;
	ru->pat = b.p;
}

/*
 * Does pattern p (with '*' wildcards; anchored: must reach the end) match
 * a prefix of s (or all of s)?  The pieces between stars are found left to
 * right, each at its earliest place, which is enough: an earlier place
 * never stops a later piece from matching.  Linear per piece, no
 * backtracking.
 */
static int match(const char *p, int anchored, const char *s)
{
	size_t sl = strlen(s);
	const char *star = strchr(p, '*');
	size_t first = star ? (size_t)(star - p) : strlen(p);
	if (first > sl || memcmp(p, s, first) != 0)
		return 0;
	if (!star)
		return !anchored || first == sl;
	size_t pos = first;
	p = star + 1;
	for (;;) {
		while (*p == '*')
			p++;
		star = strchr(p, '*');
		size_t len = star ? (size_t)(star - p) : strlen(p);
		if (!star) {
			if (!anchored)
				return len == 0 || memmem(s + pos, sl - pos, p, len) != NULL;
			/* The last piece must end the string, after pos. */
			return len <= sl - pos && memcmp(s + sl - len, p, len) == 0;
		}
		const char *at = memmem(s + pos, sl - pos, p, len);
		if (!at)
			return 0;
		pos = (size_t)(at - s) + len;
		p = star + 1;
	}
}

int robots_allowed(const struct robots *r, const char *path)
{
	if (!path || !*path)
		path = "/";
	if (strcmp(path, "/robots.txt") == 0)
		return 1;
	if (r->deny_all)
		return 0;
	struct buf norm = {0};
	normalise(path, strlen(path), &norm);
	buf_putc(&norm, '\0');
	const struct rule *best = NULL;
	for (int i = 0; i < r->n; i++) {
		const struct rule *ru = &r->rules[i];
		if (!match(ru->pat, ru->anchored, norm.p))
			continue;
		if (!best || ru->len > best->len || (ru->len == best->len && ru->allow))
			best = ru;
	}
	buf_free(&norm);
	return !best || best->allow;
}

/* One "key: value" line with comments and blanks removed.  Returns 0 for
 * a line to ignore. */
static int split_line(char *line, char **key, char **val)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *colon = strchr(line, ':');
	if (!colon)
		return 0;
	*colon = '\0';
	char *k = line, *v = colon + 1;
	while (isspace((unsigned char)*k))
		k++;
	while (isspace((unsigned char)*v))
		v++;
	size_t kn = strlen(k), vn = strlen(v);
	while (kn && isspace((unsigned char)k[kn - 1]))
		k[--kn] = '\0';
	while (vn && isspace((unsigned char)v[vn - 1]))
		v[--vn] = '\0';
	*key = k;
	*val = v;
	return 1;
}

/* Which group a User-agent value names: 2 ours, 1 "*", 0 another. */
static int agent_kind(const char *v, const char *token)
{
	char t[128];
	robots_token(v, t, sizeof t);
	if (strcmp(t, "*") == 0)
		return 1;
	return *token && strcasecmp(t, token) == 0 ? 2 : 0;
}

struct robots *robots_parse(const char *txt, size_t n, const char *token)
{
	if (n > MAX_ROBOTS)
		n = MAX_ROBOTS;
	/* Two passes: first learn whether any group names us, then keep the
	 * rules of the groups that apply. */
	struct robots *r = robots_new();
	struct buf copy = {0};
	for (int pass = 0, want = 1; pass < 2; pass++) {
		buf_clear(&copy);
		buf_append(&copy, txt, n);
		int in_agents = 0;	/* reading a run of User-agent lines */
		int applies = 0;	/* the current group applies to us */
		int kinds = 0;		/* bit set of agent kinds seen */
		char *save = NULL;
		for (char *line = strtok_r(copy.p, "\r\n", &save); line;
		     line = strtok_r(NULL, "\r\n", &save)) {
			char *k, *v;
			if (!split_line(line, &k, &v))
				continue;
			if (strcasecmp(k, "user-agent") == 0) {
				if (!in_agents)
					applies = 0;
				in_agents = 1;
				int kind = agent_kind(v, token);
				kinds |= 1 << kind;
				if (pass == 1 && kind == want)
					applies = 1;
				continue;
			}
			in_agents = 0;
			if (pass == 0 || !applies)
				continue;
			if (strcasecmp(k, "allow") == 0 || strcasecmp(k, "disallow") == 0) {
				/* An empty Disallow disallows nothing. */
				if (*v)
					add_rule(r, v, strlen(v), tolower((unsigned char)k[0]) == 'a');
			} else if (strcasecmp(k, "crawl-delay") == 0) {
				char *end;
				double d = strtod(v, &end);
				if (end != v && d >= 0 && d < 86400)
					r->delay = d;
			}
		}
		if (pass == 0)
			want = kinds & (1 << 2) ? 2 : 1;
	}
	buf_free(&copy);
	return r;
}
