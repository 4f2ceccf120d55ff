/*
 * precision.h - the number formats of mixed-precision training, and the
 * dynamic loss scaler of fp16 training.
 *
 * Conversions between fp32 and bf16 / fp16 bit patterns (uint16_t), both
 * rounding to nearest, ties to even, exactly as the hardware's cvt.rn
 * instructions and Python's struct.pack('e') do:
 *
 *   bf16  the top 16 bits of the fp32 pattern, rounded; NaN stays a
 *         (quiet) NaN of the same sign, overflow rounds to infinity.
 *   fp16  IEEE binary16: subnormals below 2^-14, 65520 and above round to
 *         infinity, values at or below 2^-25 to zero.
 *
 * The functions are static inline and, compiled by nvcc, __host__
 * __device__, so the CUDA kernels (kernels/) and the C code share one
 * definition.
 *
 * The loss scaler is PyTorch's GradScaler as a state machine: the loss is
 * multiplied by `scale` before the backward pass; after it, a step whose
 * gradients hold an inf or NaN is skipped and the scale multiplied by
 * `backoff`; after `interval` finite steps in a row it is multiplied by
 * `growth`.  The scale stays within [min_scale, max_scale].
 */
#ifndef LLM_PRECISION_H
#define LLM_PRECISION_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define PREC_FN static inline __host__ __device__
#else
#define PREC_FN static inline
#endif

enum precision { PREC_FP32, PREC_BF16, PREC_FP16 };

/* "fp32", "bf16", "fp16", and back (-1 if unknown). */
const char *precision_name(enum precision p);
int precision_parse(const char *s);

PREC_FN uint32_t prec_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

PREC_FN float prec_bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

PREC_FN uint16_t prec_f32_to_bf16(float f)
{
	uint32_t u = prec_f32_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x0040u);	/* quiet NaN */
	/* Add just under half an ulp of bf16, plus one when the kept part is
	 * odd: the carry then rounds to nearest, ties to even. */
	u += 0x7fffu + ((u >> 16) & 1u);
	return (uint16_t)(u >> 16);
}

PREC_FN float prec_bf16_to_f32(uint16_t h)
{
	return prec_bits_f32((uint32_t)h << 16);
}

PREC_FN uint16_t prec_f32_to_f16(float f)
{
	uint32_t u = prec_f32_bits(f);
	uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
	if (a > 0x7f800000u)	/* NaN: quiet, keep the top payload bits */
		return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
	if (a >= 0x477ff000u)	/* >= 65520: infinity (ties to even) */
		return (uint16_t)(sign | 0x7c00u);
	if (a >= 0x38800000u) {	/* a normal half: >= 2^-14 */
		uint32_t r = a - 0x38000000u;	/* exponent bias 127 -> 15 */
		r += 0xfffu + ((r >> 13) & 1u);
		return (uint16_t)(sign | (r >> 13));
	}
	if (a <= 0x33000000u)	/* <= 2^-25: zero (2^-25 ties to even 0) */
		return (uint16_t)sign;
	/* A subnormal half: the value in units of 2^-24, rounded. */
	uint32_t m = (a & 0x7fffffu) | 0x800000u;
	int shift = 126 - (int)(a >> 23);	/* 14..24 */
	uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u);
	uint32_t half = 1u << (shift - 1);
	if (rem > half || (rem == half && (q & 1u)))
		q++;
	return (uint16_t)(sign | q);
}

PREC_FN float prec_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
	if (e == 0x1f)
		u = sign | 0x7f800000u | (m << 13);
	else if (e != 0)
		u = sign | ((e + 112u) << 23) | (m << 13);
	else if (m == 0)
		u = sign;
	else {
		/* subnormal: shift the mantissa up to a normal fp32 */
		e = 113;
		while (!(m & 0x400u)) {
			m <<= 1;
			e--;
		}
		u = sign | (e << 23) | ((m & 0x3ffu) << 13);
	}
	return prec_bits_f32(u);
}

/* x rounded to precision p and back to fp32 (fp32: x itself). */
PREC_FN float prec_round(float x, enum precision p)
{
	if (p == PREC_BF16)
		return prec_bf16_to_f32(prec_f32_to_bf16(x));
	if (p == PREC_FP16)
		return prec_f16_to_f32(prec_f32_to_f16(x));
	return x;
}

/* Round n floats in place: what storing them in format p does. */
void prec_round_array(float *x, size_t n, enum precision p);

/* ---- dynamic loss scaling --------------------------------------------- */

struct loss_scaler {
	float scale;
	float growth, backoff;
	int interval;		/* finite steps before growing */
	int good;		/* finite steps since the last change */
	float min_scale, max_scale;
	uint64_t skipped;	/* steps skipped so far */
};

/* PyTorch's defaults: scale 65536, growth 2, backoff 0.5, interval 2000;
 * bounds 1 and 2^24. */
void scaler_init(struct loss_scaler *s);

/*
 * After a backward pass with the loss multiplied by s->scale: finite says
 * whether every gradient was finite.  Returns 1 when the optimizer step
 * should be taken (with the gradients divided by the scale the backward
 * pass used: read s->scale before calling), 0 when it must be skipped.
 */
int scaler_update(struct loss_scaler *s, int finite);

#endif
