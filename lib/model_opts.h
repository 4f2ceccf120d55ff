/*
 * model_opts.h - a model's shape as command-line options: --layers,
 * --heads, --width, --context, --vocab, --padded-vocab, --ffn, --norm,
 * --post-norm, --activation, --positions, --no-bias, --untied, --dropout
 * (all three rates), --dropout-embedding, --dropout-attention,
 * --dropout-residual, --norm-eps, --rope-theta; what llm-train(1) takes
 * for training, planning and benchmarking.
 *
 * A whole-number option outside its range is refused as "--NAME: 'TEXT'
 * is not a whole number from MIN to MAX", a real one as "... is not a
 * number from MIN to MAX", a kind (--norm, --activation, --positions) by
 * naming the ones there are.  Nothing is checked across options here:
 * model_config_finish() does that.
 */
#ifndef LLM_MODEL_OPTS_H
#define LLM_MODEL_OPTS_H

struct llm_err;
struct model_config;

struct model_opt_def {
	const char *name;	/* the long option without "--" */
	int has_arg;		/* 0: a flag (--post-norm, --no-bias, --untied) */
};

/* Every model option, in llm-train --help's order; name NULL ends it. */
extern const struct model_opt_def model_opt_defs[];

/* Set the option called name on c from value (ignored for a flag).  0; -1
 * with a message for a bad value; -2 for a name that is not a model
 * option. */
int model_opt_set(struct model_config *c, const char *name, const char *value,
		  struct llm_err *e);

#endif
