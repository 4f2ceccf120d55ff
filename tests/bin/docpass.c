/*
 * docpass - pass documents through the shared stage loop, unchanged.
 *
 * Not installed: the tests use it to exercise what every stage inherits
 * from libllm (readers, writer, --on-error, -o, -j, --stats), and `make
 * bench` times it as the cost floor of any stage.  --annotate and
 * --upper-text make it change documents the two ways a stage may.
 */
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "output.h"
#include "stage.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: docpass [options] [FILE ...]\n"
	"Copy a document stream, validating every line.\n"
	"  --annotate     set metadata.docpass = {\"bytes\": N}\n"
	"  --upper-text   upper-case the ASCII letters of text\n"
	"  --drop-empty   drop documents whose text is empty\n"
	"  -o FILE, -j N, --stats FILE, --progress, --on-error=fail|skip, --zstd\n";

struct opts {
	int annotate, upper, drop_empty;
};

static int map(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	const struct opts *o = ctx;
	(void)worker;
	if (o->drop_empty && d->text_len == 0)
		return STAGE_DROP;
	if (o->upper) {
		char *t = xmalloc(d->text_len + 1);
		for (size_t i = 0; i < d->text_len; i++)
			t[i] = (char)toupper((unsigned char)d->text[i]);
		doc_set_text(d, t, d->text_len);
		free(t);
	}
	if (o->annotate &&
	    doc_annotate(d, "docpass",
			 json_pack("{s:I}", "bytes", (json_int_t)d->text_len), e) < 0)
		return STAGE_ERROR;
	return STAGE_KEEP;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct opts o = {0};
	cli_init(&c, "docpass", usage);
	enum { ANNOTATE = 1, UPPER, DROP_EMPTY };
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"annotate", no_argument, NULL, ANNOTATE},
		{"upper-text", no_argument, NULL, UPPER},
		{"drop-empty", no_argument, NULL, DROP_EMPTY},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case ANNOTATE: o.annotate = 1; break;
		case UPPER: o.upper = 1; break;
		case DROP_EMPTY: o.drop_empty = 1; break;
		default: cli_option(&c, opt, optarg); break;
		}
	}

	struct llm_err e;
	struct output *out = output_open(c.output, c.zstd, &e);
	if (!out)
		cli_fatal(&c, "%s", e.msg);
	struct stage st = {&o, map, NULL};
	int status = EXIT_OK;
	if (stage_run(&c, &st, argv + optind, argc - optind, out, &e) < 0) {
		cli_warn(&c, "%s", e.msg);
		output_abort(out);
		status = EXIT_RUNTIME;
	} else if (output_commit(out, &e) < 0) {
		cli_warn(&c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	return cli_finish(&c, status);
}
