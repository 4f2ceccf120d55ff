/*
 * llm-eval - evaluate models and texts: perplexity, multiple-choice
 * benchmarks, generations for review, and the reference metrics BLEU,
 * chrF and ROUGE.
 *
 * One program, one subcommand per job; each subcommand parses its options
 * and wires files to the lib/ module that does the work: evalmetric.h
 * (BLEU, chrF, ROUGE over segment files), evalrun.h (the model runs),
 * evaltask.h (tasks and prompts), review.h.  See llm-eval(1).
 */
#include "bleu.h"
#include "buf.h"
#include "chrf.h"
#include "cli.h"
#include "err.h"
#include "evalmetric.h"
#include "evalrun.h"
#include "evaltask.h"
#include "lmscore.h"
#include "output.h"
#include "review.h"
#include "rng.h"
#include "rouge.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: llm-eval COMMAND [options]\n"
	"Evaluate a model or a set of texts.\n"
	"\n"
	"Metrics without a model:\n"
	"  bleu      --hyp FILE --ref FILE [--ref FILE ...]   sacreBLEU BLEU\n"
	"  chrf      --hyp FILE --ref FILE [--ref FILE ...]   sacreBLEU chrF, chrF++\n"
	"  rouge     --hyp FILE --ref FILE | --jsonl FILE     rouge-score ROUGE\n"
	"Model-based:\n"
	"  ppl       --model CKPT -m TOKENIZER --data DOCS.jsonl|SHARDS_DIR\n"
	"  mc        --model CKPT -m TOKENIZER --task hellaswag|arc|mmlu|FILE\n"
	"  generate  --model CKPT -m TOKENIZER --prompts FILE.jsonl\n"
	"  prompts   --task TASK   the multiple-choice requests, without a model\n"
	"Review:\n"
	"  review export --in GENERATIONS.jsonl -o SHEET.csv [--html PAGE.html]\n"
	"  review import SHEET.csv\n"
	"\n"
	"Run 'llm-eval COMMAND --help' for the options of a command.\n"
	"  -h, --help      this help\n"
	"  -V, --version   print the version\n";

/* ---- shared helpers ---- */

static struct output *open_out(const struct cli *c)
{
	struct llm_err e;
	struct output *o = output_open(c->output, c->zstd, &e);
	if (!o)
		cli_fatal(c, "%s", e.msg);
	return o;
}

static void close_out(const struct cli *c, struct output *o)
{
	struct llm_err e;
	if (output_commit(o, &e) < 0)
		cli_fatal(c, "%s", e.msg);
}

/* Write j (dropping the reference) as the file path, or fail the run. */
static void save(const struct cli *c, const char *path, json_t *j, size_t flags)
{
	struct llm_err e;
	int rc = output_json(path, j, flags, &e);
	json_decref(j);
	if (rc < 0)
		cli_fatal(c, "%s", e.msg);
}

/* The one-line summary on stderr and --stats. */
static int finish(struct cli *c, const char *what, size_t n)
{
	cli_progress_end(c);
	double secs = cli_elapsed(c);
	fprintf(stderr, "%s: %zu %s, %.2f s\n", c->prog, n, what, secs);
	if (c->stats_path) {
		json_object_set_new(c->stats, "program", json_string(c->prog));
		json_object_set_new(c->stats, what, json_integer((json_int_t)n));
		json_object_set_new(c->stats, "seconds", json_real(secs));
		save(c, c->stats_path, c->stats,
		     JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	} else {
		json_decref(c->stats);
	}
	c->stats = NULL;
	return EXIT_OK;
}

/* --hyp and --ref given, their files read and aligned. */
static void load_segs(const struct cli *c, struct eval_segs *s,
		      enum lines_mode m)
{
	struct llm_err e;
	if (!s->hyp_path)
		cli_usage_error(c, "--hyp FILE is required");
	if (s->nrefs == 0)
		cli_usage_error(c, "at least one --ref FILE is required");
	if (eval_segs_load(s, m, &e) < 0)
		cli_fatal(c, "%s", e.msg);
}

/* ---- options ---- */

/* What the options several commands share set; the defaults are the
 * caller's (args_init). */
struct args {
	struct cli c;
	struct eval_segs s;		/* --hyp, --ref */
	int sentence;			/* --sentence */
	const char *model, *tok;	/* --model, -m */
	const char *task, *datadir;	/* --task, --data-dir */
	struct mc_prompt p;		/* --shots, --letter */
	long limit;			/* --limit, -1 for all */
	uint32_t seed;			/* --seed */
	const char *json;		/* --json */
	struct judge j;			/* --judge, --judge-timeout */
};

/* getopt ids of the shared options; a command's own start at OPT_OWN
 * (and stay below CLI_OPT_STATS). */
enum {
	OPT_HYP = 0x100, OPT_REF, OPT_SENTENCE, OPT_MODEL, OPT_TASK, OPT_DATA_DIR,
	OPT_SHOTS, OPT_LETTER, OPT_LIMIT, OPT_SEED, OPT_JSON, OPT_JUDGE, OPT_JTIME,
	OPT_OWN = 0x200
};

#define OPT_ARG(name, id) {name, required_argument, NULL, id}
#define OPT_FLAG(name, id) {name, no_argument, NULL, id}
#define SEG_OPTIONS OPT_ARG("hyp", OPT_HYP), OPT_ARG("ref", OPT_REF)
#define TASK_OPTIONS							\
	OPT_ARG("task", OPT_TASK), OPT_ARG("data-dir", OPT_DATA_DIR),	\
	OPT_ARG("shots", OPT_SHOTS), OPT_FLAG("letter", OPT_LETTER),	\
	OPT_ARG("limit", OPT_LIMIT), OPT_ARG("seed", OPT_SEED)
#define JUDGE_OPTIONS OPT_ARG("judge", OPT_JUDGE), OPT_ARG("judge-timeout", OPT_JTIME)
#define OPT_END {NULL, 0, NULL, 0}

static void args_init(struct args *a, const char *prog, const char *usage)
{
	cli_init(&a->c, prog, usage);
	a->datadir = getenv("LLM_EVAL_DATA");
	a->limit = -1;
	a->j.timeout = 60;
}

/* Store a shared option in a; 0 if opt is not one. */
static int shared_option(struct args *a, int opt, const char *arg)
{
	struct cli *c = &a->c;
	switch (opt) {
	case OPT_HYP: a->s.hyp_path = arg; break;
	case OPT_REF:
		if (eval_segs_add_ref(&a->s, arg) < 0)
			cli_usage_error(c, "more than %d --ref files", EVAL_MAX_REFS);
		break;
	case OPT_SENTENCE: a->sentence = 1; break;
	case OPT_MODEL: a->model = arg; break;
	case 'm': a->tok = arg; break;
	case OPT_TASK: a->task = arg; break;
	case OPT_DATA_DIR: a->datadir = arg; break;
	case OPT_SHOTS: a->p.shots = (int)cli_long(c, "--shots", arg, 0, MC_MAX_SHOTS); break;
	case OPT_LETTER: a->p.letter = 1; break;
	case OPT_LIMIT: a->limit = cli_long(c, "--limit", arg, 1, LONG_MAX); break;
	case OPT_SEED: a->seed = (uint32_t)cli_long(c, "--seed", arg, 0, 4294967295L); break;
	case OPT_JSON: a->json = arg; break;
	case OPT_JUDGE: a->j.cmd = arg; break;
	case OPT_JTIME: a->j.timeout = cli_double(c, "--judge-timeout", arg, 0.001, 86400); break;
	default: return 0;
	}
	return 1;
}

/* The next of the command's own options (its id, optarg its argument),
 * or -1 after the last; shared and common ones are handled here. */
static int next_option(struct args *a, int argc, char **argv,
		       const char *shortopts, const struct option *lo)
{
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (opt >= OPT_OWN && opt < CLI_OPT_STATS)
			return opt;
		if (!shared_option(a, opt, optarg))
			cli_option(&a->c, opt, optarg);
	}
	return -1;
}

static void no_operands(const struct args *a, int argc, char **argv)
{
	if (optind < argc)
		cli_usage_error(&a->c, "unexpected argument '%s'", argv[optind]);
}

/* For a command with no options of its own. */
static void parse_shared(struct args *a, int argc, char **argv,
			 const char *shortopts, const struct option *lo)
{
	while (next_option(a, argc, argv, shortopts, lo) != -1)
		;
	no_operands(a, argc, argv);
}

/* ---- bleu ---- */

static const char bleu_usage[] =
	"usage: llm-eval bleu --hyp FILE --ref FILE [--ref FILE ...] [options]\n"
	"sacreBLEU-compatible BLEU.  Each --ref is one reference stream,\n"
	"line-aligned with --hyp; output is one JSON object.\n"
	"  --tokenize 13a|intl|char|none   tokenizer (13a)\n"
	"  --smooth exp|floor|add-k|none   smoothing (exp)\n"
	"  --smooth-value V    floor (0.1) or add-k (1) value\n"
	"  --lowercase         lowercase before tokenizing\n"
	"  --effective-order   leave out orders with no n-grams\n"
	"  --max-ngram N       highest n-gram order (4)\n"
	"  --sentence          score each line on its own, one JSON object a line\n"
	"                      (effective order on, as sacreBLEU does)\n"
	"  -o FILE, --stats FILE\n";

static int cmd_bleu(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval bleu", bleu_usage);
	struct cli *c = &a.c;
	struct bleu_opts o;
	bleu_opts_default(&o);
	enum { TOK = OPT_OWN, SMOOTH, SVAL, LOWER, EFF, MAXN };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, SEG_OPTIONS,
		OPT_ARG("tokenize", TOK), OPT_ARG("smooth", SMOOTH),
		OPT_ARG("smooth-value", SVAL), OPT_FLAG("lowercase", LOWER),
		OPT_FLAG("effective-order", EFF), OPT_ARG("max-ngram", MAXN),
		OPT_FLAG("sentence", OPT_SENTENCE), OPT_END,
	};
	int opt, v;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT, lo)) != -1) {
		switch (opt) {
		case TOK:
			if ((v = bleu_tok_parse(optarg)) < 0)
				cli_usage_error(c, "--tokenize: '%s' is not 13a, intl, char or none", optarg);
			o.tok = (enum bleu_tok)v;
			break;
		case SMOOTH:
			if ((v = bleu_smooth_parse(optarg)) < 0)
				cli_usage_error(c, "--smooth: '%s' is not exp, floor, add-k or none", optarg);
			o.smooth = (enum bleu_smooth)v;
			break;
		case SVAL: o.smooth_value = cli_double(c, "--smooth-value", optarg, 0, 1e9); break;
		case LOWER: o.lowercase = 1; break;
		case EFF: o.effective_order = 1; break;
		case MAXN: o.max_order = (int)cli_long(c, "--max-ngram", optarg, 1, BLEU_MAX_ORDER); break;
		}
	}
	no_operands(&a, argc, argv);
	if (a.sentence)
		o.effective_order = 1;	/* as sacreBLEU's sentence_score() */
	load_segs(c, &a.s, LINES_RSTRIP);
	struct llm_err e;
	struct output *out = open_out(c);
	if (eval_bleu(&o, &a.s, a.sentence, out, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	close_out(c, out);
	size_t n = a.s.hyp.n;
	eval_segs_free(&a.s);
	return finish(c, "segments", n);
}

/* ---- chrf ---- */

static const char chrf_usage[] =
	"usage: llm-eval chrf --hyp FILE --ref FILE [--ref FILE ...] [options]\n"
	"sacreBLEU-compatible chrF (chrF++ with --word-order 2).\n"
	"  --char-order N     character n-gram order (6)\n"
	"  --word-order N     word n-gram order (0; 2 for chrF++)\n"
	"  --beta N           recall weight (2)\n"
	"  --whitespace       keep whitespace in character n-grams\n"
	"  --eps-smoothing    chrF++.py/NLTK/Moses epsilon smoothing\n"
	"  --lowercase        lowercase first\n"
	"  --sentence         score each line on its own, one JSON object a line\n"
	"  -o FILE, --stats FILE\n";

static int cmd_chrf(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval chrf", chrf_usage);
	struct cli *c = &a.c;
	struct chrf_opts o;
	chrf_opts_default(&o);
	enum { CORD = OPT_OWN, WORD, BETA, WS, EPS, LOWER };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, SEG_OPTIONS,
		OPT_ARG("char-order", CORD), OPT_ARG("word-order", WORD),
		OPT_ARG("beta", BETA), OPT_FLAG("whitespace", WS),
		OPT_FLAG("eps-smoothing", EPS), OPT_FLAG("lowercase", LOWER),
		OPT_FLAG("sentence", OPT_SENTENCE), OPT_END,
	};
	int opt;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT, lo)) != -1) {
		switch (opt) {
		case CORD: o.char_order = (int)cli_long(c, "--char-order", optarg, 0, 16); break;
		case WORD: o.word_order = (int)cli_long(c, "--word-order", optarg, 0, 16); break;
		case BETA: o.beta = (double)cli_long(c, "--beta", optarg, 0, 100); break;
		case WS: o.whitespace = 1; break;
		case EPS: o.eps_smoothing = 1; break;
		case LOWER: o.lowercase = 1; break;
		}
	}
	no_operands(&a, argc, argv);
	if (o.char_order + o.word_order == 0)
		cli_usage_error(c, "--char-order and --word-order are both 0");
	load_segs(c, &a.s, LINES_RSTRIP);
	struct llm_err e;
	struct output *out = open_out(c);
	if (eval_chrf(&o, &a.s, a.sentence, out, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	close_out(c, out);
	size_t n = a.s.hyp.n;
	eval_segs_free(&a.s);
	return finish(c, "segments", n);
}

/* ---- rouge ---- */

static const char rouge_usage[] =
	"usage: llm-eval rouge (--hyp FILE --ref FILE [--ref FILE ...] | --jsonl FILE)\n"
	"                      [options]\n"
	"rouge-score-compatible ROUGE.  --hyp/--ref: one summary a line;\n"
	"--jsonl: objects {\"hyp\": \"...\", \"ref\": \"...\" or [\"...\", ...]}, where\n"
	"newlines separate the sentences rougeLsum sees.\n"
	"  --types LIST       rouge1,...,rouge9,rougeL,rougeLsum\n"
	"                     (rouge1,rouge2,rougeL,rougeLsum)\n"
	"  --stem             Porter-stem tokens longer than 3 letters\n"
	"  --bootstrap N      95% bootstrap interval of the mean, N resamples\n"
	"  --confidence C     interval's confidence (0.95)\n"
	"  --seed S           resampling seed, as np.random.seed(S) (0)\n"
	"  -o FILE, --stats FILE\n";

static int cmd_rouge(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval rouge", rouge_usage);
	struct cli *c = &a.c;
	struct eval_rouge_opts o = {0};
	struct llm_err e;
	const char *jsonl = NULL;
	enum { JSONL = OPT_OWN, TYPES, STEM, BOOT, CONF };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, SEG_OPTIONS,
		OPT_ARG("jsonl", JSONL), OPT_ARG("types", TYPES),
		OPT_FLAG("stem", STEM), OPT_ARG("bootstrap", BOOT),
		OPT_ARG("confidence", CONF), OPT_ARG("seed", OPT_SEED), OPT_END,
	};
	o.ntypes = rouge_parse_types("rouge1,rouge2,rougeL,rougeLsum", o.types, &e);
	o.confidence = 0.95;
	int opt;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT, lo)) != -1) {
		switch (opt) {
		case JSONL: jsonl = optarg; break;
		case TYPES:
			if ((o.ntypes = rouge_parse_types(optarg, o.types, &e)) < 0)
				cli_usage_error(c, "--types: %s", e.msg);
			break;
		case STEM: o.stem = 1; break;
		case BOOT: o.nboot = (int)cli_long(c, "--bootstrap", optarg, 1, 10000000); break;
		case CONF: o.confidence = cli_double(c, "--confidence", optarg, 0, 1); break;
		}
	}
	no_operands(&a, argc, argv);
	if (jsonl && (a.s.hyp_path || a.s.nrefs))
		cli_usage_error(c, "give either --jsonl or --hyp and --ref, not both");
	if (!jsonl && !a.s.hyp_path)
		cli_usage_error(c, "--jsonl FILE or --hyp FILE --ref FILE is required");
	o.seed = a.seed;

	json_t **pairs = NULL;
	size_t n;
	if (jsonl) {
		if (!(pairs = jsonl_read(jsonl, eval_rouge_check_pair, &n, &e)))
			cli_fatal(c, "%s", e.msg);
		if (n == 0)
			cli_fatal(c, "%s: no pairs", jsonl);
	} else {
		load_segs(c, &a.s, LINES_CR);
		n = a.s.hyp.n;
	}
	json_t *res = eval_rouge(&o, &a.s, jsonl, pairs, n, &e);
	if (!res)
		cli_fatal(c, "%s", e.msg);
	struct output *out = open_out(c);
	if (jsonl_write(out, res, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	close_out(c, out);
	if (pairs)
		jsonl_free(pairs, n);
	eval_segs_free(&a.s);
	return finish(c, "pairs", n);
}

/* ---- the model ---- */

static void load_model(const struct cli *c, const char *ckpt,
		       const char *tokenizer, struct eval_model *L)
{
	struct llm_err e;
	if (!ckpt)
		cli_usage_error(c, "--model CKPT is required");
	if (!tokenizer)
		cli_usage_error(c, "-m TOKENIZER (or -m bytes) is required");
	if (eval_model_open(L, ckpt, c->threads, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	if (strcmp(tokenizer, "bytes") == 0 && L->vocab < 257)
		cli_usage_error(c, "-m bytes needs a vocabulary of at least 257 "
				"(256 bytes and end-of-text), not %d", L->vocab);
	if (eval_model_tokenizer(L, tokenizer, &e) < 0)
		cli_fatal(c, "%s", e.msg);
}

/* ---- ppl ---- */

static const char ppl_usage[] =
	"usage: llm-eval ppl --model CKPT -m TOKENIZER --data DOCS.jsonl|SHARDS_DIR\n"
	"                    [options]\n"
	"Perplexity as lm-evaluation-harness defines it: rolling windows over\n"
	"each document; loss and perplexity per token, word perplexity\n"
	"(whitespace-split words), byte perplexity and bits per byte (UTF-8).\n"
	"DOCS.jsonl is a document stream; a shard folder is read by its\n"
	"manifest, documents cut at end-of-text.\n"
	"  -m TOKENIZER     a tokenizer file llm-bpe reads, or 'bytes'\n"
	"  --split NAME     the shard split to read (val)\n"
	"  --limit N        the first N documents\n"
	"  --json FILE      every metric as JSON\n"
	"  -j N, --stats FILE, --progress\n";

static int cmd_ppl(int argc, char **argv)
{
	struct args a = {0};
	struct cli *c = &a.c;
	args_init(&a, "llm-eval ppl", ppl_usage);
	const char *data = NULL, *split = "val";
	enum { DATA = OPT_OWN, SPLIT };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, OPT_ARG("model", OPT_MODEL), OPT_ARG("data", DATA),
		OPT_ARG("json", OPT_JSON), OPT_ARG("limit", OPT_LIMIT),
		OPT_ARG("split", SPLIT), OPT_END,
	};
	int opt;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT "m:", lo)) != -1) {
		switch (opt) {
		case DATA: data = optarg; break;
		case SPLIT: split = optarg; break;
		}
	}
	no_operands(&a, argc, argv);
	if (!data)
		cli_usage_error(c, "--data DOCS.jsonl|SHARDS_DIR is required");
	struct eval_model L;
	load_model(c, a.model, a.tok, &L);
	struct ppl_sums sums = {0};
	struct llm_err e;
	struct stat st;
	int r = stat(data, &st) == 0 && S_ISDIR(st.st_mode)
		? eval_ppl_shards(c, &L, data, split, a.limit, &sums, &e)
		: eval_ppl_docs(c, &L, data, a.limit, &sums, &e);
	if (r < 0)
		cli_fatal(c, "%s", e.msg);
	cli_progress_end(c);
	if (sums.docs == 0)
		cli_fatal(c, "%s: no documents", data);
	struct ppl_result p;
	ppl_result(&sums, &p);
	double secs = cli_elapsed(c);
	eval_ppl_print(stdout, &sums, &p, secs);
	if (a.json)
		save(c, a.json, eval_ppl_json(a.model, data, &sums, &p, secs), JSON_FILE);
	eval_model_free(&L);
	return finish(c, "documents", sums.docs);
}

/* ---- mc ---- */

static const char mc_usage[] =
	"usage: llm-eval mc --model CKPT -m TOKENIZER --task TASK [options]\n"
	"Multiple-choice accuracy as lm-evaluation-harness measures it: each\n"
	"choice's summed log-likelihood after the context (acc), and divided by\n"
	"its length in characters (acc_norm).  TASK: hellaswag, arc,\n"
	"arc_easy, arc_challenge, mmlu, or a file (see llm-eval prompts).\n"
	"  -m TOKENIZER     a tokenizer file llm-bpe reads, or 'bytes'\n"
	"  --data-dir DIR   where the named tasks are ($LLM_EVAL_DATA,\n"
	"                   else ../shared/data/eval)\n"
	"  --shots K        solved examples before each question (0)\n"
	"  --letter         ask for the answer letter: \"Answer:\" + \" A\" ..\n"
	"  --limit N        the first N questions\n"
	"  --seed S         seed of the shot draws (1234)\n"
	"  --json FILE      the metrics, count and standard errors as JSON\n"
	"  -o FILE          one JSON line per question (log-likelihoods, result)\n"
	"  -j N, --stats FILE, --progress\n";

/* Load --task (required) from --data-dir; *path is the file it names. */
static void load_task(const struct args *a, struct mc_task *t, char **path)
{
	struct llm_err e;
	enum mc_format fmt;
	const char *datadir = a->datadir ? a->datadir : "../shared/data/eval";
	if (!a->task)
		cli_usage_error(&a->c, "--task is required");
	if (mc_resolve(a->task, datadir, &fmt, path, &e) < 0 ||
	    mc_load(t, fmt, *path, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
}

/* How many of the task's questions --limit leaves. */
static size_t task_count(const struct args *a, const struct mc_task *t)
{
	return a->limit > 0 && (size_t)a->limit < t->n ? (size_t)a->limit : t->n;
}

static int cmd_mc(int argc, char **argv)
{
	struct args a = {0};
	struct cli *c = &a.c;
	args_init(&a, "llm-eval mc", mc_usage);
	a.seed = 1234;
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, OPT_ARG("model", OPT_MODEL), TASK_OPTIONS,
		OPT_ARG("json", OPT_JSON), OPT_END,
	};
	parse_shared(&a, argc, argv, CLI_SHORT "m:", lo);
	struct llm_err e;
	char *path;
	struct mc_task t;
	load_task(&a, &t, &path);
	struct eval_model L;
	load_model(c, a.model, a.tok, &L);
	struct rng g;
	rng_seed(&g, a.seed);
	size_t n = task_count(&a, &t);
	/* -o only when asked: the per-question lines are a log, not the result */
	struct output *out = c->output ? open_out(c) : NULL;
	struct mc_sums sums = {0};
	if (eval_mc(c, &L.lm, &t, path, n, &a.p, &g, out, &sums, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	if (out)
		close_out(c, out);
	cli_progress_end(c);
	struct mc_result res;
	mc_result(&sums, &res);
	double secs = cli_elapsed(c);
	eval_mc_print(stdout, &res, n, a.task, &a.p, secs);
	if (a.json)
		save(c, a.json, eval_mc_json(a.model, a.task, &a.p, &res, n, secs),
		     JSON_FILE);
	free(path);
	mc_free(&t);
	eval_model_free(&L);
	return finish(c, "questions", n);
}

/* ---- generate ---- */

static const char generate_usage[] =
	"usage: llm-eval generate --model CKPT -m TOKENIZER --prompts FILE.jsonl\n"
	"                         [options]\n"
	"Continue each prompt ({\"id\", \"prompt\", ...} a line) and write the line\n"
	"back with \"completion\", \"tokens\" and \"stop_reason\" added, as JSONL.\n"
	"  -m TOKENIZER       a tokenizer file llm-bpe reads, or 'bytes'\n"
	"  --max-tokens N     token cap (128)\n"
	"  --temperature T    0 for greedy (the default)\n"
	"  --top-k K          sample among the K most likely (0: all)\n"
	"  --top-p P          nucleus sampling (1: off)\n"
	"  --seed S           sampling seed; prompt i uses S + i (0)\n"
	"  --stop STRING      stop at STRING (repeatable); end-of-text always stops\n"
	"  --judge CMD        score each result: the line as JSON on CMD's stdin,\n"
	"                     a number on its stdout (adds \"judge\")\n"
	"  --judge-timeout S  seconds per judge run (60)\n"
	"  --on-error=skip    a failing judge is recorded in \"judge_error\"\n"
	"  -o FILE, -j N, --stats FILE\n";

#define MAX_STOPS 16

struct gen_args {
	struct args a;
	const char *prompts;
	struct gen_opts o;
	const char *stops[MAX_STOPS];
};

static void parse_generate(struct gen_args *r, int argc, char **argv)
{
	struct cli *c = &r->a.c;
	enum { PROMPTS = OPT_OWN, MAXT, TEMP, TOPK, TOPP, STOP };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, OPT_ARG("model", OPT_MODEL),
		OPT_ARG("prompts", PROMPTS), OPT_ARG("max-tokens", MAXT),
		OPT_ARG("temperature", TEMP), OPT_ARG("top-k", TOPK),
		OPT_ARG("top-p", TOPP), OPT_ARG("seed", OPT_SEED),
		OPT_ARG("stop", STOP), JUDGE_OPTIONS, OPT_END,
	};
	int opt;
	while ((opt = next_option(&r->a, argc, argv, CLI_SHORT "m:", lo)) != -1) {
		switch (opt) {
		case PROMPTS: r->prompts = optarg; break;
		case MAXT: r->o.max_tokens = (int)cli_long(c, "--max-tokens", optarg, 1, 1 << 20); break;
		case TEMP: r->o.temperature = cli_double(c, "--temperature", optarg, 0, 100); break;
		case TOPK: r->o.top_k = (int)cli_long(c, "--top-k", optarg, 0, 1 << 30); break;
		case TOPP: r->o.top_p = cli_double(c, "--top-p", optarg, 0, 1); break;
		case STOP:
			if (r->o.nstops == MAX_STOPS)
				cli_usage_error(c, "more than %d --stop strings", MAX_STOPS);
			r->stops[r->o.nstops++] = optarg;
			break;
		}
	}
	no_operands(&r->a, argc, argv);
	if (!r->prompts)
		cli_usage_error(c, "--prompts FILE.jsonl is required");
}

static int cmd_generate(int argc, char **argv)
{
	struct gen_args r = {0};
	struct cli *c = &r.a.c;
	args_init(&r.a, "llm-eval generate", generate_usage);
	r.o = (struct gen_opts){128, 0, 0, 1, r.stops, 0, 1};
	parse_generate(&r, argc, argv);
	struct lines l;
	struct llm_err e;
	if (lines_read(&l, r.prompts, LINES_CR, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	struct eval_model L;
	load_model(c, r.a.model, r.a.tok, &L);
	struct output *out = open_out(c);
	struct eval_gen g = {&r.o, &r.a.j, r.a.seed, r.prompts};
	size_t n, tokens;
	if (eval_generate(c, &L.lm, &g, &l, out, &n, &tokens, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	close_out(c, out);
	cli_progress_end(c);
	double secs = cli_elapsed(c);
	fprintf(stderr, "%s: %zu tokens, %.1f tokens/s\n", c->prog, tokens,
		secs > 0 ? (double)tokens / secs : 0);
	lines_free(&l);
	eval_model_free(&L);
	return finish(c, "prompts", n);
}

/* ---- prompts ---- */

static const char prompts_usage[] =
	"usage: llm-eval prompts --task TASK [options]\n"
	"Write the multiple-choice requests of a task, one JSON object a\n"
	"question: id, context, continuations, chars (choice lengths), gold.\n"
	"TASK: hellaswag, arc (= arc_challenge), arc_easy, arc_challenge, mmlu,\n"
	"or a file (HellaSwag text or JSONL, ARC JSONL, MMLU CSV or folder, or\n"
	"generic JSONL {\"context\", \"choices\", \"gold\"}).\n"
	"  --data-dir DIR   where the named tasks are ($LLM_EVAL_DATA,\n"
	"                   else ../shared/data/eval)\n"
	"  --shots K        solved examples before each question (0)\n"
	"  --letter         list the choices, continuations \" A\", \" B\", ...\n"
	"  --limit N        the first N questions\n"
	"  --seed S         seed of the shot draws (1234)\n"
	"  -o FILE, --stats FILE\n";

static int cmd_prompts(int argc, char **argv)
{
	struct args a = {0};
	struct cli *c = &a.c;
	args_init(&a, "llm-eval prompts", prompts_usage);
	a.seed = 1234;
	static const struct option lo[] = {CLI_LONG_OPTIONS, TASK_OPTIONS, OPT_END};
	parse_shared(&a, argc, argv, CLI_SHORT, lo);
	char *path;
	struct mc_task t;
	load_task(&a, &t, &path);
	free(path);
	struct llm_err e;
	struct rng g;
	rng_seed(&g, a.seed);
	size_t n = task_count(&a, &t);
	struct output *out = open_out(c);
	for (size_t i = 0; i < n; i++) {
		json_t *req = eval_mc_request(&t, i, &a.p, &g, &e);
		if (!req || jsonl_write(out, req, &e) < 0)
			cli_fatal(c, "%s", e.msg);
	}
	close_out(c, out);
	mc_free(&t);
	return finish(c, "questions", n);
}

/* ---- review ---- */

static const char review_usage[] =
	"usage: llm-eval review export --in GENERATIONS.jsonl [-o SHEET.csv]\n"
	"                              [--html PAGE.html] [--judge CMD]\n"
	"       llm-eval review import [--json FILE] SHEET.csv\n"
	"Human and judge review of generations.\n"
	"export: a CSV sheet with an empty rating column (and an HTML page)\n"
	"  for raters; with --judge, CMD runs once per item with the item as\n"
	"  JSON on its stdin and prints a score, filling judge_score.\n"
	"import: mean rating per group with a 95% confidence interval.\n"
	"  --judge-timeout S   seconds a judge may take per item (60)\n"
	"  --on-error=skip     record a failed judge in judge_error and go on\n"
	"                      (default: stop at the first failure)\n"
	"  --json FILE         the summary as JSON\n"
	"  -o FILE, --stats FILE\n";

static int review_export_cmd(struct cli *c, const char *in, const char *html,
			     const struct judge *j)
{
	size_t n;
	struct llm_err e;
	json_t **items = jsonl_read(in, review_check_item, &n, &e);
	struct buf sheet = {0};
	if (!items || review_export(c, items, n, in, j, &sheet, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	struct output *out = open_out(c);
	if (output_write(out, sheet.p, sheet.len, &e) < 0) {
		output_abort(out);
		cli_fatal(c, "%s", e.msg);
	}
	close_out(c, out);
	if (html) {
		struct buf page = {0};
		review_html(&page, items, n, in);
		if (atomic_write_file(html, page.p, page.len, &e) < 0)
			cli_fatal(c, "%s", e.msg);
		buf_free(&page);
	}
	jsonl_free(items, n);
	buf_free(&sheet);
	return finish(c, "items", n);
}

static int review_import_cmd(struct cli *c, const char *sheet, const char *json)
{
	struct review_summary s;
	struct llm_err e;
	if (review_import(sheet, &s, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	review_summary_print(stdout, &s);
	if (json)
		save(c, json, review_summary_json(&s), JSON_FILE);
	size_t rows = s.rows;
	review_summary_free(&s);
	return finish(c, "rows", rows);
}

static int cmd_review(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval review", review_usage);
	struct cli *c = &a.c;
	const char *in = NULL, *html = NULL;
	enum { IN = OPT_OWN, HTML };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, OPT_ARG("in", IN), OPT_ARG("html", HTML),
		JUDGE_OPTIONS, OPT_ARG("json", OPT_JSON), OPT_END,
	};
	int opt;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT, lo)) != -1) {
		switch (opt) {
		case IN: in = optarg; break;
		case HTML: html = optarg; break;
		}
	}
	const char *verb = optind < argc ? argv[optind++] : NULL;
	if (!verb)
		cli_usage_error(c, "review export or review import?");
	if (strcmp(verb, "export") == 0) {
		if (!in)
			cli_usage_error(c, "export: --in GENERATIONS.jsonl is required");
		if (optind < argc)
			cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
		return review_export_cmd(c, in, html, &a.j);
	}
	if (strcmp(verb, "import") == 0) {
		if (optind + 1 != argc)
			cli_usage_error(c, "import: give one SHEET.csv");
		return review_import_cmd(c, argv[optind], a.json);
	}
	cli_usage_error(c, "unknown review command '%s' (export, import)", verb);
}

/* ---- main ---- */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

int main(int argc, char **argv)
{
	static const struct command cmds[] = {
		{"bleu", cmd_bleu},
		{"chrf", cmd_chrf},
		{"rouge", cmd_rouge},
		{"ppl", cmd_ppl},
		{"mc", cmd_mc},
		{"generate", cmd_generate},
		{"prompts", cmd_prompts},
		{"review", cmd_review},
	};
	struct cli c;
	cli_init(&c, "llm-eval", usage);
	/* A judge that exits without reading its input must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	static const struct option lo[] = {CLI_LONG_OPTIONS, {NULL, 0, NULL, 0}};
	int opt;
	/* "+": stop at the command, whose options are its own. */
	while ((opt = getopt_long(argc, argv, "+" CLI_SHORT, lo, NULL)) != -1)
		cli_option(&c, opt, optarg);
	if (optind >= argc)
		cli_usage_error(&c, "no command given");
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		if (strcmp(name, cmds[i].name) == 0) {
			json_decref(c.stats);
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 0;	/* restart getopt on the command's arguments */
			return cmds[i].run(sub_argc, sub_argv);
		}
	}
	cli_usage_error(&c, "unknown command '%s'", name);
}
