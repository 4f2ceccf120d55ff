/*
 * train_fixture.h - read the PyTorch fixtures of tests/ref/train_fixtures.py
 * and compare arrays with stated tolerances.  Included by test_ops.c and
 * test_model.c (static functions, one copy per test program).
 *
 * Format: "LLMFIX1\n", then records: u32 name length, name, u32 kind
 * (0 float32 tensor, 1 JSON text), u32 ndim, u32 dims[ndim], data.
 */
#ifndef TRAIN_FIXTURE_H
#define TRAIN_FIXTURE_H

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fix {
	char name[96];
	int kind;
	int ndim;
	uint32_t dims[4];
	size_t n;		/* floats, or bytes of JSON */
	float *f;
	json_t *json;
};

struct fixset {
	struct fix *v;
	size_t n;
};

/* Where the fixtures are: $LLM_TEST_REF, or tests/ref from the repository
 * root (where `make test` runs the tests). */
static void fix_path(char *out, size_t n, const char *file)
{
	const char *dir = getenv("LLM_TEST_REF");
	snprintf(out, n, "%s/%s", dir ? dir : "tests/ref", file);
}

static int rd_u32(FILE *f, uint32_t *v)
{
	unsigned char b[4];
	if (fread(b, 1, 4, f) != 4)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	     (uint32_t)b[3] << 24;
	return 0;
}

static struct fixset *fix_load(const char *file)
{
	char path[512];
	fix_path(path, sizeof path, file);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		return NULL;
	}
	char magic[8];
	struct fixset *s = calloc(1, sizeof *s);
	if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "LLMFIX1\n", 8)) {
		fclose(f);
		free(s);
		return NULL;
	}
	uint32_t len;
	while (rd_u32(f, &len) == 0) {
		s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
		struct fix *x = &s->v[s->n++];
		memset(x, 0, sizeof *x);
		uint32_t kind, ndim;
		if (len >= sizeof x->name || fread(x->name, 1, len, f) != len ||
		    rd_u32(f, &kind) || rd_u32(f, &ndim) || ndim > 4)
			goto bad;
		x->kind = (int)kind;
		x->ndim = (int)ndim;
		x->n = 1;
		for (uint32_t i = 0; i < ndim; i++) {
			if (rd_u32(f, &x->dims[i]))
				goto bad;
			x->n *= x->dims[i];
		}
		if (kind == 0) {
			x->f = malloc(x->n * sizeof(float) + 1);
			if (fread(x->f, sizeof(float), x->n, f) != x->n)
				goto bad;
		} else {
			char *txt = malloc(x->n + 1);
			if (fread(txt, 1, x->n, f) != x->n) {
				free(txt);
				goto bad;
			}
			txt[x->n] = 0;
			x->json = json_loads(txt, 0, NULL);
			free(txt);
		}
	}
	fclose(f);
	return s;
bad:
	fprintf(stderr, "%s: bad fixture record\n", path);
	fclose(f);
	return NULL;
}

static const struct fix *fix_find(const struct fixset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

/* The named tensor's data, or NULL (the test then fails on it). */
static float *fix_f(const struct fixset *s, const char *fmt, const char *a)
{
	char name[128];
	snprintf(name, sizeof name, fmt, a);
	const struct fix *x = fix_find(s, name);
	if (!x || x->kind != 0) {
		fprintf(stderr, "fixture %s missing\n", name);
		return NULL;
	}
	return x->f;
}

static json_t *fix_json(const struct fixset *s, const char *fmt, const char *a)
{
	char name[128];
	snprintf(name, sizeof name, fmt, a);
	const struct fix *x = fix_find(s, name);
	return x && x->kind == 1 ? x->json : NULL;
}

static void fix_free(struct fixset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].f);
		json_decref(s->v[i].json);
	}
	free(s->v);
	free(s);
}

/*
 * Largest error of got against want in units of the tolerance:
 * |got - want| / (atol + rtol |want|).  <= 1 passes.  Prints the worst
 * element when it fails, and the achieved error in either case when
 * LLM_TEST_VERBOSE is set.
 */
static double tol_err(const char *what, const float *got, const float *want,
		      size_t n, double atol, double rtol)
{
	double worst = 0, worst_abs = 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);
		double e = d / (atol + rtol * fabs((double)want[i]));
		if (!(e <= worst)) {	/* NaN counts as worst */
			worst = isnan(e) ? INFINITY : e;
			at = i;
		}
		if (d > worst_abs)
			worst_abs = d;
	}
	if (worst > 1 || getenv("LLM_TEST_VERBOSE"))
		fprintf(stderr, "%-40s max |err| %.3g, worst at %zu: %.9g vs %.9g (%.2f of tolerance)\n",
			what, worst_abs, at, n ? got[at] : 0.0, n ? want[at] : 0.0, worst);
	return worst;
}

#endif
