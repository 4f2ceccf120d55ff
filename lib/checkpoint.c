/* checkpoint.c - checkpoint files; see checkpoint.h. */
#include "checkpoint.h"
#include "buf.h"
#include "err.h"
#include "optim.h"
#include "output.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define FIXED_BYTES 24
#define ALIGN 64

static int little_endian(void)
{
	uint32_t one = 1;
	unsigned char b;
	memcpy(&b, &one, 1);
	return b == 1;
}

static json_t *section(uint64_t off, uint64_t bytes)
{
	return json_pack("{s:I,s:I}", "offset", (json_int_t)off, "bytes", (json_int_t)bytes);
}

/* The header JSON for sections starting at data_off. */
static json_t *header_json(const struct model *m, const struct ckpt_source *o,
			   const struct ckpt_train *t, uint64_t data_off)
{
	/* The whole model's tensors, whatever share of them this rank trains. */
	uint64_t pb = (uint64_t)model_count_params(&m->cfg) * sizeof(float);
	json_t *sec = json_object();
	json_object_set_new(sec, "params", section(data_off, pb));
	if (o) {
		json_object_set_new(sec, "adam_m", section(data_off + pb, pb));
		json_object_set_new(sec, "adam_v", section(data_off + 2 * pb, pb));
	}
	json_t *tensors = json_array();
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *mt = &m->ctensors[k];
		json_t *shape = json_array();
		for (int d = 0; d < mt->ndim; d++)
			json_array_append_new(shape, json_integer(mt->shape[d]));
		json_array_append_new(tensors, json_pack("{s:s,s:I,s:o}", "name", mt->name,
							 "offset", (json_int_t)mt->offset,
							 "shape", shape));
	}
	json_t *h = json_pack("{s:s,s:i,s:s,s:o,s:I,s:s,s:o,s:o}", "format",
			      "llmkit-checkpoint", "version", CKPT_VERSION,
			      "byte_order", "little", "config",
			      model_config_to_json(&m->cfg), "nparams",
			      (json_int_t)model_count_params(&m->cfg), "dtype", "float32", "sections",
			      sec, "tensors", tensors);
	if (o)
		json_object_set_new(h, "optimizer",
				    json_pack("{s:s,s:I}", "name", "adamw", "t", (json_int_t)o->adam_t));
	if (t) {
		/* A 64-bit seed does not fit every JSON reader's integers. */
		char seed[24];
		snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
		json_t *tr = json_pack("{s:I,s:I,s:I,s:s}", "step", (json_int_t)t->step,
				       "tokens", (json_int_t)t->tokens, "data_pos",
				       (json_int_t)t->data_pos, "seed", seed);
		if (t->options)
			json_object_set(tr, "options", t->options);
		json_object_set_new(h, "train", tr);
	}
	return h;
}

struct hashed {
	struct output *o;
	XXH3_state_t *st;
};

static int hwrite(struct hashed *h, const void *p, size_t n, struct llm_err *e)
{
	XXH3_64bits_update(h->st, p, n);
	return output_write(h->o, p, n, e);
}

int ckpt_save(const char *path, const struct model *m, const struct optim *o,
	      const struct ckpt_train *t, struct llm_err *e)
{
	struct ckpt_arrays a = {m->params, o ? o->m : NULL, o ? o->v : NULL,
				o ? o->t : 0};
	return ckpt_save_arrays(path, m, &a, t, e);
}

static const float *array_next(void *ctx, int which, struct llm_err *e)
{
	const struct ckpt_arrays *a = ctx;
	(void)e;
	return which == CKPT_PARAMS ? a->params : which == CKPT_ADAM_M ? a->adam_m : a->adam_v;
}

static void array_done(void *ctx, int which)
{
	(void)ctx, (void)which;
}

int ckpt_save_arrays(const char *path, const struct model *m,
		     const struct ckpt_arrays *a, const struct ckpt_train *t,
		     struct llm_err *e)
{
	struct ckpt_source s = {(void *)a, array_next, array_done, a->adam_m != NULL,
				a->adam_t};
	return ckpt_save_source(path, m, &s, t, e);
}

int ckpt_save_source(const char *path, const struct model *m,
		     const struct ckpt_source *src, const struct ckpt_train *t,
		     struct llm_err *e)
{
	const struct ckpt_source *o = src->has_optim ? src : NULL;
	if (!little_endian())
		return llm_err_set(e, "%s: checkpoints are little-endian; this machine is not", path);
	/* The header's length fixes where the data starts, and the data's
	 * offsets are in the header: size it once with room to spare. */
	json_t *h = header_json(m, o, t, 0);
	char *probe = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(h);
	size_t hlen = strlen(probe) + 64;
	free(probe);
	uint64_t data_off = (FIXED_BYTES + hlen + ALIGN - 1) / ALIGN * ALIGN;
	hlen = data_off - FIXED_BYTES;
	h = header_json(m, o, t, data_off);
	char *text = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(h);
	if (strlen(text) > hlen) {
		free(text);
		return llm_err_set(e, "%s: checkpoint header grew while writing", path);
	}

	struct hashed w = {output_open(path, 0, e), XXH3_createState()};
	if (!w.o) {
		free(text);
		XXH3_freeState(w.st);
		return -1;
	}
	XXH3_64bits_reset(w.st);
	unsigned char fixed[FIXED_BYTES] = {0};
	memcpy(fixed, CKPT_MAGIC, 8);
	le_put32(fixed + 8, CKPT_VERSION);
	le_put64(fixed + 16, hlen);
	char *hbuf = xmalloc(hlen);
	memset(hbuf, ' ', hlen);
	memcpy(hbuf, text, strlen(text));
	free(text);
	size_t pb = model_count_params(&m->cfg) * sizeof(float);
	int rc = hwrite(&w, fixed, sizeof fixed, e);
	if (rc == 0)
		rc = hwrite(&w, hbuf, hlen, e);
	for (int which = 0; rc == 0 && which < (o ? 3 : 1); which++) {
		const float *p = src->next(src->ctx, which, e);
		rc = p ? hwrite(&w, p, pb, e) : -1;
		if (p)
			src->done(src->ctx, which);
	}
	free(hbuf);
	if (rc == 0) {
		unsigned char sum[8];
		le_put64(sum, XXH3_64bits_digest(w.st));
		rc = output_write(w.o, sum, 8, e);
	}
	XXH3_freeState(w.st);
	if (rc == 0)
		return output_commit(w.o, e);
	output_abort(w.o);
	return -1;
}

struct ckpt {
	char *path;
	unsigned char *map;
	size_t size;
	json_t *header;
	struct model_config cfg;
	uint64_t nparams;
	uint64_t off[3];	/* params, adam_m, adam_v; 0 when absent */
	uint64_t adam_t;
	struct ckpt_train train;
};

void ckpt_close(struct ckpt *c)
{
	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->size);
	json_decref(c->header);
	free(c->path);
	free(c);
}

static int fail(struct ckpt *c, struct llm_err *e)
{
	llm_err_prefix(e, "%s", c->path);
	ckpt_close(c);
	return -1;
}

/* Read the header's sections and training state; sizes checked. */
static int parse_header(struct ckpt *c, struct llm_err *e)
{
	json_t *h = c->header;
	if (model_config_from_json(&c->cfg, json_object_get(h, "config"), e) < 0)
		return -1;
	c->nparams = (uint64_t)json_integer_value(json_object_get(h, "nparams"));
	if (c->nparams != model_count_params(&c->cfg))
		return llm_err_set(e, "header counts %llu parameters, its config %zu",
				   (unsigned long long)c->nparams, model_count_params(&c->cfg));
	const char *names[3] = {"params", "adam_m", "adam_v"};
	json_t *sec = json_object_get(h, "sections");
	uint64_t end = 0, pb = c->nparams * sizeof(float);
	for (int i = 0; i < 3; i++) {
		json_t *s = json_object_get(sec, names[i]);
		if (!s) {
			if (i == 0)
				return llm_err_set(e, "no params section");
			continue;
		}
		uint64_t off = (uint64_t)json_integer_value(json_object_get(s, "offset"));
		uint64_t bytes = (uint64_t)json_integer_value(json_object_get(s, "bytes"));
		if (bytes != pb || off % ALIGN || off < FIXED_BYTES)
			return llm_err_set(e, "bad %s section", names[i]);
		c->off[i] = off;
		if (off + bytes > end)
			end = off + bytes;
	}
	if ((c->off[1] == 0) != (c->off[2] == 0))
		return llm_err_set(e, "one AdamW moment without the other");
	uint64_t want = end + 8;
	if (c->size < want)
		return llm_err_set(e, "truncated: %zu bytes, the header needs %llu",
				   c->size, (unsigned long long)want);
	if (c->size > want)
		return llm_err_set(e, "%zu bytes, %llu more than the header accounts for",
				   c->size, (unsigned long long)(c->size - want));
	c->adam_t = (uint64_t)json_integer_value(
		json_object_get(json_object_get(h, "optimizer"), "t"));
	json_t *tr = json_object_get(h, "train");
	if (tr) {
		c->train.step = (uint64_t)json_integer_value(json_object_get(tr, "step"));
		c->train.tokens = (uint64_t)json_integer_value(json_object_get(tr, "tokens"));
		c->train.data_pos = (uint64_t)json_integer_value(json_object_get(tr, "data_pos"));
		const char *seed = json_string_value(json_object_get(tr, "seed"));
		c->train.seed = seed ? strtoull(seed, NULL, 10) : 0;
		c->train.options = json_object_get(tr, "options");
	}
	return 0;
}

struct ckpt *ckpt_open(const char *path, struct llm_err *e)
{
	struct ckpt *c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		llm_err_set(e, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fail(c, e);
		return NULL;
	}
	c->size = (size_t)st.st_size;
	if (c->size < FIXED_BYTES + 8) {
		close(fd);
		llm_err_set(e, "truncated: %zu bytes is too short for a checkpoint", c->size);
		fail(c, e);
		return NULL;
	}
	c->map = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		llm_err_set(e, "mmap: %s", strerror(errno));
		fail(c, e);
		return NULL;
	}
	if (memcmp(c->map, CKPT_MAGIC, 8) != 0) {
		llm_err_set(e, "not an llmkit checkpoint (bad magic)");
		fail(c, e);
		return NULL;
	}
	uint32_t version = le_get32(c->map + 8);
	if (version != CKPT_VERSION) {
		llm_err_set(e, "checkpoint format version %u; this llm-train reads version %d",
			    version, CKPT_VERSION);
		fail(c, e);
		return NULL;
	}
	uint64_t hlen = le_get64(c->map + 16);
	if (hlen > c->size - FIXED_BYTES - 8) {
		llm_err_set(e, "truncated: %zu bytes, the header alone needs %llu", c->size,
			    (unsigned long long)(FIXED_BYTES + hlen + 8));
		fail(c, e);
		return NULL;
	}
	json_error_t je;
	c->header = json_loadb((const char *)c->map + FIXED_BYTES, hlen, 0, &je);
	if (!c->header) {
		llm_err_set(e, "header: %s", je.text);
		fail(c, e);
		return NULL;
	}
	if (parse_header(c, e) < 0) {
		fail(c, e);
		return NULL;
	}
	uint64_t want = le_get64(c->map + c->size - 8);
	if (XXH3_64bits(c->map, c->size - 8) != want) {
		llm_err_set(e, "checksum mismatch: the file is corrupt");
		fail(c, e);
		return NULL;
	}
	return c;
}

const struct model_config *ckpt_config(const struct ckpt *c)
{
	return &c->cfg;
}

int ckpt_has_optim(const struct ckpt *c)
{
	return c->off[1] != 0;
}

void ckpt_train_state(const struct ckpt *c, struct ckpt_train *t)
{
	*t = c->train;
}

int ckpt_load_model(const struct ckpt *c, struct model *m, struct llm_err *e)
{
	char why[160];
	if (!model_config_same(&c->cfg, &m->cfg, why, sizeof why))
		return llm_err_set(e, "%s: a model of another shape (checkpoint vs this run: %s)",
				   c->path, why);
	memcpy(m->params, c->map + c->off[0], m->nparams * sizeof(float));
	return 0;
}

int ckpt_load_optim(const struct ckpt *c, struct optim *o, struct llm_err *e)
{
	if (!ckpt_has_optim(c))
		return llm_err_set(e, "%s: holds no optimizer state", c->path);
	if (o->n != c->nparams)
		return llm_err_set(e, "%s: optimizer state for %llu parameters, not %zu",
				   c->path, (unsigned long long)c->nparams, o->n);
	memcpy(o->m, c->map + c->off[1], o->n * sizeof(float));
	memcpy(o->v, c->map + c->off[2], o->n * sizeof(float));
	o->t = c->adam_t;
	return 0;
}

const float *ckpt_array(const struct ckpt *c, int which)
{
	if (which < 0 || which > 2 || (which > 0 && !ckpt_has_optim(c)))
		return NULL;
	/* Sections sit at 64-byte-aligned offsets of a page-aligned map. */
	return (const float *)(const void *)(c->map + c->off[which]);
}

uint64_t ckpt_adam_t(const struct ckpt *c)
{
	return ckpt_has_optim(c) ? c->adam_t : 0;
}
