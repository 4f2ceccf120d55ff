/* precision.c - number formats and the loss scaler; see precision.h. */
#include "precision.h"

static const char *const names[] = {"fp32", "bf16", "fp16"};

const char *precision_name(enum precision p)
{
	return names[p];
}

int precision_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void prec_round_array(float *x, size_t n, enum precision p)
{
	if (p == PREC_FP32)
		return;
	for (size_t i = 0; i < n; i++)
		x[i] = prec_round(x[i], p);
}

void scaler_init(struct loss_scaler *s)
{
	s->scale = 65536.0f;
	s->growth = 2.0f;
	s->backoff = 0.5f;
	s->interval = 2000;
	s->good = 0;
	s->min_scale = 1.0f;
	s->max_scale = 16777216.0f;
	s->skipped = 0;
}

int scaler_update(struct loss_scaler *s, int finite)
{
	if (!finite) {
		/* Overflowed: the gradients are garbage; shrink and retry. */
		float next = s->scale * s->backoff;
		s->scale = next < s->min_scale ? s->min_scale : next;
		s->good = 0;
		s->skipped++;
		return 0;
	}
	if (++s->good >= s->interval) {
		float next = s->scale * s->growth;
		s->scale = next > s->max_scale ? s->max_scale : next;
		s->good = 0;
	}
	return 1;
}
