/* quality_badwords.c - C4's bad-words filter over the LDNOOBW lists, as
 * datatrove's C4BadWordsFilter; see quality.h. */
#include "quality.h"
#include "quality_int.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One language's list as a byte trie.  Edges live in one open-addressing
 * table keyed by (node, byte); node 0 is the root.  A regex alternation
 * of a few hundred words would be tried at every boundary too, but a trie
 * walk stops after a byte or two on ordinary text.
 */
struct trie {
	char lang[32];
	int anywhere;		/* ja, th, zh: no word boundaries needed */
	uint64_t *key;		/* (node << 8 | byte) + 1; 0 = empty */
	uint32_t *child;
	size_t cap, nedges;
	unsigned char *term;	/* term[node]: a word ends here */
	size_t nnodes, nodecap;
};

struct badwords {
	struct trie *t;
	size_t n;
};

static size_t slot(const struct trie *t, uint64_t k)
{
	uint64_t h = k * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (t->cap - 1);
}

static uint32_t child(const struct trie *t, uint32_t node, unsigned char b)
{
	uint64_t k = ((uint64_t)node << 8 | b) + 1;
	for (size_t i = slot(t, k);; i = (i + 1) & (t->cap - 1)) {
		if (t->key[i] == k)
			return t->child[i];
		if (!t->key[i])
			return 0;
	}
}

static void trie_grow(struct trie *t)
{
	size_t oldcap = t->cap;
	uint64_t *ok = t->key;
	uint32_t *oc = t->child;
	t->cap = oldcap ? oldcap * 2 : 1024;
	t->key = xcalloc(t->cap, sizeof *t->key);
	t->child = xcalloc(t->cap, sizeof *t->child);
	for (size_t i = 0; i < oldcap; i++)
		if (ok[i]) {
			size_t j = slot(t, ok[i]);
			while (t->key[j])
				j = (j + 1) & (t->cap - 1);
			t->key[j] = ok[i];
			t->child[j] = oc[i];
		}
	free(ok);
	free(oc);
}

static uint32_t new_node(struct trie *t)
{
	if (t->nnodes == t->nodecap) {
		t->nodecap = t->nodecap ? 2 * t->nodecap : 256;
		t->term = xrealloc(t->term, t->nodecap);
	}
	t->term[t->nnodes] = 0;
	return (uint32_t)t->nnodes++;
}

static void trie_add(struct trie *t, const char *w, size_t n)
{
	uint32_t node = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)w[i];
		uint32_t c = child(t, node, b);
		if (!c) {
			if (2 * (t->nedges + 1) > t->cap)
				trie_grow(t);
			c = new_node(t);
			uint64_t k = ((uint64_t)node << 8 | b) + 1;
			size_t j = slot(t, k);
			while (t->key[j])
				j = (j + 1) & (t->cap - 1);
			t->key[j] = k;
			t->child[j] = c;
			t->nedges++;
		}
		node = c;
	}
	t->term[node] = 1;
}

static int allowed(const char *w)
{
	static const char *const allow[] = {"sm", "\xe3\x82\xb0\xe3\x83\xad",
		"\xe5\xa5\xb3\xe3\x81\xae\xe5\xad\x90", "\xe6\x80\xa7"};
	for (size_t i = 0; i < sizeof allow / sizeof *allow; i++)
		if (strcmp(w, allow[i]) == 0)
			return 1;
	return 0;
}

static int load_list(struct trie *t, const char *path, struct llm_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	trie_grow(t);
	new_node(t);
	while ((len = getline(&line, &cap, f)) > 0) {
		const char *s = line;
		size_t n = (size_t)len;
		py_strip(&s, &n);
		/* A blank line would be an empty alternative matching almost
		 * anywhere; it is skipped. */
		if (!n)
			continue;
		char *w = strndup(s, n);
		if (!allowed(w))
			trie_add(t, w, n);
		free(w);
	}
	free(line);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return llm_err_set(e, "%s: read error", path);
	return 0;
}

/* A list file name: a language tag such as "de" or "fr-CA-u-sd-caqc". */
static int is_lang(const char *name)
{
	size_t n = strlen(name);
	if (n < 2 || n >= 32 || name[0] < 'a' || name[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(name[i] == '-' || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}

struct badwords *badwords_load(const char *dir, struct llm_err *e)
{
	DIR *d = opendir(dir);
	if (!d) {
		llm_err_set(e, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	struct badwords *b = xcalloc(1, sizeof *b);
	struct dirent *de;
	char path[4096];
	while ((de = readdir(d))) {
		if (!is_lang(de->d_name))
			continue;
		b->t = xrealloc(b->t, (b->n + 1) * sizeof *b->t);
		struct trie *t = &b->t[b->n++];
		memset(t, 0, sizeof *t);
		snprintf(t->lang, sizeof t->lang, "%.31s", de->d_name);
		t->anywhere = !strcmp(t->lang, "ja") || !strcmp(t->lang, "th") || !strcmp(t->lang, "zh");
		/* English: the version C4 (and datatrove) pin, when present. */
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (strcmp(t->lang, "en") == 0) {
			char pinned[4096];
			snprintf(pinned, sizeof pinned, "%s/en.c4-25e679f", dir);
			FILE *f = fopen(pinned, "r");
			if (f) {
				fclose(f);
				snprintf(path, sizeof path, "%s", pinned);
			}
		}
		if (load_list(t, path, e) < 0) {
			closedir(d);
			badwords_free(b);
			return NULL;
		}
	}
	closedir(d);
	if (!b->n) {
		llm_err_set(e, "%s: no word lists (files named by language code, as en, de)", dir);
		badwords_free(b);
		return NULL;
	}
	return b;
}

void badwords_free(struct badwords *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->t[i].key);
		free(b->t[i].child);
		free(b->t[i].term);
	}
	free(b->t);
	free(b);
}

static const struct trie *find(const struct badwords *b, const char *lang, size_t n)
{
	for (size_t i = 0; i < b->n; i++)
		if (strlen(b->t[i].lang) == n && memcmp(b->t[i].lang, lang, n) == 0)
			return &b->t[i];
	return NULL;
}

int badwords_has(const struct badwords *b, const char *lang, size_t n)
{
	return find(b, lang, n) != NULL;
}

/* Is the code point starting at s[i] (or the end) a non-word character? */
static int nonword_at(const char *s, size_t n, size_t i)
{
	if (i >= n)
		return 1;
	return !(words_class(words_next_cp((const unsigned char *)s, n, &i)) & WC_PYWORD);
}

/* Does an entry start at s[i] (and end at a boundary unless anywhere)? */
static int match_at(const struct trie *t, const char *s, size_t n, size_t i)
{
	uint32_t node = 0;
	for (size_t k = i;; k++) {
		if (t->term[node] && (t->anywhere || nonword_at(s, n, k)))
			return 1;
		if (k >= n || !(node = child(t, node, (unsigned char)s[k])))
			return 0;
	}
}

const char *quality_badwords(const struct badwords *b, const char *lang,
			     size_t langlen, struct qdoc *q)
{
	const struct trie *t = find(b, lang, langlen);
	if (!t)
		return NULL;
	buf_clear(&q->lower);
	py_lower(&q->lower, q->text, q->n);
	const char *s = q->lower.p ? q->lower.p : "";
	size_t n = q->lower.len;
	const unsigned char *u = (const unsigned char *)s;
	int boundary = 1;	/* at the start, or after a non-word character */
	for (size_t i = 0; i <= n;) {
		if ((boundary || t->anywhere) && match_at(t, s, n, i))
			return "document_removed_with_badwords";
		if (i == n)
			break;
		boundary = !(words_class(words_next_cp(u, n, &i)) & WC_PYWORD);
	}
	return NULL;
}
