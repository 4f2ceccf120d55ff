/*
 * test_precision.c - bf16/fp16 conversions against Python's reference
 * (tests/ref/precision.fix, made by tests/ref/precision_fixtures.py), every
 * 16-bit pattern round trip, the loss scaler's state machine, and a CPU
 * emulation of mixed precision: a matmul on bf16-rounded inputs stays
 * within the GPU checks' 1e-2 of fp32, and fp16 gradients too small for
 * fp16 survive when the loss is scaled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crng.h"
#include "ops.h"
#include "precision.h"

static void test_fixture(void **state)
{
	(void)state;
	const char *dir = getenv("LLM_TEST_REF");
	char path[512];
	snprintf(path, sizeof path, "%s/precision.fix", dir ? dir : "tests/ref");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[128];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		unsigned b32, h16, b16;
		assert_int_equal(sscanf(line, "%x %x %x", &b32, &h16, &b16), 3);
		float x = prec_bits_f32(b32);
		uint16_t h = prec_f32_to_f16(x), b = prec_f32_to_bf16(x);
		if (isnan(x)) {
			/* a quiet NaN of the same sign, payload free */
			assert_true((h & 0x7c00) == 0x7c00 && (h & 0x3ff) && (h & 0x8000) == (h16 & 0x8000));
			assert_true((b & 0x7f80) == 0x7f80 && (b & 0x7f) && (b & 0x8000) == (b16 & 0x8000));
			assert_true(isnan(prec_f16_to_f32(h)) && isnan(prec_bf16_to_f32(b)));
		} else {
			if (h != h16 || b != b16)
				fprintf(stderr, "%08x: fp16 %04x want %04x, bf16 %04x want %04x\n",
					b32, h, h16, b, b16);
			assert_int_equal(h, h16);
			assert_int_equal(b, b16);
		}
		n++;
	}
	fclose(f);
	assert_true(n > 6000);
}

/* Every fp16 and bf16 value converts to fp32 and back unchanged, and the
 * decoded values increase with the pattern (positive half). */
static void test_round_trip(void **state)
{
	(void)state;
	float prev16 = -1, prevb = -1;
	for (uint32_t p = 0; p < 0x10000; p++) {
		uint16_t h = (uint16_t)p;
		float x = prec_f16_to_f32(h), y = prec_bf16_to_f32(h);
		if ((h & 0x7c00) != 0x7c00 || !(h & 0x3ff))
			assert_int_equal(prec_f32_to_f16(x), h);
		if ((h & 0x7f80) != 0x7f80 || !(h & 0x7f))
			assert_int_equal(prec_f32_to_bf16(y), h);
		if (p < 0x7c00) {
			assert_true(x > prev16 || p == 0);
			prev16 = x;
		}
		if (p < 0x7f80) {
			assert_true(y > prevb || p == 0);
			prevb = y;
		}
	}
	assert_true(prec_f16_to_f32(0x0001) == ldexpf(1, -24));
	assert_true(prec_f16_to_f32(0x7bff) == 65504.0f);
	assert_true(prec_f16_to_f32(0x3c00) == 1.0f);
	assert_true(isinf(prec_f16_to_f32(0x7c00)));
	assert_true(prec_bf16_to_f32(0x3f80) == 1.0f);
	assert_int_equal(precision_parse("bf16"), PREC_BF16);
	assert_int_equal(precision_parse("fp64"), -1);
	assert_string_equal(precision_name(PREC_FP16), "fp16");
	float a[3] = {1.00390625f, 1.0f + 3.0f / 256, 7.0f};
	prec_round_array(a, 3, PREC_BF16);
	assert_true(a[0] == 1.0f && a[1] == 1.0f + 4.0f / 256 && a[2] == 7.0f);
}

static void test_scaler(void **state)
{
	(void)state;
	struct loss_scaler s;
	scaler_init(&s);
	assert_true(s.scale == 65536.0f);
	for (int i = 0; i < 1999; i++)
		assert_int_equal(scaler_update(&s, 1), 1);
	assert_true(s.scale == 65536.0f);
	assert_int_equal(scaler_update(&s, 1), 1);	/* the 2000th: grow */
	assert_true(s.scale == 131072.0f);
	/* an overflow: skip, halve, start counting again */
	assert_int_equal(scaler_update(&s, 0), 0);
	assert_true(s.scale == 65536.0f);
	assert_int_equal((int)s.skipped, 1);
	assert_int_equal(s.good, 0);
	for (int i = 0; i < 1999; i++)
		scaler_update(&s, 1);
	assert_true(s.scale == 65536.0f);
	/* bounds */
	for (int i = 0; i < 40; i++)
		assert_int_equal(scaler_update(&s, 0), 0);
	assert_true(s.scale == 1.0f);
	s.interval = 1;
	for (int i = 0; i < 40; i++)
		scaler_update(&s, 1);
	assert_true(s.scale == 16777216.0f);
}

/* What the GPU's bf16 path does to a product: inputs rounded to bf16,
 * fp32 accumulation, the output rounded.  Within the checks' 1e-2 of
 * fp32, and not equal to it (the rounding is real). */
static void test_emulated_matmul(void **state)
{
	(void)state;
	int N = 64, C = 256, OC = 96;
	float *x = malloc(sizeof(float) * N * C), *w = malloc(sizeof(float) * OC * C);
	float *y = malloc(sizeof(float) * N * OC), *yl = malloc(sizeof(float) * N * OC);
	for (int i = 0; i < N * C; i++)
		x[i] = crng_float(crng_at(1, (uint64_t)i)) * 2 - 1;
	for (int i = 0; i < OC * C; i++)
		w[i] = (crng_float(crng_at(2, (uint64_t)i)) * 2 - 1) * 0.1f;
	struct pool *p = pool_new(2);
	matmul_forward(p, y, x, w, NULL, N, C, OC);
	enum precision ps[] = {PREC_BF16, PREC_FP16};
	double limits[] = {1e-2, 1e-3};
	for (int k = 0; k < 2; k++) {
		prec_round_array(x, (size_t)N * C, ps[k]);
		prec_round_array(w, (size_t)OC * C, ps[k]);
		matmul_forward(p, yl, x, w, NULL, N, C, OC);
		prec_round_array(yl, (size_t)N * OC, ps[k]);
		double d = 0, r = 0;
		for (int i = 0; i < N * OC; i++) {
			d += (yl[i] - y[i]) * (double)(yl[i] - y[i]);
			r += (double)y[i] * y[i];
		}
		double rel = sqrt(d / r);
		assert_true(rel < limits[k]);
		assert_true(rel > 1e-5);
		/* back to the fp32 inputs for the next format */
		for (int i = 0; i < N * C; i++)
			x[i] = crng_float(crng_at(1, (uint64_t)i)) * 2 - 1;
		for (int i = 0; i < OC * C; i++)
			w[i] = (crng_float(crng_at(2, (uint64_t)i)) * 2 - 1) * 0.1f;
	}
	pool_free(p);
	free(x), free(w), free(y), free(yl);
}

/* Loss scaling's purpose: gradients of 1e-8 vanish in fp16 (below 2^-25)
 * but survive multiplied by the scale and divided after. */
static void test_scaling_saves_small_gradients(void **state)
{
	(void)state;
	struct loss_scaler s;
	scaler_init(&s);
	int lost = 0, kept = 0;
	for (int i = 1; i <= 100; i++) {
		float g = 1e-8f * (float)i / 10.0f;
		lost += prec_round(g, PREC_FP16) == 0.0f;
		float back = prec_round(g * s.scale, PREC_FP16) / s.scale;
		kept += fabsf(back - g) <= 1e-3f * g;
	}
	assert_int_equal(lost, 29);	/* the 29 below 2^-25 ~ 3e-8: flushed */
	assert_int_equal(kept, 100);
	/* and a scale too large overflows: the step is skipped */
	assert_true(isinf(prec_round(4.0f * s.scale, PREC_FP16)));
	assert_int_equal(scaler_update(&s, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_scaler),
		cmocka_unit_test(test_emulated_matmul),
		cmocka_unit_test(test_scaling_saves_small_gradients),
	};
	return cmocka_run_group_tests_name("precision", tests, NULL, NULL);
}
