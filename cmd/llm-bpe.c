/*
 * llm-bpe - train, encode with, decode with and convert a byte-level BPE
 * tokenizer.  The work is in lib/: pretok (pre-tokenization), bpe (model,
 * encoder, decoder), bpe_train (training), bpe_io (file formats), bpe_loop
 * (parallel ordered input); this file parses options and wires them up.
 */
#include "bpe.h"
#include "bpe_io.h"
#include "bpe_loop.h"
#include "bpe_train.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "input.h"
#include "jscan.h"
#include "output.h"
#include "pretok.h"
#include "tokstream.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: llm-bpe train --vocab-size N [--special TOKEN]... [--pattern P] [--text]\n"
	"                     -o MODEL [FILE ...]\n"
	"       llm-bpe encode -m MODEL [--text] [--format stream|ids]\n"
	"                      [--allow-special[=TOKEN]]... [FILE ...]\n"
	"       llm-bpe decode -m MODEL [--format stream|ids] [--text] [FILE ...]\n"
	"       llm-bpe export -m MODEL --to bpe|gpt2|tiktoken|hf -o PATH\n"
	"       llm-bpe info -m MODEL\n"
	"Byte-level BPE tokenizer, exact with GPT-2's, tiktoken's and Hugging Face's files.\n"
	"  -m, --model PATH     llm-bpe model, GPT-2 folder or files (give -m twice),\n"
	"                       .tiktoken ranks, or Hugging Face tokenizer.json\n"
	"  --text               raw text in (encode, train) or out (decode); each input\n"
	"                       file is one document; default: JSONL documents\n"
	"  --format stream|ids  token stream (default) or ids as text, one document\n"
	"                       a line (encode writes it, decode reads it)\n"
	"  --allow-special[=TOKEN]  recognise special tokens in the text (all, or\n"
	"                       TOKEN); otherwise they are encoded as plain text\n"
	"  --vocab-size N       train: tokens in all (special + 256 bytes + merges)\n"
	"  --special TOKEN      train: a special token (ids 0.. in the order given)\n"
	"  --pattern P          train: gpt2 (default), cl100k, o200k or a PCRE2 regex\n"
	"  --to FORMAT          export: bpe (llm-bpe's own), gpt2 (folder with\n"
	"                       encoder.json, vocab.bpe), tiktoken (PATH and PATH.json),\n"
	"                       hf (tokenizer.json)\n"
	"  -o, --output FILE, -j, --threads N, --stats FILE, --progress,\n"
	"  --on-error=fail|skip, --zstd\n"
	"  -h, --help, -V, --version\n";

enum cmd { TRAIN, ENCODE, DECODE, EXPORT, INFO };

struct opts {
	enum cmd cmd;
	const char *model[2];
	int nmodel;
	int text;		/* --text */
	int ids;		/* --format ids */
	int allow_all;
	const char **allow;	/* --allow-special=TOKEN */
	int nallow;
	long vocab_size;
	const char **specials;	/* --special */
	int nspecials;
	const char *pattern;
	const char *to;
};

/* ---- encode ---- */

struct encoder {
	struct cli *c;
	const struct bpe *m;
	struct bpe_enc **enc;	/* one per worker */
	unsigned char *allow;	/* per special, or NULL */
	int cut_ok;		/* raw text may be cut into chunks */
	struct output *out;
	struct tok_header h;
	int ids;		/* --format ids */
	int line_has_ids;
	uint64_t tokens;
	struct buf line;
};

static void encode_work(void *ctx, int worker, const char *text, size_t n,
			struct bpe_ids *out)
{
	struct encoder *x = ctx;
	bpe_encode(x->enc[worker], text, n, x->allow, out);
}

static size_t encode_cut(void *ctx, const char *text, size_t n)
{
	struct encoder *x = ctx;
	return x->cut_ok ? pretok_cut(x->m->pre, text, n) : 0;
}

static int encode_emit(void *ctx, const struct bpe_unit *u, const uint32_t *ids,
		       size_t n, struct llm_err *e)
{
	struct encoder *x = ctx;
	x->tokens += n;
	if (u->doc_end)
		cli_count(x->c, "documents_out", 1);
	if (!x->ids)
		return u->doc_start ? tok_write_doc(x->out, &x->h, ids, n, e)
				    : tok_write_more(x->out, &x->h, ids, n, e);
	struct buf *b = &x->line;
	buf_clear(b);
	if (u->doc_start)
		x->line_has_ids = 0;
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, x->line_has_ids ? " %u" : "%u", ids[i]);
		x->line_has_ids = 1;
	}
	if (u->doc_end)
		buf_putc(b, '\n');
	return output_write(x->out, b->p, b->len, e);
}

/* Which special tokens --allow-special lets through, or NULL for none. */
static unsigned char *allowed(struct cli *c, const struct bpe *m,
			      const struct opts *o)
{
	if (!o->allow_all && !o->nallow)
		return NULL;
	unsigned char *a = xcalloc(m->nspecials + 1, 1);
	for (uint32_t i = 0; i < m->nspecials; i++)
		a[i] = (unsigned char)o->allow_all;
	for (int k = 0; k < o->nallow; k++) {
		uint32_t id = bpe_special_id(m, o->allow[k], strlen(o->allow[k]));
		if (id == BPE_NONE)
			cli_usage_error(c, "--allow-special: '%s' is not a special token of this model", o->allow[k]);
		for (uint32_t i = 0; i < m->nspecials; i++)
			if (m->specials[i] == id)
				a[i] = 1;
	}
	return a;
}

/* Raw text is cut into chunks only where no allowed special could span
 * the cut (a special holding a newline). */
static int specials_cuttable(const struct bpe *m, const unsigned char *allow)
{
	for (uint32_t i = 0; allow && i < m->nspecials; i++) {
		uint32_t id = m->specials[i];
		if (allow[i] && memchr(m->blob.p + m->off[id], '\n', m->len[id]))
			return 0;
	}
	return 1;
}

static int run_encode(struct cli *c, const struct opts *o, struct bpe *m,
		      char **inputs, int ninputs, struct llm_err *e)
{
	struct encoder x = {0};
	x.c = c;
	x.m = m;
	x.ids = o->ids;
	x.allow = allowed(c, m, o);
	x.cut_ok = specials_cuttable(m, x.allow);
	if (!x.ids) {
		if (m->eot == BPE_NONE)
			cli_fatal(c, "%s: the model has no special token to use as end-of-text; use --format ids, or give one (train --special, or FILE.json beside a .tiktoken file)",
				  o->model[0]);
		x.h = (struct tok_header){tok_width_for(m->nids), m->nids, m->eot};
	}
	int workers = c->threads > 1 ? c->threads : 1;
	x.enc = xcalloc((size_t)workers, sizeof *x.enc);
	for (int i = 0; i < workers; i++)
		x.enc[i] = bpe_enc_new(m);
	int rc = 0;
	x.out = output_open(c->output, c->zstd, e);
	if (!x.out)
		rc = -1;
	else if (!x.ids && tok_write_header(x.out, &x.h, e) < 0)
		rc = -1;
	if (rc == 0) {
		struct bpe_loop l = {o->text, &x, encode_cut, encode_work, encode_emit};
		rc = bpe_loop_run(c, &l, inputs, ninputs, e);
	}
	if (rc == 0)
		rc = output_commit(x.out, e);
	else if (x.out)
		output_abort(x.out);
	cli_count(c, "tokens_out", (int64_t)x.tokens);
	for (int i = 0; i < workers; i++)
		bpe_enc_free(x.enc[i]);
	free(x.enc);
	free(x.allow);
	buf_free(&x.line);
	return rc;
}

/* ---- decode ---- */

struct decoder {
	struct cli *c;
	const struct bpe *m;
	struct output *out;
	int text;
	uint64_t docs, replaced;
	struct buf bytes, line, clean;
};

/* Write one document's text: raw bytes, or a JSONL document. */
static int decode_doc(struct decoder *d, const uint32_t *ids, size_t n,
		      const char *where, struct llm_err *e)
{
	buf_clear(&d->bytes);
	if (bpe_decode(d->m, ids, n, &d->bytes, e) < 0) {
		llm_err_prefix(e, "%s", where);
		return -1;
	}
	d->docs++;
	cli_count(d->c, "documents_out", 1);
	if (d->text)
		return output_write(d->out, d->bytes.p, d->bytes.len, e);
	/* JSON needs valid UTF-8: a stray cut through a character (possible
	 * only in a stream made elsewhere) becomes U+FFFD, and is counted. */
	const char *t = d->bytes.p ? d->bytes.p : "";
	size_t tn = d->bytes.len;
	if (utf8_check(t, tn) != tn) {
		buf_clear(&d->clean);
		d->replaced += utf8_sanitize(&d->clean, t, tn);
		t = d->clean.p;
		tn = d->clean.len;
	}
	buf_clear(&d->line);
	buf_printf(&d->line, "{\"id\":\"%llu\",\"text\":", (unsigned long long)d->docs);
	jstr_encode(&d->line, t, tn);
	buf_puts(&d->line, "}\n");
	return output_write(d->out, d->line.p, d->line.len, e);
}

static int decode_stream(struct decoder *d, const char *path, struct llm_err *e)
{
	struct tok_reader *r = tok_open(path, e);
	if (!r)
		return -1;
	const struct tok_header *h = tok_reader_header(r);
	int rc = 0;
	if (h->vocab > d->m->nids || h->eot != d->m->eot)
		rc = llm_err_set(e, "%s: the stream was made with another vocabulary (%u ids, end-of-text %u; this model: %u ids, end-of-text %u)",
				 tok_reader_name(r), h->vocab, h->eot, d->m->nids, d->m->eot);
	const uint32_t *ids;
	size_t n;
	int got;
	while (rc == 0 && (got = tok_next_doc(r, &ids, &n, e)) != 0) {
		if (got < 0) {
			rc = -1;
			break;
		}
		char where[64];
		snprintf(where, sizeof where, "%s: document %llu", tok_reader_name(r),
			 (unsigned long long)d->docs + 1);
		rc = decode_doc(d, ids, n, where, e);
	}
	tok_close(r);
	return rc;
}

/* Ids as text: space-separated numbers, one document a line. */
static int decode_ids(struct decoder *d, const char *path, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	struct bpe_ids ids = {0};
	const char *line;
	size_t len;
	int rc = 0, got;
	while (rc == 0 && (got = input_line(in, &line, &len, e)) != 0) {
		if (got < 0) {
			rc = -1;
			break;
		}
		char where[1100];
		snprintf(where, sizeof where, "%s:%llu", input_name(in),
			 (unsigned long long)input_lineno(in));
		ids.n = 0;
		size_t bad;
		if (bpe_parse_ids(line, len, &ids, &bad) < 0)
			rc = llm_err_set(e, "%s: byte %zu: expected a token id", where, bad + 1);
		if (rc == 0)
			rc = decode_doc(d, ids.v, ids.n, where, e);
	}
	free(ids.v);
	input_close(in);
	return rc;
}

static int run_decode(struct cli *c, const struct opts *o, struct bpe *m,
		      char **inputs, int ninputs, struct llm_err *e)
{
	struct decoder d = {0};
	d.c = c;
	d.m = m;
	d.text = o->text;
	d.out = output_open(c->output, c->zstd, e);
	if (!d.out)
		return -1;
	int rc = 0;
	for (int i = 0; rc == 0 && i < (ninputs ? ninputs : 1); i++) {
		const char *path = ninputs ? inputs[i] : NULL;
		rc = o->ids ? decode_ids(&d, path, e) : decode_stream(&d, path, e);
	}
	if (rc == 0)
		rc = output_commit(d.out, e);
	else
		output_abort(d.out);
	cli_count(c, "documents_in", (int64_t)d.docs);
	if (d.replaced) {
		cli_count(c, "invalid_utf8_replaced", (int64_t)d.replaced);
		cli_warn(c, "%llu byte sequence(s) that were not UTF-8 written as U+FFFD (use --text for the bytes)",
			 (unsigned long long)d.replaced);
	}
	buf_free(&d.bytes);
	buf_free(&d.line);
	buf_free(&d.clean);
	return rc;
}

/* ---- train ---- */

struct counter {
	struct pretok *pre;
	struct pretok_iter **it;
	struct bpe_counts **counts;
	const char *const *specials;
	int nspecials;
	int cut_ok;
};

static void count_work(void *ctx, int worker, const char *text, size_t n,
		       struct bpe_ids *out)
{
	struct counter *k = ctx;
	(void)out;
	bpe_count_text(k->counts[worker], k->it[worker], k->specials, k->nspecials, text, n);
}

static size_t count_cut(void *ctx, const char *text, size_t n)
{
	struct counter *k = ctx;
	return k->cut_ok ? pretok_cut(k->pre, text, n) : 0;
}

static void train_progress(void *arg, uint32_t done, uint32_t want)
{
	struct cli *c = arg;
	if (!c->progress)
		return;
	fprintf(stderr, "\r%s: merges %u of %u\033[K", c->prog, done, want);
	c->progress_shown = 1;
}

static int run_train(struct cli *c, const struct opts *o, char **inputs,
		     int ninputs, struct llm_err *e)
{
	struct counter k = {0};
	k.pre = pretok_new(o->pattern, e);
	if (!k.pre)
		return -1;
	k.specials = o->specials;
	k.nspecials = o->nspecials;
	k.cut_ok = 1;
	for (int i = 0; i < o->nspecials; i++)
		if (strchr(o->specials[i], '\n'))
			k.cut_ok = 0;
	int workers = c->threads > 1 ? c->threads : 1;
	k.it = xcalloc((size_t)workers, sizeof *k.it);
	k.counts = xcalloc((size_t)workers, sizeof *k.counts);
	for (int i = 0; i < workers; i++) {
		k.it[i] = pretok_iter_new(k.pre);
		k.counts[i] = bpe_counts_new();
	}
	struct bpe_loop l = {o->text, &k, count_cut, count_work, NULL};
	int rc = bpe_loop_run(c, &l, inputs, ninputs, e);
	for (int i = 1; i < workers; i++)
		bpe_counts_merge(k.counts[0], k.counts[i]);
	if (rc == 0) {
		cli_count(c, "pieces", (int64_t)bpe_counts_total(k.counts[0]));
		cli_count(c, "distinct_pieces", (int64_t)bpe_counts_distinct(k.counts[0]));
		struct bpe_train_opts t = {(uint32_t)o->vocab_size, o->specials, o->nspecials,
					   o->pattern, train_progress, c};
		struct bpe *m = bpe_train(k.counts[0], &t, e);
		cli_progress_end(c);
		if (!m)
			rc = -1;
		else {
			cli_count(c, "vocab_size", m->nids);
			cli_count(c, "merges", m->nmerges);
			/* Every document read went into the model. */
			cli_count(c, "documents_out", json_integer_value(json_object_get(c->stats, "documents_in")));
			cli_warn(c, "%u merges, %u tokens%s", m->nmerges, m->nids,
				 m->nids < o->vocab_size ? " (no pair of symbols was left to merge)" : "");
			rc = bpe_save(m, c->output, e);
			bpe_free(m);
		}
	}
	for (int i = 0; i < workers; i++) {
		pretok_iter_free(k.it[i]);
		bpe_counts_free(k.counts[i]);
	}
	free(k.it);
	free(k.counts);
	pretok_free(k.pre);
	return rc;
}

/* ---- export, info ---- */

static int run_export(struct cli *c, const struct opts *o, struct bpe *m,
		      struct llm_err *e)
{
	if (strcmp(o->to, "bpe") == 0)
		return bpe_save(m, c->output, e);
	if (strcmp(o->to, "gpt2") == 0)
		return bpe_export_gpt2(m, c->output, e);
	if (strcmp(o->to, "tiktoken") == 0)
		return bpe_export_tiktoken(m, c->output, e);
	return bpe_export_hf(m, c->output, e);
}

static void print_token(FILE *f, const struct bpe *m, uint32_t id)
{
	struct buf b = {0};
	jstr_encode(&b, m->blob.p + m->off[id], m->len[id]);
	fprintf(f, "%s", b.p);
	buf_free(&b);
}

static int run_info(const struct bpe *m)
{
	uint32_t ntok = 0;
	for (uint32_t id = 0; id < m->nids; id++)
		ntok += m->len[id] != 0;
	printf("format: %s\n", bpe_load_format(m));
	printf("ids: %u\n", m->nids);
	printf("tokens: %u\n", ntok);
	printf("merges: %u\n", (m->flags & BPE_RANKS) ? 0 : m->nmerges);
	printf("rule: %s\n", (m->flags & BPE_RANKS) ? "ranks (tiktoken)" :
	       (m->flags & BPE_WHOLE_PIECE) ? "merges, whole pieces first" : "merges");
	printf("pattern: %s\n", m->pattern);
	printf("token width: %u bytes\n", tok_width_for(m->nids));
	if (m->eot != BPE_NONE) {
		printf("end-of-text: %u ", m->eot);
		print_token(stdout, m, m->eot);
		printf("\n");
	}
	for (uint32_t i = 0; i < m->nspecials; i++) {
		printf("special: %u ", m->specials[i]);
		if (utf8_check(m->blob.p + m->off[m->specials[i]], m->len[m->specials[i]]) ==
		    m->len[m->specials[i]])
			print_token(stdout, m, m->specials[i]);
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

/* ---- options ---- */

static enum cmd command(struct cli *c, const char *s)
{
	static const char *const names[] = {"train", "encode", "decode", "export", "info"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum cmd)i;
	cli_usage_error(c, "unknown command '%s' (train, encode, decode, export, info)", s);
}

static void push(const char ***v, int *n, const char *s)
{
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

static void parse(struct cli *c, struct opts *o, int argc, char **argv)
{
	enum { TEXT = 1, FORMAT, ALLOW, VOCAB, SPECIAL, PATTERN, TO };
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"model", required_argument, NULL, 'm'},
		{"text", no_argument, NULL, TEXT},
		{"format", required_argument, NULL, FORMAT},
		{"allow-special", optional_argument, NULL, ALLOW},
		{"vocab-size", required_argument, NULL, VOCAB},
		{"special", required_argument, NULL, SPECIAL},
		{"pattern", required_argument, NULL, PATTERN},
		{"to", required_argument, NULL, TO},
		{NULL, 0, NULL, 0},
	};
	int opt;
	o->pattern = "gpt2";
	while ((opt = getopt_long(argc, argv, CLI_SHORT "m:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (o->nmodel == 2)
				cli_usage_error(c, "-m: at most two files (GPT-2's encoder.json and vocab.bpe)");
			o->model[o->nmodel++] = optarg;
			break;
		case TEXT: o->text = 1; break;
		case FORMAT:
			if (strcmp(optarg, "ids") != 0 && strcmp(optarg, "stream") != 0)
				cli_usage_error(c, "--format: '%s' is not 'stream' or 'ids'", optarg);
			o->ids = strcmp(optarg, "ids") == 0;
			break;
		case ALLOW:
			if (optarg)
				push(&o->allow, &o->nallow, optarg);
			else
				o->allow_all = 1;
			break;
		case VOCAB:
			o->vocab_size = cli_long(c, "--vocab-size", optarg, 1, BPE_MAX_IDS);
			break;
		case SPECIAL: push(&o->specials, &o->nspecials, optarg); break;
		case PATTERN: o->pattern = optarg; break;
		case TO:
			if (strcmp(optarg, "bpe") && strcmp(optarg, "gpt2") &&
			    strcmp(optarg, "tiktoken") && strcmp(optarg, "hf"))
				cli_usage_error(c, "--to: '%s' is not bpe, gpt2, tiktoken or hf", optarg);
			o->to = optarg;
			break;
		default: cli_option(c, opt, optarg); break;
		}
	}
}

/* What each command needs, checked before any work. */
static void check(struct cli *c, const struct opts *o, int ninputs)
{
	if (o->cmd == TRAIN) {
		if (!o->vocab_size)
			cli_usage_error(c, "train: --vocab-size is required");
		if (!c->output)
			cli_usage_error(c, "train: -o MODEL is required");
		if (o->nmodel)
			cli_usage_error(c, "train: -m does not apply (the model is -o)");
		return;
	}
	if (!o->nmodel)
		cli_usage_error(c, "%s: -m MODEL is required",
				o->cmd == ENCODE ? "encode" : o->cmd == DECODE ? "decode" :
				o->cmd == EXPORT ? "export" : "info");
	if (o->cmd == EXPORT && (!o->to || !c->output))
		cli_usage_error(c, "export: --to FORMAT and -o PATH are required");
	if ((o->cmd == EXPORT || o->cmd == INFO) && ninputs)
		cli_usage_error(c, "export and info read no input files");
}

int main(int argc, char **argv)
{
	struct cli c;
	struct opts o = {0};
	cli_init(&c, "llm-bpe", usage);
	if (argc < 2)
		cli_usage_error(&c, "a command is required");
	if (argv[1][0] == '-') {
		/* --help and --version work without a command. */
		parse(&c, &o, argc, argv);
		cli_usage_error(&c, "a command is required");
	}
	o.cmd = command(&c, argv[1]);
	parse(&c, &o, argc - 1, argv + 1);
	char **inputs = argv + 1 + optind;
	int ninputs = argc - 1 - optind;
	check(&c, &o, ninputs);

	struct llm_err e;
	struct bpe *m = NULL;
	if (o.cmd != TRAIN) {
		m = bpe_load(o.model, o.nmodel, &e);
		if (!m)
			cli_fatal(&c, "%s", e.msg);
	}
	int rc;
	switch (o.cmd) {
	case TRAIN: rc = run_train(&c, &o, inputs, ninputs, &e); break;
	case ENCODE: rc = run_encode(&c, &o, m, inputs, ninputs, &e); break;
	case DECODE: rc = run_decode(&c, &o, m, inputs, ninputs, &e); break;
	case EXPORT: rc = run_export(&c, &o, m, &e); break;
	default:
		rc = run_info(m);
		bpe_free(m);
		json_decref(c.stats);
		return rc ? EXIT_RUNTIME : EXIT_OK;
	}
	if (rc < 0)
		cli_warn(&c, "%s", e.msg);
	bpe_free(m);
	free(o.allow);
	free(o.specials);
	if (o.cmd == EXPORT) {
		json_decref(c.stats);
		return rc ? EXIT_RUNTIME : EXIT_OK;
	}
	return cli_finish(&c, rc ? EXIT_RUNTIME : EXIT_OK);
}
