/*
 * tokgen - write a token stream (llm-formats(5)) for the tests.
 *
 * Not installed.  llm-shard's tests need token streams without depending
 * on a tokenizer: tokgen makes them from real text, one byte per token
 * (vocabulary 257, end-of-text 256), or from JSON arrays of ids (GPT-2's
 * ids, say), through lib/tokstream.h, the same writer llm-bpe uses.
 */
#include "cli.h"
#include "buf.h"
#include "err.h"
#include "input.h"
#include "output.h"
#include "tokstream.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: tokgen [--docs lines|paras|file|json] [--vocab V] [--eot E]\n"
	"              [--width 2|4] [-o FILE] [FILE ...]\n"
	"Write a token stream for tests.  Text modes map each byte to its id\n"
	"(vocabulary 257, end-of-text 256):\n"
	"  --docs lines   every non-empty line is a document (default)\n"
	"  --docs paras   every blank-line separated paragraph is a document\n"
	"  --docs file    every file is a document\n"
	"  --docs json    every line is a JSON array of ids\n"
	"                 (vocabulary 50257, end-of-text 50256 unless given)\n";

enum mode { LINES, PARAS, WHOLE, JSON };

struct gen {
	struct output *o;
	struct tok_header h;
	uint32_t *ids;
	size_t n, cap;
	uint64_t docs;
};

static void push(struct gen *g, uint32_t id)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 4096;
		g->ids = xrealloc(g->ids, g->cap * sizeof *g->ids);
	}
	g->ids[g->n++] = id;
}

static int flush_doc(struct gen *g, struct llm_err *e)
{
	if (g->n == 0)
		return 0;
	int rc = tok_write_doc(g->o, &g->h, g->ids, g->n, e);
	g->n = 0;
	g->docs++;
	return rc;
}

static void push_bytes(struct gen *g, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		push(g, (unsigned char)p[i]);
}

static int json_line(struct gen *g, struct input *in, const char *line,
		     size_t len, struct llm_err *e)
{
	json_error_t je;
	json_t *a = json_loadb(line, len, 0, &je);
	size_t i;
	json_t *v;
	if (!json_is_array(a)) {
		json_decref(a);
		return llm_err_set(e, "%s:%llu: not a JSON array of ids", input_name(in),
				   (unsigned long long)input_lineno(in));
	}
	json_array_foreach(a, i, v)
		push(g, (uint32_t)json_integer_value(v));
	json_decref(a);
	/* An empty array is an empty document, and is kept. */
	int rc = tok_write_doc(g->o, &g->h, g->ids, g->n, e);
	g->n = 0;
	g->docs++;
	return rc;
}

static int one_file(struct gen *g, const char *path, enum mode mode,
		    struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	const char *line;
	size_t len;
	int rc = 0, r;
	while (rc == 0 && (r = input_line(in, &line, &len, e)) == 1) {
		if (mode == JSON) {
			rc = json_line(g, in, line, len, e);
		} else if (mode == LINES) {
			push_bytes(g, line, len);
			rc = flush_doc(g, e);
		} else if (mode == PARAS && len == 0) {
			rc = flush_doc(g, e);
		} else {
			/* Paragraphs and whole files keep their newlines. */
			push_bytes(g, line, len);
			push(g, '\n');
		}
	}
	if (r < 0)
		rc = -1;
	if (rc == 0 && mode != JSON)
		rc = flush_doc(g, e);
	input_close(in);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "tokgen", usage);
	enum { DOCS = 1, VOCAB, EOT, WIDTH };
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"docs", required_argument, NULL, DOCS},
		{"vocab", required_argument, NULL, VOCAB},
		{"eot", required_argument, NULL, EOT},
		{"width", required_argument, NULL, WIDTH},
		{NULL, 0, NULL, 0},
	};
	enum mode mode = LINES;
	long vocab = -1, eot = -1, width = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case DOCS:
			if (strcmp(optarg, "lines") == 0) mode = LINES;
			else if (strcmp(optarg, "paras") == 0) mode = PARAS;
			else if (strcmp(optarg, "file") == 0) mode = WHOLE;
			else if (strcmp(optarg, "json") == 0) mode = JSON;
			else cli_usage_error(&c, "--docs: '%s' is not lines, paras, file or json", optarg);
			break;
		case VOCAB: vocab = cli_long(&c, "--vocab", optarg, 1, UINT32_MAX); break;
		case EOT: eot = cli_long(&c, "--eot", optarg, 0, UINT32_MAX - 1); break;
		case WIDTH: width = cli_long(&c, "--width", optarg, 2, 4); break;
		default: cli_option(&c, opt, optarg); break;
		}
	}
	struct gen g = {0};
	g.h.vocab = (uint32_t)(vocab >= 0 ? vocab : mode == JSON ? 50257 : 257);
	g.h.eot = (uint32_t)(eot >= 0 ? eot : g.h.vocab - 1);
	g.h.width = width ? (unsigned)width : tok_width_for(g.h.vocab);
	struct llm_err e;
	if (!(g.o = output_open(c.output, c.zstd, &e)))
		cli_fatal(&c, "%s", e.msg);
	int rc = tok_write_header(g.o, &g.h, &e);
	if (optind == argc && rc == 0)
		rc = one_file(&g, NULL, mode, &e);
	for (int i = optind; i < argc && rc == 0; i++)
		rc = one_file(&g, argv[i], mode, &e);
	if (rc == 0)
		rc = output_commit(g.o, &e);
	else
		output_abort(g.o);
	free(g.ids);
	if (rc < 0)
		cli_fatal(&c, "%s", e.msg);
	cli_count(&c, "documents_out", (int64_t)g.docs);
	return cli_finish(&c, EXIT_OK);
}
