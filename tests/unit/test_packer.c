/* test_packer.c - shard cutting, the shuffle window, and whole runs:
 * mixture bookkeeping, the split, append, failure, verify and cat. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "mix.h"
#include "output.h"
#include "packer.h"
#include "shard.h"
#include "tokstream.h"

static char root[] = "/tmp/llm-test-packer-XXXXXX";

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 17;
}

static char *path_of(const char *a, const char *b)
{
	struct buf p = {0};
	buf_printf(&p, "%s/%s", a, b);
	return p.p;
}

/* A fresh empty folder under root. */
static char *fresh_dir(const char *name)
{
	char *d = path_of(root, name);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	return d;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = {0};
	char block[65536];
	size_t r;
	while ((r = fread(block, 1, sizeof block, f)) > 0)
		buf_append(&b, block, r);
	fclose(f);
	*n = b.len;
	return b.p ? b.p : xstrdup("");
}

/* Random documents of ids in [base, base + 100), sizes 0 .. maxlen - 1,
 * written as a token stream (vocabulary 1000, end-of-text 999). */
static char *make_stream(const char *name, uint64_t seed, int ndocs,
			 uint32_t base, unsigned maxlen)
{
	struct llm_err e;
	char *path = path_of(root, name);
	struct output *o = output_open(path, 0, &e);
	assert_non_null(o);
	struct tok_header h = {2, 1000, 999};
	assert_int_equal(tok_write_header(o, &h, &e), 0);
	uint32_t *ids = malloc(maxlen * sizeof *ids);
	for (int d = 0; d < ndocs; d++) {
		size_t n = (size_t)(lcg(&seed) % maxlen);
		for (size_t i = 0; i < n; i++)
			ids[i] = base + (uint32_t)(lcg(&seed) % 100);
		assert_int_equal(tok_write_doc(o, &h, ids, n, &e), 0);
	}
	free(ids);
	assert_int_equal(output_commit(o, &e), 0);
	return path;
}

/* All tokens of a split, in order. */
static uint32_t *read_split(const char *dir, const char *split, uint64_t *n)
{
	struct llm_err e;
	struct shard_set *s = shard_set_open(dir, split, &e);
	if (!s) {
		*n = 0;
		return NULL;
	}
	*n = shard_set_ntokens(s);
	uint32_t *t = malloc(*n * sizeof *t);
	assert_int_equal(shard_set_read(s, 0, t, (size_t)*n, &e), 0);
	shard_set_close(s);
	return t;
}

static void test_names(void **state)
{
	(void)state;
	char *n = pack_shard_name("train", 42);
	assert_string_equal(n, "train_000042.bin");
	free(n);
	unsigned i;
	assert_int_equal(pack_shard_index("val_000001.bin", "val", &i), 1);
	assert_int_equal(i, 1);
	assert_int_equal(pack_shard_index("train_1234567.bin", "train", &i), 1);
	assert_int_equal(i, 1234567);
	const char *no[] = {"train_12.bin", "train_000001.bin.tmp", "xtrain_000001.bin",
			    "train-000001.bin", "train_00000a.bin", "val_000001.bin"};
	for (size_t k = 0; k < sizeof no / sizeof *no; k++)
		assert_int_equal(pack_shard_index(no[k], "train", &i), 0);
}

static struct packer *small_packer(const char *dir, const char *split,
				   uint64_t shard_tokens, size_t window,
				   uint64_t seed)
{
	static const char *names[] = {"a", "b"};
	mkdir(dir, 0777);
	struct packer_opts o = {
		.dir = dir, .split = split, .first_index = 3, .width = 2,
		.eot = 999, .shard_tokens = shard_tokens, .window = window,
		.seed = seed, .nsources = 2, .source_names = names,
	};
	return packer_open(&o);
}

/* Whole documents per shard, a shard closed before one that does not
 * fit, a document longer than a shard cut across shards. */
static void test_cutting(void **state)
{
	(void)state;
	char *dir = fresh_dir("cut");
	struct llm_err e;
	struct packer *p = small_packer(dir, "train", 100, 0, 0);
	size_t sizes[] = {10, 50, 39, 250, 0, 98, 99};
	uint32_t ids[300], want[1000];
	size_t nwant = 0;
	for (size_t d = 0; d < sizeof sizes / sizeof *sizes; d++) {
		for (size_t i = 0; i < sizes[d]; i++)
			ids[i] = (uint32_t)(d * 100 + i % 90);
		want[nwant++] = 999;
		memcpy(want + nwant, ids, sizes[d] * sizeof *ids);
		nwant += sizes[d];
		assert_int_equal(packer_add(p, d % 2, ids, sizes[d], &e), 0);
	}
	assert_int_equal(packer_finish(p, &e), 0);
	/* 11+51 | 40 | 100 | 100 | 51+1 (the 250-id document cut in three) |
	 * 99 | 100 */
	uint64_t tokens[] = {62, 40, 100, 100, 52, 99, 100};
	uint64_t docs[] = {2, 1, 1, 0, 1, 1, 1};
	assert_int_equal(packer_nshards(p), 7);
	struct manifest m = {.vocab = 1000, .eot = 999, .width = 2};
	for (size_t i = 0; i < 7; i++) {
		const struct shard_entry *s = packer_shard(p, i);
		char *name = pack_shard_name("train", (unsigned)(3 + i));
		assert_string_equal(s->file, name);
		free(name);
		assert_int_equal(s->tokens, tokens[i]);
		assert_int_equal(s->documents, docs[i]);
		struct shard_entry *d = manifest_add(&m, s->file, s->split);
		d->tokens = s->tokens;
		d->documents = s->documents;
		memcpy(d->xxh3, s->xxh3, 33);
		/* What shard_file_check reads agrees with the packer. */
		assert_int_equal(shard_file_check(dir, &m, d, NULL, NULL, &e), 0);
	}
	/* Sources: docs 0, 2, 4, 6 are source a. */
	const struct shard_entry *s0 = packer_shard(p, 0);
	assert_int_equal(json_integer_value(json_object_get(s0->sources, "a")), 11);
	assert_int_equal(json_integer_value(json_object_get(s0->sources, "b")), 51);
	assert_int_equal(packer_documents(p, 0), 4);
	assert_int_equal(packer_tokens(p, 1), 51 + 251 + 99);
	assert_int_equal(manifest_save(dir, &m, &e), 0);
	manifest_free(&m);
	uint64_t n;
	uint32_t *got = read_split(dir, "train", &n);
	assert_int_equal(n, nwant);
	assert_memory_equal(got, want, nwant * sizeof *want);
	free(got);
	packer_free(p);
	free(dir);
}

/* Output order of documents 0..n-1 through a window, as document ids. */
static void shuffled(const char *name, size_t window, uint64_t seed,
		     uint32_t *order, size_t n)
{
	char *dir = fresh_dir(name);
	struct llm_err e;
	struct packer *p = small_packer(dir, "val", 1 << 20, window, seed);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(packer_add(p, 0, &i, 1, &e), 0);
	assert_int_equal(packer_finish(p, &e), 0);
	assert_int_equal(packer_nshards(p), 1);
	char *f = path_of(dir, packer_shard(p, 0)->file);
	size_t len;
	unsigned char *b = (unsigned char *)slurp(f, &len);
	assert_int_equal(len, SHARD_HEADER_BYTES + 4 * n);
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)(b[SHARD_HEADER_BYTES + 4 * i + 2] |
				      b[SHARD_HEADER_BYTES + 4 * i + 3] << 8);
	free(b);
	free(f);
	packer_free(p);
	free(dir);
}

static void test_shuffle(void **state)
{
	(void)state;
	enum { N = 500, W = 50 };
	uint32_t a[N], b[N], c[N], id[N];
	shuffled("w1", W, 3, a, N);
	shuffled("w2", W, 3, b, N);
	shuffled("w3", W, 4, c, N);
	shuffled("w0", 0, 3, id, N);
	assert_memory_equal(a, b, sizeof a);		/* reproducible */
	assert_true(memcmp(a, c, sizeof a) != 0);	/* seeded */
	int seen[N] = {0}, moved = 0;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(id[i], i);		/* no window: order kept */
		assert_true(a[i] < N && !seen[a[i]]);	/* a permutation */
		seen[a[i]] = 1;
		/* A document goes out only after it came in: at most W
		 * places early. */
		assert_true(a[i] <= i + W);
		moved += a[i] != i;
	}
	assert_true(moved > N / 2);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void test_discard(void **state)
{
	(void)state;
	char *dir = fresh_dir("discard");
	struct llm_err e;
	struct packer *p = small_packer(dir, "train", 10, 0, 0);
	uint32_t ids[7] = {1, 2, 3, 4, 5, 6, 7};
	for (int i = 0; i < 5; i++)
		assert_int_equal(packer_add(p, 0, ids, 7, &e), 0);
	assert_true(count_files(dir) >= 4);	/* shards and one temporary */
	packer_discard(p);
	assert_int_equal(count_files(dir), 0);
	packer_free(p);
	free(dir);
}

static struct pack_config config(const char *dir, struct pack_source *src,
				 size_t n, const struct mix_spec *mix)
{
	struct pack_config c = {
		.dir = dir, .sources = src, .nsources = n, .mix = mix,
		.shard_tokens = 5000, .val = PACK_VAL_TOKENS, .val_tokens = 3000,
		.shuffle_window = 64, .seed = 11,
	};
	return c;
}

/* A mixed run: the manifest's counts add up, the tokens taken follow
 * the plan, every document sits on the side of the split its key says. */
static void test_run_mix(void **state)
{
	(void)state;
	char *fa = make_stream("a.tok", 1, 40, 0, 60);	/* small: repeated */
	char *fb = make_stream("b.tok", 2, 900, 100, 80);
	char *fc = make_stream("c.tok", 3, 700, 200, 90);
	const char *files[3] = {fa, fb, fc};
	struct pack_source src[3] = {{"a", &files[0], 1}, {"b", &files[1], 1},
				     {"c", &files[2], 1}};
	struct mix_spec mix;
	struct llm_err e;
	assert_int_equal(mix_spec_parse("a=0.2,b=0.5,c=0.3", &mix, &e), 0);
	char *dir = fresh_dir("mix");
	struct pack_config c = config(dir, src, 3, &mix);
	struct pack_report r;
	assert_int_equal(pack_run(&c, &r, &e), 0);
	assert_int_equal(r.passes, 2);
	json_t *srcs = json_object_get(r.run, "sources");
	uint64_t taken = 0;
	const char *name;
	json_t *v;
	json_object_foreach(srcs, name, v) {
		int k = name[0] - 'a';
		double share = json_real_value(json_object_get(v, "share"));
		double epochs = json_real_value(json_object_get(v, "epochs"));
		uint64_t avail = (uint64_t)json_integer_value(json_object_get(v, "tokens_available"));
		taken += (uint64_t)json_integer_value(json_object_get(v, "tokens_taken"));
		/* Within a few documents (of at most 90 tokens) of the plan. */
		assert_true(fabs(share - mix.shares[k]) < 0.01);
		assert_true(fabs(epochs * (double)avail - mix.shares[k] * (double)r.tokens_in) < 400);
	}
	assert_true(json_real_value(json_object_get(json_object_get(srcs, "a"), "epochs")) > 3);
	assert_int_equal(taken, r.tokens_out);
	/* Validation: about 3000 tokens, each source its share. */
	uint64_t nval, ntrain;
	uint32_t *val = read_split(dir, "val", &nval);
	uint32_t *train = read_split(dir, "train", &ntrain);
	assert_true(nval > 2500 && nval < 3500);
	assert_int_equal(nval + ntrain, r.tokens_out);
	/* Each document's split is its key's: below its source's cut in val,
	 * above it in train.  Documents are told apart by their id range. */
	for (int k = 0; k < 2; k++) {
		uint32_t *t = k ? val : train;
		uint64_t n = k ? nval : ntrain;
		for (uint64_t i = 0; i < n;) {
			uint64_t j = i + 1;
			while (j < n && t[j] != 999)
				j++;
			uint64_t u, s;
			mix_doc_keys(t + i + 1, (size_t)(j - i - 1), 11, &u, &s);
			if (j > i + 1) {
				char nm[2] = {(char)('a' + t[i + 1] / 100), 0};
				json_t *x = json_object_get(srcs, nm);
				double cut = json_real_value(json_object_get(x, "val_cut"));
				int in_val = mix_bucket(u) < cut * MIX_CUT_BUCKETS;
				assert_int_equal(in_val, k);
			}
			i = j;
		}
	}
	free(val);
	free(train);
	json_decref(r.run);
	mix_spec_free(&mix);
	free(dir);
	free(fa);
	free(fb);
	free(fc);
}

static int same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	int same = x && y && na == nb && memcmp(x, y, na) == 0;
	free(x);
	free(y);
	return same;
}

/* Two folders built with the same inputs and seed are the same bytes,
 * after a first run and after an append; an append leaves the old
 * shards alone and continues the numbering. */
static void test_append_deterministic(void **state)
{
	(void)state;
	char *f1 = make_stream("p.tok", 5, 300, 0, 100);
	char *f2 = make_stream("q.tok", 6, 200, 100, 100);
	const char *one[1] = {f1}, *two[1] = {f2};
	struct pack_source s1 = {"default", one, 1}, s2 = {"default", two, 1};
	char *d[2] = {fresh_dir("det1"), fresh_dir("det2")};
	struct llm_err e;
	struct pack_report r;
	for (int k = 0; k < 2; k++) {
		struct pack_config c = config(d[k], &s1, 1, NULL);
		assert_int_equal(pack_run(&c, &r, &e), 0);
		json_decref(r.run);
	}
	char *m0 = path_of(d[0], "manifest.json"), *m1 = path_of(d[1], "manifest.json");
	char *t0 = path_of(d[0], "train_000000.bin");
	size_t n0;
	char *before = slurp(t0, &n0);
	assert_true(same_file(m0, m1));
	struct manifest m;
	assert_int_equal(manifest_load(d[0], &m, &e), 0);
	size_t shards1 = m.n;
	manifest_free(&m);
	/* Without --append an existing folder is refused. */
	struct pack_config c = config(d[0], &s2, 1, NULL);
	assert_int_equal(pack_run(&c, &r, &e), -1);
	assert_non_null(strstr(e.msg, "--append"));
	for (int k = 0; k < 2; k++) {
		c = config(d[k], &s2, 1, NULL);
		c.append = 1;
		assert_int_equal(pack_run(&c, &r, &e), 0);
		json_decref(r.run);
	}
	assert_true(same_file(m0, m1));
	assert_int_equal(manifest_load(d[0], &m, &e), 0);
	assert_true(m.n > shards1);
	for (size_t i = 0; i < m.n; i++) {
		char *a = path_of(d[0], m.shards[i].file), *b = path_of(d[1], m.shards[i].file);
		assert_true(same_file(a, b));
		free(a);
		free(b);
	}
	/* The new train shards continue after the old ones. */
	unsigned idx, max_old = 0;
	for (size_t i = 0; i < shards1; i++)
		if (pack_shard_index(m.shards[i].file, "train", &idx) && idx > max_old)
			max_old = idx;
	assert_int_equal(pack_shard_index(m.shards[shards1].file, "train", &idx), 1);
	assert_int_equal(idx, max_old + 1);
	assert_int_equal(json_array_size(json_object_get(m.extra, "runs")), 2);
	manifest_free(&m);
	size_t n1;
	char *after = slurp(t0, &n1);
	assert_true(n0 == n1 && memcmp(before, after, n0) == 0);
	free(before);
	free(after);
	free(m0);
	free(m1);
	free(t0);
	free(d[0]);
	free(d[1]);
	free(f1);
	free(f2);
}

/* A run that fails half way leaves the folder as it was. */
static void test_failure_keeps_state(void **state)
{
	(void)state;
	char *good = make_stream("g.tok", 7, 300, 0, 100);
	char *cut = make_stream("cut.tok", 8, 300, 0, 100);
	size_t n;
	char *bytes = slurp(cut, &n);
	FILE *f = fopen(cut, "wb");
	fwrite(bytes, 1, n - 1, f);	/* ends inside a token */
	fclose(f);
	free(bytes);
	const char *files[2] = {good, cut};
	struct pack_source s = {"default", files, 1};
	char *dir = fresh_dir("fail");
	struct llm_err e;
	struct pack_report r;
	struct pack_config c = config(dir, &s, 1, NULL);
	c.shard_tokens = 500;
	assert_int_equal(pack_run(&c, &r, &e), 0);
	json_decref(r.run);
	char *mpath = path_of(dir, "manifest.json");
	size_t mlen;
	char *mbefore = slurp(mpath, &mlen);
	int nfiles = count_files(dir);
	/* One pass (one source, taken once): shards are written before the
	 * bad end is found, and must all go again. */
	s.nfiles = 2;
	c.append = 1;
	c.val = PACK_VAL_FRACTION;
	c.val_fraction = 0.1;
	assert_int_equal(pack_run(&c, &r, &e), -1);
	assert_non_null(strstr(e.msg, "cut.tok: byte"));
	assert_non_null(strstr(e.msg, "ends inside a token"));
	assert_int_equal(r.passes, 1);
	assert_int_equal(count_files(dir), nfiles);
	size_t mlen2;
	char *mafter = slurp(mpath, &mlen2);
	assert_true(mlen == mlen2 && memcmp(mbefore, mafter, mlen) == 0);
	free(mbefore);
	free(mafter);
	free(mpath);
	free(dir);
	free(good);
	free(cut);
}

struct said {
	int bad, notes;
	char first[1024];
};

static void say(void *ctx, int bad, const char *msg)
{
	struct said *s = ctx;
	if (bad && s->bad++ == 0)
		snprintf(s->first, sizeof s->first, "%s", msg);
	s->notes += !bad;
}

static void test_verify_and_cat(void **state)
{
	(void)state;
	char *in = make_stream("v.tok", 9, 400, 0, 100);
	const char *files[1] = {in};
	struct pack_source s = {"default", files, 1};
	char *dir = fresh_dir("verify");
	struct llm_err e;
	struct pack_report r;
	struct pack_config c = config(dir, &s, 1, NULL);
	c.val = PACK_VAL_NONE;
	c.shuffle_window = 0;
	assert_int_equal(pack_run(&c, &r, &e), 0);
	json_decref(r.run);
	struct pack_check chk;
	struct said said = {0};
	assert_int_equal(pack_verify(dir, &chk, say, &said, &e), 0);
	assert_int_equal(chk.bad, 0);
	assert_int_equal(said.notes, 0);
	assert_int_equal(chk.tokens, r.tokens_out);

	/* cat gives back the input stream, byte for byte. */
	char *out = path_of(root, "cat.tok");
	struct output *o = output_open(out, 0, &e);
	uint64_t ntok;
	assert_int_equal(pack_cat(dir, NULL, o, &ntok, &e), 0);
	assert_int_equal(output_commit(o, &e), 0);
	assert_true(same_file(in, out));
	assert_int_equal(ntok, r.tokens_out);

	/* One flipped bit in the second shard's tokens. */
	char *victim = path_of(dir, "train_000001.bin");
	FILE *f = fopen(victim, "r+b");
	fseek(f, SHARD_HEADER_BYTES + 101, SEEK_SET);
	int ch = fgetc(f);
	fseek(f, SHARD_HEADER_BYTES + 101, SEEK_SET);
	fputc(ch ^ 1, f);
	fclose(f);
	memset(&said, 0, sizeof said);
	assert_int_equal(pack_verify(dir, &chk, say, &said, &e), 0);
	assert_int_equal(chk.bad, 1);
	assert_non_null(strstr(said.first, "train_000001.bin: xxh3"));
	/* cat refuses it too. */
	o = output_open(out, 0, &e);
	assert_int_equal(pack_cat(dir, NULL, o, &ntok, &e), -1);
	output_abort(o);
	assert_non_null(strstr(e.msg, "train_000001.bin"));
	/* A stray shard file is a note, not an error. */
	char *stray = path_of(dir, "train_000099.bin");
	f = fopen(stray, "wb");
	fclose(f);
	memset(&said, 0, sizeof said);
	assert_int_equal(pack_verify(dir, &chk, say, &said, &e), 0);
	assert_int_equal(said.notes, 1);
	free(stray);
	free(victim);
	free(out);
	free(dir);
	free(in);
}

/* Write raw ids (end-of-text included) as a 2-byte stream. */
static char *raw_stream(const char *name, uint32_t vocab, uint32_t eot,
			const uint32_t *ids, size_t n)
{
	struct llm_err e;
	char *path = path_of(root, name);
	struct output *o = output_open(path, 0, &e);
	struct tok_header h = {2, vocab, eot};
	assert_int_equal(tok_write_header(o, &h, &e), 0);
	unsigned char b[2];
	for (size_t i = 0; i < n; i++) {
		b[0] = (unsigned char)ids[i];
		b[1] = (unsigned char)(ids[i] >> 8);
		assert_int_equal(output_write(o, b, 2, &e), 0);
	}
	assert_int_equal(output_commit(o, &e), 0);
	return path;
}

/* The token reader's block-at-a-time path (lib/tokstream.c) against the
 * stream it reads: end-of-text and bad ids at every offset within a block,
 * and ids above end-of-text that are still in the vocabulary. */
static void test_reader_blocks(void **state)
{
	(void)state;
	enum { N = 5000 };
	static uint32_t ids[N];
	uint64_t seed = 42;
	struct llm_err e;
	struct tok_reader *r;
	const uint32_t *d;
	size_t n;
	char *p;
	/* Vocabulary 1000, end-of-text 500 in the middle, then 999 last (as
	 * GPT-2's), at random places in blocks of ordinary ids. */
	uint32_t eots[2] = {500, 999};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < N; i++)
			ids[i] = (uint32_t)(lcg(&seed) % 1004);
		for (size_t i = 0; i < N; i++)
			ids[i] = ids[i] >= 1000 ? eots[k] : ids[i];
		ids[0] = eots[k];
		p = raw_stream("blocks.tok", 1000, eots[k], ids, N);
		r = tok_open(p, &e);
		assert_non_null(r);
		size_t at = 1, docs = 0;
		while (tok_next_doc(r, &d, &n, &e) == 1) {
			assert_memory_equal(d, ids + at, n * sizeof *d);
			at += n + 1;
			docs++;
		}
		assert_int_equal(at, N + 1);
		assert_true(docs > 5);
		tok_close(r);
		free(p);
	}
	/* A bad id at each offset of a block, after a long clean run. */
	for (size_t bad = 3000; bad < 3000 + 70; bad += 7) {
		for (size_t i = 0; i < N; i++)
			ids[i] = (uint32_t)(lcg(&seed) % 999);
		ids[0] = 999;
		ids[bad] = 1000;
		p = raw_stream("bad.tok", 1000, 999, ids, N);
		r = tok_open(p, &e);
		while (tok_next_doc(r, &d, &n, &e) == 1)
			;
		char want[64];
		snprintf(want, sizeof want, "byte %zu: token id 1000", 16 + 2 * bad);
		assert_non_null(strstr(e.msg, want));
		tok_close(r);
		free(p);
	}
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cutting),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_run_mix),
		cmocka_unit_test(test_append_deterministic),
		cmocka_unit_test(test_failure_keeps_state),
		cmocka_unit_test(test_verify_and_cat),
		cmocka_unit_test(test_reader_blocks),
	};
	int r = cmocka_run_group_tests_name("packer", tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return r;
}
