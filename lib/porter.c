/* porter.c - NLTK's Porter stemmer (NLTK_EXTENSIONS mode); see porter.h. */
#include "porter.h"

#include <string.h>

/* The word being stemmed: w[0..n), changed in place. */
struct word {
	char *w;
	size_t n;
};

static int is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* A consonant is a letter other than a vowel, and other than a y that
 * follows a consonant; a run of y's alternates, the first one after a
 * consonant being a vowel. */
static int is_cons(const char *w, size_t i)
{
	if (is_vowel(w[i]))
		return 0;
	if (w[i] != 'y')
		return 1;
	int negate = 0;
	while (i > 0 && w[i] == 'y') {
		negate = !negate;
		i--;
	}
	return (!is_vowel(w[i])) != negate;
}

/* m, the number of vowel-consonant transitions in w[0..n). */
static int measure(const char *w, size_t n)
{
	int m = 0, prev_vowel = 0;
	for (size_t i = 0; i < n; i++) {
		int c = is_cons(w, i);
		if (c && prev_vowel)
			m++;
		prev_vowel = !c;
	}
	return m;
}

static int has_vowel(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_cons(w, i))
			return 1;
	return 0;
}

static int ends_double_cons(const char *w, size_t n)
{
	return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1);
}

/* *o: the stem ends consonant-vowel-consonant, the last not w, x or y; NLTK
 * also counts a two-letter vowel-consonant word. */
static int ends_cvc(const char *w, size_t n)
{
	if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) &&
	    is_cons(w, n - 1) && w[n - 1] != 'w' && w[n - 1] != 'x' &&
	    w[n - 1] != 'y')
		return 1;
	return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static int ends(const struct word *x, const char *suf)
{
	size_t k = strlen(suf);
	return x->n >= k && memcmp(x->w + x->n - k, suf, k) == 0;
}

/* Replace the last `drop` letters by rep. */
static void replace(struct word *x, size_t drop, const char *rep)
{
	size_t k = strlen(rep);
	x->n -= drop;
	memcpy(x->w + x->n, rep, k);
	x->n += k;
}

/* A suffix rule: when the word ends in suf and the stem before it passes
 * the test (measure > min_m), suf becomes rep. */
struct rule {
	const char *suf, *rep;
	int min_m;
};

/* Apply the first rule whose suffix matches, if its condition holds; stop
 * at that rule either way. */
static void apply_rules(struct word *x, const struct rule *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		if (!ends(x, r[i].suf))
			continue;
		size_t k = strlen(r[i].suf);
		if (measure(x->w, x->n - k) > r[i].min_m)
			replace(x, k, r[i].rep);
		return;
	}
}

static void step1a(struct word *x)
{
	if (x->n == 4 && ends(x, "ies")) {
		replace(x, 3, "ie");
		return;
	}
	if (ends(x, "sses"))
		replace(x, 4, "ss");
	else if (ends(x, "ies"))
		replace(x, 3, "i");
	else if (ends(x, "ss"))
		;
	else if (ends(x, "s"))
		replace(x, 1, "");
}

/* After "ed" or "ing" went: restore an e, or undouble a consonant. */
static void step1b_tidy(struct word *x)
{
	if (ends(x, "at")) {
		replace(x, 2, "ate");
	} else if (ends(x, "bl")) {
		replace(x, 2, "ble");
	} else if (ends(x, "iz")) {
		replace(x, 2, "ize");
	} else if (ends_double_cons(x->w, x->n)) {
		char last = x->w[x->n - 1];
		if (last != 'l' && last != 's' && last != 'z')
			x->n--;
	} else if (measure(x->w, x->n) == 1 && ends_cvc(x->w, x->n)) {
		replace(x, 0, "e");
	}
}

static void step1b(struct word *x)
{
	if (ends(x, "ied")) {
		replace(x, 3, x->n == 4 ? "ie" : "i");
		return;
	}
	if (ends(x, "eed")) {
		if (measure(x->w, x->n - 3) > 0)
			replace(x, 3, "ee");
		return;
	}
	static const char *const sufs[] = {"ed", "ing"};
	for (size_t i = 0; i < 2; i++) {
		size_t k = strlen(sufs[i]);
		if (ends(x, sufs[i]) && has_vowel(x->w, x->n - k)) {
			x->n -= k;
			step1b_tidy(x);
			return;
		}
	}
}

/* y -> i after a consonant, unless that consonant is the whole stem. */
static void step1c(struct word *x)
{
	if (ends(x, "y") && x->n - 1 > 1 && is_cons(x->w, x->n - 2))
		x->w[x->n - 1] = 'i';
}

static void step2(struct word *x)
{
	/* NLTK applies ALLI -> AL first and then step 2 again. */
	if (ends(x, "alli") && measure(x->w, x->n - 4) > 0) {
		replace(x, 4, "al");
		step2(x);
		return;
	}
	/* "logi" -> "log" measures the stem with its "l".  It is last in
	 * NLTK's list, but no other step-2 suffix can end a word in "logi",
	 * so deciding it first changes nothing. */
	if (ends(x, "logi")) {
		if (measure(x->w, x->n - 3) > 0)
			replace(x, 4, "log");
		return;
	}
	static const struct rule r[] = {
		{"ational", "ate", 0}, {"tional", "tion", 0},
		{"enci", "ence", 0}, {"anci", "ance", 0}, {"izer", "ize", 0},
		{"bli", "ble", 0}, {"alli", "al", 0}, {"entli", "ent", 0},
		{"eli", "e", 0}, {"ousli", "ous", 0}, {"ization", "ize", 0},
		{"ation", "ate", 0}, {"ator", "ate", 0}, {"alism", "al", 0},
		{"iveness", "ive", 0}, {"fulness", "ful", 0},
		{"ousness", "ous", 0}, {"aliti", "al", 0}, {"iviti", "ive", 0},
		{"biliti", "ble", 0}, {"fulli", "ful", 0},
	};
	apply_rules(x, r, sizeof r / sizeof *r);
}

static void step3(struct word *x)
{
	static const struct rule r[] = {
		{"icate", "ic", 0}, {"ative", "", 0}, {"alize", "al", 0},
		{"iciti", "ic", 0}, {"ical", "ic", 0}, {"ful", "", 0},
		{"ness", "", 0},
	};
	apply_rules(x, r, sizeof r / sizeof *r);
}

static void step4(struct word *x)
{
	static const struct rule r[] = {
		{"al", "", 1}, {"ance", "", 1}, {"ence", "", 1}, {"er", "", 1},
		{"ic", "", 1}, {"able", "", 1}, {"ible", "", 1}, {"ant", "", 1},
		{"ement", "", 1}, {"ment", "", 1}, {"ent", "", 1},
	};
	static const struct rule r2[] = {
		{"ou", "", 1}, {"ism", "", 1}, {"ate", "", 1}, {"iti", "", 1},
		{"ous", "", 1}, {"ive", "", 1}, {"ize", "", 1},
	};
	for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
		if (ends(x, r[i].suf)) {
			apply_rules(x, r + i, 1);
			return;
		}
	}
	/* (m > 1 and (*S or *T)) ION ->, between "ent" and "ou". */
	if (ends(x, "ion")) {
		size_t k = x->n - 3;
		if (measure(x->w, k) > 1 && (x->w[k - 1] == 's' || x->w[k - 1] == 't'))
			x->n = k;
		return;
	}
	apply_rules(x, r2, sizeof r2 / sizeof *r2);
}

static void step5a(struct word *x)
{
	if (!ends(x, "e"))
		return;
	int m = measure(x->w, x->n - 1);
	if (m > 1 || (m == 1 && !ends_cvc(x->w, x->n - 1)))
		x->n--;
}

static void step5b(struct word *x)
{
	if (ends(x, "ll") && measure(x->w, x->n - 1) > 1)
		x->n--;
}

/* NLTK's table of irregular forms. */
static const char *const irregular[][2] = {
	{"sky", "sky"}, {"skies", "sky"}, {"dying", "die"}, {"lying", "lie"},
	{"tying", "tie"}, {"news", "news"}, {"innings", "inning"},
	{"inning", "inning"}, {"outings", "outing"}, {"outing", "outing"},
	{"cannings", "canning"}, {"canning", "canning"}, {"howe", "howe"},
	{"proceed", "proceed"}, {"exceed", "exceed"}, {"succeed", "succeed"},
};

size_t porter_stem(char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] >= 'A' && w[i] <= 'Z')
			w[i] = (char)(w[i] + 32);
	for (size_t i = 0; i < sizeof irregular / sizeof *irregular; i++) {
		size_t k = strlen(irregular[i][0]);
		if (k == n && memcmp(w, irregular[i][0], n) == 0) {
			size_t r = strlen(irregular[i][1]);
			memcpy(w, irregular[i][1], r);
			return r;
		}
	}
	if (n <= 2)
		return n;
	struct word x = {w, n};
	step1a(&x);
	step1b(&x);
	step1c(&x);
	step2(&x);
	step3(&x);
	step4(&x);
	step5a(&x);
	step5b(&x);
	return x.n;
}
