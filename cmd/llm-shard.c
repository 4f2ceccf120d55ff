/*
 * llm-shard - pack token streams into llm.c training shards, with source
 * mixtures, a train/val split and a manifest; verify, summarise and read
 * back a shard folder.  The work is in lib/packer.c and lib/mix.c.
 */
#include "cli.h"
#include "buf.h"
#include "err.h"
#include "mix.h"
#include "output.h"
#include "packer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: llm-shard [options] -o DIR [FILE ...]\n"
	"       llm-shard verify DIR\n"
	"       llm-shard stat [--json] DIR\n"
	"       llm-shard cat [--split train|val] [-o FILE] [--zstd] DIR\n"
	"Pack token streams (llm-bpe encode) into llm.c shards and a manifest.json.\n"
	"  -o, --output DIR        the shard folder, created if missing (required)\n"
	"      --source NAME=FILE  a named source; repeat for more files or sources\n"
	"                          (without any, FILE ... or stdin is source 'default')\n"
	"      --mix NAME=W,...    share of the output tokens for each source\n"
	"      --tokens N          output size in tokens (default: what the sources hold)\n"
	"      --shard-tokens N    tokens per shard (default 100000000)\n"
	"      --val-tokens N      about N tokens of whole documents for validation\n"
	"      --val-fraction F    fraction F of the documents' tokens for validation\n"
	"      --shuffle-window N  shuffle documents within a window of N (default 0)\n"
	"      --seed S            seed for subsampling and shuffling (default 0)\n"
	"      --append            add shards to the folder's existing manifest\n"
	"      --stats FILE, --progress, -h, --help, -V, --version\n"
	"verify: check every shard against the manifest; exit 1 naming the first bad one\n"
	"stat:   tokens and documents per split and source, the realised mixture\n"
	"cat:    the shards' tokens back out as a token stream\n";

enum {
	OPT_SOURCE = 1,
	OPT_MIX,
	OPT_TOKENS,
	OPT_SHARD_TOKENS,
	OPT_VAL_TOKENS,
	OPT_VAL_FRACTION,
	OPT_WINDOW,
	OPT_SEED,
	OPT_APPEND,
	OPT_JSON,
	OPT_SPLIT,
};

/* The sources, grouped by name in the order first named. */
struct sources {
	struct pack_source *v;
	size_t n;
};

static void add_file(struct sources *s, const char *name, const char *file)
{
	size_t i = 0;
	while (i < s->n && strcmp(s->v[i].name, name) != 0)
		i++;
	if (i == s->n) {
		s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
		s->v[s->n++] = (struct pack_source){name, NULL, 0};
	}
	struct pack_source *p = &s->v[i];
	p->files = xrealloc(p->files, (p->nfiles + 1) * sizeof *p->files);
	p->files[p->nfiles++] = file;
}

/* --source NAME=FILE: the name is cut out of arg in place. */
static void source_option(struct cli *c, struct sources *s, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		cli_usage_error(c, "--source: '%s' is not NAME=FILE", arg);
	*eq = '\0';
	if (arg[strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789_-.")] != '\0')
		cli_usage_error(c, "--source: name '%s' may hold only letters, digits, '_', '-' and '.'",
				arg);
	add_file(s, arg, eq + 1);
}

/* Every source has a share and every share a source. */
static void check_mix(struct cli *c, const struct mix_spec *m,
		      const struct sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (mix_spec_find(m, s->v[i].name) < 0)
			cli_usage_error(c, "--mix gives source '%s' no share", s->v[i].name);
	for (size_t i = 0; i < m->n; i++) {
		size_t k = 0;
		while (k < s->n && strcmp(s->v[k].name, m->names[i]) != 0)
			k++;
		if (k == s->n)
			cli_usage_error(c, "--mix names '%s', which is not a source", m->names[i]);
	}
}

static void on_progress(void *ctx, uint64_t docs, uint64_t bytes)
{
	cli_progress(ctx, docs, bytes);
}

static void count_run(struct cli *c, const struct pack_report *r)
{
	cli_count(c, "documents_in", (int64_t)r->documents_in);
	cli_count(c, "documents_out", (int64_t)r->documents_out);
	cli_count(c, "tokens_in", (int64_t)r->tokens_in);
	cli_count(c, "tokens_out", (int64_t)r->tokens_out);
	cli_count(c, "shards_written", (int64_t)r->shards_out);
	cli_count(c, "passes", r->passes);
	const char *name;
	json_t *src;
	json_object_foreach(json_object_get(r->run, "sources"), name, src) {
		json_t *t = json_object_get(src, "tokens_taken");
		cli_count2(c, "tokens_taken", name, json_integer_value(t));
	}
}

static int pack_main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-shard", usage);
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"source", required_argument, NULL, OPT_SOURCE},
		{"mix", required_argument, NULL, OPT_MIX},
		{"tokens", required_argument, NULL, OPT_TOKENS},
		{"shard-tokens", required_argument, NULL, OPT_SHARD_TOKENS},
		{"val-tokens", required_argument, NULL, OPT_VAL_TOKENS},
		{"val-fraction", required_argument, NULL, OPT_VAL_FRACTION},
		{"shuffle-window", required_argument, NULL, OPT_WINDOW},
		{"seed", required_argument, NULL, OPT_SEED},
		{"append", no_argument, NULL, OPT_APPEND},
		{NULL, 0, NULL, 0},
	};
	struct pack_config cfg = {.shard_tokens = 100000000};
	struct sources srcs = {0};
	struct mix_spec mix = {0};
	const char *mix_arg = NULL;
	struct llm_err e;
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_SOURCE: source_option(&c, &srcs, optarg); break;
		case OPT_MIX: mix_arg = optarg; break;
		case OPT_TOKENS:
			cfg.total_tokens = (uint64_t)cli_long(&c, "--tokens", optarg, 1, INT64_MAX);
			break;
		case OPT_SHARD_TOKENS:
			cfg.shard_tokens = (uint64_t)cli_long(&c, "--shard-tokens", optarg, 1, INT32_MAX);
			break;
		case OPT_VAL_TOKENS:
			if (cfg.val == PACK_VAL_FRACTION)
				cli_usage_error(&c, "--val-tokens and --val-fraction exclude each other");
			cfg.val = PACK_VAL_TOKENS;
			cfg.val_tokens = (uint64_t)cli_long(&c, "--val-tokens", optarg, 0, INT64_MAX);
			break;
		case OPT_VAL_FRACTION:
			if (cfg.val == PACK_VAL_TOKENS)
				cli_usage_error(&c, "--val-tokens and --val-fraction exclude each other");
			cfg.val = PACK_VAL_FRACTION;
			cfg.val_fraction = cli_double(&c, "--val-fraction", optarg, 0, 1);
			break;
		case OPT_WINDOW:
			cfg.shuffle_window = (size_t)cli_long(&c, "--shuffle-window", optarg, 0, 100000000);
			break;
		case OPT_SEED:
			cfg.seed = (uint64_t)cli_long(&c, "--seed", optarg, 0, INT64_MAX);
			break;
		case OPT_APPEND: cfg.append = 1; break;
		default: cli_option(&c, opt, optarg); break;
		}
	}
	if (!c.output)
		cli_usage_error(&c, "the shard folder is required: -o DIR");
	if (c.skip_errors)
		cli_usage_error(&c, "--on-error=skip: a bad token stream cannot be skipped");
	if (srcs.n && optind < argc)
		cli_usage_error(&c, "give inputs as --source NAME=FILE or as FILE ..., not both");
	for (int i = optind; i < argc; i++)
		add_file(&srcs, "default", argv[i]);
	if (srcs.n == 0)
		add_file(&srcs, "default", "-");
	size_t nstdin = 0;
	for (size_t i = 0; i < srcs.n; i++)
		for (size_t f = 0; f < srcs.v[i].nfiles; f++)
			nstdin += strcmp(srcs.v[i].files[f], "-") == 0;
	if (nstdin > 1)
		cli_usage_error(&c, "standard input ('-') can be named only once");
	if (mix_arg) {
		if (mix_spec_parse(mix_arg, &mix, &e) < 0)
			cli_usage_error(&c, "--mix: %s", e.msg);
		check_mix(&c, &mix, &srcs);
	}

	cfg.dir = c.output;
	cfg.sources = srcs.v;
	cfg.nsources = srcs.n;
	cfg.mix = mix_arg ? &mix : NULL;
	cfg.progress = on_progress;
	cfg.progress_ctx = &c;
	struct pack_report rep;
	int status = EXIT_OK;
	if (pack_run(&cfg, &rep, &e) < 0) {
		cli_progress_end(&c);
		cli_warn(&c, "%s", e.msg);
		status = EXIT_RUNTIME;
	} else {
		if (rep.stale_removed)
			cli_warn(&c, "%s: removed %u files left by an interrupted run",
				 cfg.dir, rep.stale_removed);
		count_run(&c, &rep);
	}
	json_decref(rep.run);
	for (size_t i = 0; i < srcs.n; i++)
		free(srcs.v[i].files);
	free(srcs.v);
	mix_spec_free(&mix);
	return cli_finish(&c, status);
}

/* The end of a subcommand, which has no document counts to report. */
static int done(struct cli *c, int status)
{
	json_decref(c->stats);
	c->stats = NULL;
	return status;
}

/* The one DIR operand of a subcommand. */
static const char *dir_operand(struct cli *c, int argc, char **argv)
{
	if (optind != argc - 1)
		cli_usage_error(c, "give one shard folder");
	return argv[optind];
}

static void say(void *ctx, int bad, const char *msg)
{
	const struct cli *c = ctx;
	cli_warn(c, "%s%s", bad ? "" : "note: ", msg);
}

static int verify_main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-shard", usage);
	static const struct option longopts[] = {CLI_LONG_OPTIONS, {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1)
		cli_option(&c, opt, optarg);
	const char *dir = dir_operand(&c, argc, argv);
	struct pack_check chk;
	struct llm_err e;
	if (pack_verify(dir, &chk, say, &c, &e) < 0)
		cli_fatal(&c, "%s", e.msg);
	if (chk.bad)
		cli_fatal(&c, "%s: %zu of %zu shards bad", dir, chk.bad, chk.shards);
	printf("%s: %zu shards, %llu tokens, %llu documents: all good\n", dir,
	       chk.shards, (unsigned long long)chk.tokens,
	       (unsigned long long)chk.documents);
	return done(&c, EXIT_OK);
}

static long long ival(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static double rval(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* stat as tables: splits, sources by split, then each run's plan. */
static void print_stat(const char *dir, json_t *st)
{
	printf("%s: %lld shards, vocabulary %lld, end-of-text %lld, %lld-byte tokens\n\n",
	       dir, ival(st, "shards"), ival(st, "vocab_size"), ival(st, "eot"),
	       ival(st, "token_bytes"));
	printf("%-8s %8s %14s %12s\n", "split", "shards", "tokens", "documents");
	const char *name, *sp;
	json_t *v, *x;
	json_object_foreach(json_object_get(st, "splits"), name, v)
		printf("%-8s %8lld %14lld %12lld\n", name, ival(v, "shards"),
		       ival(v, "tokens"), ival(v, "documents"));
	printf("%-8s %8lld %14lld %12lld\n\n", "all", ival(st, "shards"),
	       ival(st, "tokens"), ival(st, "documents"));
	printf("%-12s %-6s %14s %12s %8s\n", "source", "split", "tokens", "documents", "share");
	json_object_foreach(json_object_get(st, "sources"), name, v) {
		json_object_foreach(v, sp, x) {
			if (!json_is_object(x))
				continue;
			printf("%-12s %-6s %14lld %12lld %7.2f%%\n", name, sp,
			       ival(x, "tokens"), ival(x, "documents"), 100 * rval(x, "share"));
		}
		printf("%-12s %-6s %14lld %12lld %7.2f%%\n", name, "all", ival(v, "tokens"),
		       ival(v, "documents"), 100 * rval(v, "share"));
	}
	size_t i;
	json_array_foreach(json_object_get(st, "runs"), i, v) {
		printf("\nrun %zu: seed %lld, %lld pass%s, %zu shards\n", i + 1,
		       ival(v, "seed"), ival(v, "passes"), ival(v, "passes") == 1 ? "" : "es",
		       json_array_size(json_object_get(v, "shards")));
		printf("  %-12s %14s %14s %9s %8s %8s\n", "source", "available", "taken",
		       "epochs", "share", "asked");
		json_object_foreach(json_object_get(v, "sources"), name, x) {
			json_t *asked = json_object_get(x, "share_asked");
			printf("  %-12s %14lld %14lld %9.4f %7.2f%% ", name,
			       ival(x, "tokens_available"), ival(x, "tokens_taken"),
			       rval(x, "epochs"), 100 * rval(x, "share"));
			if (asked)
				printf("%7.2f%%\n", 100 * json_number_value(asked));
			else
				printf("%8s\n", "-");
		}
	}
}

static int stat_main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-shard", usage);
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	int opt, as_json = 0;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		if (opt == OPT_JSON)
			as_json = 1;
		else
			cli_option(&c, opt, optarg);
	}
	const char *dir = dir_operand(&c, argc, argv);
	struct llm_err e;
	json_t *st = pack_stat(dir, &e);
	if (!st)
		cli_fatal(&c, "%s", e.msg);
	if (as_json) {
		json_dumpf(st, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		putchar('\n');
	} else {
		print_stat(dir, st);
	}
	json_decref(st);
	if (fflush(stdout) != 0)
		cli_fatal(&c, "<stdout>: write error");
	return done(&c, EXIT_OK);
}

static int cat_main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-shard", usage);
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"split", required_argument, NULL, OPT_SPLIT},
		{NULL, 0, NULL, 0},
	};
	const char *split = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		if (opt == OPT_SPLIT) {
			if (strcmp(optarg, "train") != 0 && strcmp(optarg, "val") != 0)
				cli_usage_error(&c, "--split: '%s' is not train or val", optarg);
			split = optarg;
		} else {
			cli_option(&c, opt, optarg);
		}
	}
	const char *dir = dir_operand(&c, argc, argv);
	struct llm_err e;
	struct output *o = output_open(c.output, c.zstd, &e);
	if (!o)
		cli_fatal(&c, "%s", e.msg);
	uint64_t n;
	if (pack_cat(dir, split, o, &n, &e) < 0) {
		output_abort(o);
		cli_fatal(&c, "%s", e.msg);
	}
	if (output_commit(o, &e) < 0)
		cli_fatal(&c, "%s", e.msg);
	return done(&c, EXIT_OK);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		/* The subcommand's own options start after its name. */
		if (strcmp(argv[1], "verify") == 0)
			return verify_main(argc - 1, argv + 1);
		if (strcmp(argv[1], "stat") == 0)
			return stat_main(argc - 1, argv + 1);
		if (strcmp(argv[1], "cat") == 0)
			return cat_main(argc - 1, argv + 1);
	}
	return pack_main(argc, argv);
}
