/*
 * test_model_opts.c - model options by name: values land in their fields,
 * --dropout sets all three rates, flags ignore their value, and bad
 * values are refused with llm-train's messages (the option, the text, the
 * range or the kinds there are).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "model.h"
#include "model_opts.h"

static void test_values(void **state)
{
	(void)state;
	struct model_config c;
	struct llm_err e;
	model_config_default(&c);
	assert_int_equal(model_opt_set(&c, "layers", "3", &e), 0);
	assert_int_equal(model_opt_set(&c, "padded-vocab", "384", &e), 0);
	assert_int_equal(model_opt_set(&c, "dropout", "0.25", &e), 0);
	assert_int_equal(model_opt_set(&c, "dropout-attention", "0.5", &e), 0);
	assert_int_equal(model_opt_set(&c, "post-norm", NULL, &e), 0);
	assert_int_equal(model_opt_set(&c, "no-bias", NULL, &e), 0);
	assert_int_equal(model_opt_set(&c, "untied", NULL, &e), 0);
	assert_int_equal(model_opt_set(&c, "positions", "rope", &e), 0);
	assert_int_equal(model_opt_set(&c, "norm-eps", "1e-6", &e), 0);
	assert_int_equal(c.layers, 3);
	assert_int_equal(c.padded_vocab, 384);
	assert_true(c.dropout_emb == 0.25f && c.dropout_resid == 0.25f);
	assert_true(c.dropout_attn == 0.5f);
	assert_true(c.post_norm == 1 && c.bias == 0 && c.tied == 0);
	assert_int_equal(c.pos, POS_ROPE);
	assert_true(c.norm_eps == 1e-6f);
	/* every listed name is known */
	for (int i = 0; model_opt_defs[i].name; i++)
		assert_int_not_equal(model_opt_set(&c, model_opt_defs[i].name,
						   model_opt_defs[i].has_arg ? "x" : NULL, &e), -2);
}

static void test_refusals(void **state)
{
	(void)state;
	struct model_config c;
	struct llm_err e;
	model_config_default(&c);
	assert_int_equal(model_opt_set(&c, "layers", "0", &e), -1);
	assert_string_equal(e.msg, "--layers: '0' is not a whole number from 1 to 10000");
	assert_int_equal(model_opt_set(&c, "width", "32x", &e), -1);
	assert_int_equal(model_opt_set(&c, "dropout", "1", &e), -1);
	assert_string_equal(e.msg, "--dropout: '1' is not a number from 0 to 0.99");
	assert_int_equal(model_opt_set(&c, "rope-theta", "nan", &e), -1);
	assert_int_equal(model_opt_set(&c, "norm", "batchnorm", &e), -1);
	assert_string_equal(e.msg, "--norm: 'batchnorm' is not layernorm or rmsnorm");
	assert_int_equal(model_opt_set(&c, "batch", "4", &e), -2);
	/* nothing was changed by a refusal */
	struct model_config d;
	model_config_default(&d);
	assert_memory_equal(&c, &d, sizeof c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests_name("model_opts", tests, NULL, NULL);
}
