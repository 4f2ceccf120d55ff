/*
 * llm-eval - evaluate models and texts: perplexity, multiple-choice
 * benchmarks, generations for review, and the reference metrics BLEU,
 * chrF and ROUGE.
 *
 * One program, one subcommand per job; each subcommand parses its options
 * and wires files to the lib/ module that does the work (bleu.h, chrf.h,
 * rouge.h, evaltask.h, lmscore.h, review.h).  See llm-eval(1).
 */
#include "bleu.h"
#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "checkpoint.h"
#include "chrf.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "evaltask.h"
#include "lm_model.h"
#include "lmscore.h"
#include "model.h"
#include "ops.h"
#include "output.h"
#include "pystr.h"
#include "review.h"
#include "rng.h"
#include "rouge.h"
#include "shard.h"
#include "version.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
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

/* Write n bytes to out, or fail the run. */
static void put(const struct cli *c, struct output *out, const char *p,
		size_t n)
{
	struct llm_err e;
	if (output_write(out, p, n, &e) < 0) {
		output_abort(out);
		cli_fatal(c, "%s", e.msg);
	}
}

/* Write one JSON value as a line to out, or fail the run. */
static void emit(const struct cli *c, struct output *out, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
	size_t n = strlen(s);
	s[n] = '\n';	/* json_dumps leaves room for the NUL we replace */
	put(c, out, s, n + 1);
	free(s);
	json_decref(v);
}

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

/* Write j (dropping the reference) as a file of its own, atomically. */
static void write_json(const struct cli *c, const char *path, json_t *j,
		       size_t flags)
{
	struct llm_err e;
	char *txt = json_dumps(j, flags);
	struct buf b = {0};
	buf_puts(&b, txt);
	buf_putc(&b, '\n');
	free(txt);
	if (atomic_write_file(path, b.p, b.len, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	buf_free(&b);
	json_decref(j);
}

#define JSON_FILE (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

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
		write_json(c, c->stats_path, c->stats,
			   JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	} else {
		json_decref(c->stats);
	}
	c->stats = NULL;
	return EXIT_OK;
}

/* Line i of a JSONL file as a JSON value; a line that does not parse, or
 * that check (when given) finds wrong, stops the run at path:line. */
static json_t *jsonl_at(const struct cli *c, const struct lines *l, size_t i,
			const char *path, const char *(*check)(const json_t *))
{
	json_error_t je;
	json_t *o = json_loadb(lines_at(l, i), l->len[i], 0, &je);
	const char *why = !o ? je.text : check ? check(o) : NULL;
	if (why)
		cli_fatal(c, "%s:%zu: %s", path, i + 1, why);
	return o;
}

/* Every non-blank line of a JSONL file, checked as jsonl_at() does. */
static json_t **jsonl_read(const struct cli *c, const char *path,
			   const char *(*check)(const json_t *), size_t *n)
{
	struct lines l;
	struct llm_err e;
	if (lines_read(&l, path, LINES_CR, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	json_t **v = xcalloc(l.n ? l.n : 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < l.n; i++)
		if (l.len[i] != 0)
			v[(*n)++] = jsonl_at(c, &l, i, path, check);
	lines_free(&l);
	return v;
}

static void jsonl_free(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
}

/* Hypothesis and reference files, line-aligned. */
#define MAX_REFS 64

struct segs {
	const char *hyp_path;
	const char *ref_path[MAX_REFS];
	int nrefs;
	struct lines hyp, ref[MAX_REFS];
};

static void add_ref(const struct cli *c, struct segs *s, const char *path)
{
	if (s->nrefs == MAX_REFS)
		cli_usage_error(c, "more than %d --ref files", MAX_REFS);
	s->ref_path[s->nrefs++] = path;
}

static void load_segs(const struct cli *c, struct segs *s, enum lines_mode m)
{
	struct llm_err e;
	if (!s->hyp_path)
		cli_usage_error(c, "--hyp FILE is required");
	if (s->nrefs == 0)
		cli_usage_error(c, "at least one --ref FILE is required");
	if (lines_read(&s->hyp, s->hyp_path, m, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	if (s->hyp.n == 0)
		cli_fatal(c, "%s: no segments", s->hyp_path);
	for (int r = 0; r < s->nrefs; r++) {
		if (lines_read(&s->ref[r], s->ref_path[r], m, &e) < 0)
			cli_fatal(c, "%s", e.msg);
		if (s->ref[r].n != s->hyp.n)
			cli_fatal(c, "%s has %zu lines but %s has %zu: references "
				  "must be line-aligned with the hypotheses",
				  s->ref_path[r], s->ref[r].n, s->hyp_path, s->hyp.n);
	}
}

/* The references of segment i, as arrays for the metric modules. */
static void seg_refs(const struct segs *s, size_t i, const char **refs,
		     size_t *lens)
{
	for (int r = 0; r < s->nrefs; r++) {
		refs[r] = lines_at(&s->ref[r], i);
		lens[r] = s->ref[r].len[i];
	}
}

static void free_segs(struct segs *s)
{
	lines_free(&s->hyp);
	for (int r = 0; r < s->nrefs; r++)
		lines_free(&s->ref[r]);
}

static json_t *num(double v)
{
	/* Whole numbers as integers, as Python prints ints. */
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* ---- options ---- */

/* What the options several commands share set; the defaults are the
 * caller's (args_init). */
struct args {
	struct cli c;
	struct segs s;			/* --hyp, --ref */
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
	case OPT_REF: add_ref(c, &a->s, arg); break;
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

static json_t *bleu_json(const struct bleu_opts *o, const struct bleu_score *s,
			 int nrefs)
{
	json_t *counts = json_array(), *totals = json_array(), *prec = json_array();
	for (int k = 0; k < o->max_order; k++) {
		json_array_append_new(counts, num(s->stats.correct[k]));
		json_array_append_new(totals, num(s->stats.total[k]));
		json_array_append_new(prec, json_real(s->precisions[k]));
	}
	struct buf sig = {0};
	bleu_signature(o, nrefs, &sig);
	double ratio = s->stats.ref_len ? s->stats.sys_len / s->stats.ref_len : 0;
	json_t *j = json_pack("{s:s, s:f, s:o, s:o, s:o, s:f, s:f, s:I, s:I, s:s}",
		"name", "BLEU", "score", s->score, "counts", counts,
		"totals", totals, "precisions", prec, "bp", s->bp,
		"ratio", ratio, "sys_len", (json_int_t)s->stats.sys_len,
		"ref_len", (json_int_t)s->stats.ref_len, "signature", sig.p);
	buf_free(&sig);
	return j;
}

static int cmd_bleu(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval bleu", bleu_usage);
	struct cli *c = &a.c;
	struct segs *s = &a.s;
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
	static const char *const toks[] = {"13a", "intl", "char", "none"};
	static const char *const smooths[] = {"exp", "floor", "add-k", "none"};
	int opt;
	while ((opt = next_option(&a, argc, argv, CLI_SHORT, lo)) != -1) {
		switch (opt) {
		case TOK:
			for (o.tok = 0; o.tok < 4 && strcmp(optarg, toks[o.tok]); o.tok++)
				;
			if (o.tok == 4)
				cli_usage_error(c, "--tokenize: '%s' is not 13a, intl, char or none", optarg);
			break;
		case SMOOTH:
			for (o.smooth = 0; o.smooth < 4 && strcmp(optarg, smooths[o.smooth]); o.smooth++)
				;
			if (o.smooth == 4)
				cli_usage_error(c, "--smooth: '%s' is not exp, floor, add-k or none", optarg);
			break;
		case SVAL: o.smooth_value = cli_double(c, "--smooth-value", optarg, 0, 1e9); break;
		case LOWER: o.lowercase = 1; break;
		case EFF: o.effective_order = 1; break;
		case MAXN: o.max_order = (int)cli_long(c, "--max-ngram", optarg, 1, BLEU_MAX_ORDER); break;
		}
	}
	no_operands(&a, argc, argv);
	int sentence = a.sentence;
	if (sentence)
		o.effective_order = 1;
	load_segs(c, s, LINES_RSTRIP);

	struct bleu *b = bleu_new(&o);
	struct output *out = open_out(c);
	struct bleu_stats sum = {0}, seg;
	struct bleu_score score;
	const char *refs[MAX_REFS];
	size_t lens[MAX_REFS];
	for (size_t i = 0; i < s->hyp.n; i++) {
		seg_refs(s, i, refs, lens);
		bleu_segment(b, lines_at(&s->hyp, i), s->hyp.len[i], refs, lens,
			     s->nrefs, &seg);
		if (sentence) {
			bleu_compute(&o, &seg, &score);
			emit(c, out, bleu_json(&o, &score, s->nrefs));
		}
		bleu_stats_add(&sum, &seg, o.max_order);
	}
	if (!sentence) {
		bleu_compute(&o, &sum, &score);
		emit(c, out, bleu_json(&o, &score, s->nrefs));
	}
	close_out(c, out);
	bleu_free(b);
	size_t n = s->hyp.n;
	free_segs(s);
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

static json_t *chrf_json(const struct chrf_opts *o, double score, int nrefs)
{
	struct buf name = {0}, sig = {0};
	chrf_name(o, &name);
	chrf_signature(o, nrefs, &sig);
	json_t *j = json_pack("{s:s, s:f, s:i, s:i, s:i, s:s}", "name", name.p,
			      "score", score, "char_order", o->char_order,
			      "word_order", o->word_order, "beta", (int)o->beta,
			      "signature", sig.p);
	buf_free(&name);
	buf_free(&sig);
	return j;
}

static int cmd_chrf(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval chrf", chrf_usage);
	struct cli *c = &a.c;
	struct segs *s = &a.s;
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
	load_segs(c, s, LINES_RSTRIP);

	struct chrf *ch = chrf_new(&o);
	struct output *out = open_out(c);
	struct chrf_stats sum = {{0}}, seg;
	const char *refs[MAX_REFS];
	size_t lens[MAX_REFS];
	for (size_t i = 0; i < s->hyp.n; i++) {
		seg_refs(s, i, refs, lens);
		chrf_segment(ch, lines_at(&s->hyp, i), s->hyp.len[i], refs, lens,
			     s->nrefs, &seg);
		if (a.sentence)
			emit(c, out, chrf_json(&o, chrf_compute(&o, &seg), s->nrefs));
		chrf_stats_add(&o, &sum, &seg);
	}
	if (!a.sentence)
		emit(c, out, chrf_json(&o, chrf_compute(&o, &sum), s->nrefs));
	close_out(c, out);
	chrf_free(ch);
	size_t n = s->hyp.n;
	free_segs(s);
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

/* A --jsonl line: "hyp" a string, "ref" one or a list of them. */
static const char *check_pair(const json_t *o)
{
	json_t *r = json_object_get(o, "ref");
	if (!json_is_string(json_object_get(o, "hyp")))
		return "\"hyp\" is missing or not a string";
	if (!json_is_string(r) && !(json_is_array(r) && json_array_size(r) > 0))
		return "\"ref\" is not a string or a non-empty array of strings";
	for (size_t k = 0; json_is_array(r) && k < json_array_size(r); k++)
		if (!json_is_string(json_array_get(r, k)))
			return "\"ref\" holds a value that is not a string";
	return NULL;
}

static json_t *score_json(const struct rouge_score *s)
{
	return json_pack("{s:f, s:f, s:f}", "precision", s->precision,
			 "recall", s->recall, "fmeasure", s->fmeasure);
}

static json_t *types_json(const struct rouge_type *t, int nt,
			  const struct rouge_score *s)
{
	json_t *o = json_object();
	for (int k = 0; k < nt; k++)
		json_object_set_new(o, t[k].name, score_json(&s[k]));
	return o;
}

struct rouge_run {
	struct rouge_type types[ROUGE_MAX_TYPES];
	int ntypes;
	int stem, nboot;
	double confidence;
	uint32_t seed;
};

static json_t *rouge_summary(const struct rouge_run *o,
			     const struct rouge_score *all, size_t n)
{
	struct rouge_score mean[ROUGE_MAX_TYPES];
	memset(mean, 0, sizeof mean);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < o->ntypes; k++) {
			mean[k].precision += all[i * (size_t)o->ntypes + (size_t)k].precision;
			mean[k].recall += all[i * (size_t)o->ntypes + (size_t)k].recall;
			mean[k].fmeasure += all[i * (size_t)o->ntypes + (size_t)k].fmeasure;
		}
	for (int k = 0; k < o->ntypes; k++) {
		mean[k].precision /= (double)n;
		mean[k].recall /= (double)n;
		mean[k].fmeasure /= (double)n;
	}
	json_t *pairs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pairs, types_json(o->types, o->ntypes,
							all + i * (size_t)o->ntypes));
	json_t *res = json_pack("{s:o, s:o, s:I}", "pairs", pairs, "mean",
				types_json(o->types, o->ntypes, mean),
				"count", (json_int_t)n);
	if (o->nboot > 0) {
		struct rouge_ci ci[ROUGE_MAX_TYPES];
		rouge_bootstrap(all, n, o->ntypes, o->nboot, o->confidence, o->seed, ci);
		json_t *b = json_pack("{s:i, s:I, s:f}", "samples", o->nboot,
				      "seed", (json_int_t)o->seed, "confidence", o->confidence);
		for (int k = 0; k < o->ntypes; k++)
			json_object_set_new(b, o->types[k].name,
				json_pack("{s:o, s:o, s:o}", "low", score_json(&ci[k].low),
					  "mid", score_json(&ci[k].mid),
					  "high", score_json(&ci[k].high)));
		json_object_set_new(res, "bootstrap", b);
	}
	return res;
}

/* The hypothesis and references of pair i, from --jsonl or the files. */
static int rouge_pair(const struct args *a, const char *jsonl, json_t **pairs,
		      size_t i, const char **hyp, size_t *hlen,
		      const char **refs, size_t *lens)
{
	if (!jsonl) {
		*hyp = lines_at(&a->s.hyp, i);
		*hlen = a->s.hyp.len[i];
		seg_refs(&a->s, i, refs, lens);
		return a->s.nrefs;
	}
	json_t *h = json_object_get(pairs[i], "hyp");
	json_t *rf = json_object_get(pairs[i], "ref");
	*hyp = json_string_value(h);
	*hlen = json_string_length(h);
	int nrefs = json_is_string(rf) ? 1 : (int)json_array_size(rf);
	if (nrefs > MAX_REFS)
		cli_fatal(&a->c, "%s: pair %zu has more than %d references",
			  jsonl, i + 1, MAX_REFS);
	for (int k = 0; k < nrefs; k++) {
		json_t *x = json_is_string(rf) ? rf : json_array_get(rf, (size_t)k);
		refs[k] = json_string_value(x);
		lens[k] = json_string_length(x);
	}
	return nrefs;
}

static int cmd_rouge(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval rouge", rouge_usage);
	struct cli *c = &a.c;
	struct rouge_run o = {0};
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
		pairs = jsonl_read(c, jsonl, check_pair, &n);
		if (n == 0)
			cli_fatal(c, "%s: no pairs", jsonl);
	} else {
		load_segs(c, &a.s, LINES_CR);
		n = a.s.hyp.n;
	}
	struct rouge *r = rouge_new(o.stem);
	struct rouge_score *all = xcalloc(n * (size_t)o.ntypes, sizeof *all);
	const char *refs[MAX_REFS];
	size_t lens[MAX_REFS];
	for (size_t i = 0; i < n; i++) {
		const char *hyp;
		size_t hlen;
		int nrefs = rouge_pair(&a, jsonl, pairs, i, &hyp, &hlen, refs, lens);
		rouge_score(r, o.types, o.ntypes, hyp, hlen, refs, lens, nrefs,
			    all + i * (size_t)o.ntypes);
	}
	struct output *out = open_out(c);
	emit(c, out, rouge_summary(&o, all, n));
	close_out(c, out);
	rouge_free(r);
	free(all);
	if (pairs)
		jsonl_free(pairs, n);
	free_segs(&a.s);
	return finish(c, "pairs", n);
}

struct judge;
static double judge_item(struct cli *c, const struct judge *j, json_t *item,
			 const char *path, size_t i, struct buf *why);
static json_t *request_json(const struct mc_task *t, size_t i,
			    const struct mc_prompt *p, struct rng *g,
			    const struct cli *c);

/* ---- the model ---- */

/* A checkpoint and its tokenizer, as the struct lm the scorers use. */
struct loaded {
	struct pool *pool;
	struct model *m;
	struct bpe *tok;
	struct lm_model *x;
	struct lm lm;
};

/* GPT-2's byte-level tokenizer stripped to its bytes: ids 0..255 are the
 * bytes, 256 the end-of-text token (for -m bytes). */
static struct bpe *byte_tokenizer(const struct cli *c, int vocab)
{
	struct llm_err e;
	if (vocab < 257)
		cli_usage_error(c, "-m bytes needs a vocabulary of at least 257 "
				"(256 bytes and end-of-text), not %d", vocab);
	struct bpe *t = bpe_new();
	for (uint32_t b = 0; b < 256; b++) {
		unsigned char ch = (unsigned char)b;
		bpe_add_token(t, b, &ch, 1, 0, &e);
	}
	if (bpe_add_token(t, 256, "<|endoftext|>", 13, 1, &e) < 0 ||
	    bpe_prepare(t, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	return t;
}

static void load_model(const struct cli *c, const char *ckpt,
		       const char *tokenizer, struct loaded *L)
{
	struct llm_err e;
	if (!ckpt)
		cli_usage_error(c, "--model CKPT is required");
	if (!tokenizer)
		cli_usage_error(c, "-m TOKENIZER (or -m bytes) is required");
	struct ckpt *k = ckpt_open(ckpt, &e);
	if (!k)
		cli_fatal(c, "%s", e.msg);
	struct model_config cfg = *ckpt_config(k);
	L->pool = pool_new(c->threads);
	L->m = model_new(&cfg, L->pool, &e);
	if (!L->m || ckpt_load_model(k, L->m, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	ckpt_close(k);
	if (strcmp(tokenizer, "bytes") == 0) {
		L->tok = byte_tokenizer(c, cfg.vocab);
	} else {
		const char *paths[1] = {tokenizer};
		if (!(L->tok = bpe_load(paths, 1, &e)))
			cli_fatal(c, "%s", e.msg);
	}
	if (L->tok->eot != BPE_NONE && L->tok->eot >= (uint32_t)cfg.vocab)
		cli_fatal(c, "%s: end-of-text id %u is beyond the model's vocabulary %d",
			  tokenizer, L->tok->eot, cfg.vocab);
	if (!(L->x = lm_model_new(L->m, L->tok, &e)))
		cli_fatal(c, "%s: %s", tokenizer, e.msg);
	lm_model_lm(L->x, &L->lm);
}

static void free_model(struct loaded *L)
{
	lm_model_free(L->x);
	model_free(L->m);
	pool_free(L->pool);
	bpe_free(L->tok);
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

struct ppl_run {
	struct args a;
	struct loaded L;
	struct ppl_sums sums;
};

static int ppl_docs(struct ppl_run *r, const char *path)
{
	struct lines l;
	struct llm_err e;
	struct doc d = {0};
	if (lines_read(&l, path, LINES_CR, &e) < 0)
		cli_fatal(&r->a.c, "%s", e.msg);
	for (size_t i = 0; i < l.n && (r->a.limit < 0 || r->sums.docs < (size_t)r->a.limit); i++) {
		if (pystr_rstrip(lines_at(&l, i), l.len[i]) == 0)
			continue;
		if (doc_parse(&d, lines_at(&l, i), l.len[i], &e) < 0)
			cli_fatal(&r->a.c, "%s:%zu: %s", path, i + 1, e.msg);
		if (ppl_document(&r->L.lm, d.text, d.text_len, &r->sums, &e) < 0)
			cli_fatal(&r->a.c, "%s:%zu: %s", path, i + 1, e.msg);
		cli_progress(&r->a.c, r->sums.docs, (uint64_t)r->sums.bytes);
	}
	doc_free(&d);
	lines_free(&l);
	return 0;
}

/* Score one document of tokens, its text decoded for bytes and words. */
static void ppl_tokens(struct ppl_run *r, const uint32_t *ids, size_t n)
{
	struct llm_err e;
	struct buf text = {0};
	double ll;
	if (bpe_decode(r->L.tok, ids, n, &text, &e) < 0 ||
	    lm_rolling(&r->L.lm, ids, n, &ll, &e) < 0)
		cli_fatal(&r->a.c, "%s", e.msg);
	ppl_add(&r->sums, ll, n, ppl_count_words(text.p ? text.p : "", text.len), text.len);
	buf_free(&text);
}

static int ppl_shards(struct ppl_run *r, const char *dir, const char *split)
{
	struct llm_err e;
	struct shard_set *s = shard_set_open(dir, split, &e);
	if (!s)
		cli_fatal(&r->a.c, "%s", e.msg);
	uint64_t n = shard_set_ntokens(s);
	uint32_t eot = shard_set_eot(s);
	if (eot != r->L.lm.eot)
		cli_fatal(&r->a.c, "%s: end-of-text is %u in the shards, %u in the tokenizer",
			  dir, eot, r->L.lm.eot);
	uint32_t *t = xmalloc((n ? n : 1) * sizeof *t);
	if (shard_set_read(s, 0, t, n, &e) < 0)
		cli_fatal(&r->a.c, "%s", e.msg);
	/* Documents are the runs between end-of-text tokens. */
	for (uint64_t i = 0; i < n && (r->a.limit < 0 || r->sums.docs < (size_t)r->a.limit);) {
		uint64_t j = i;
		while (j < n && t[j] != eot)
			j++;
		if (j > i)
			ppl_tokens(r, t + i, j - i);
		cli_progress(&r->a.c, r->sums.docs, (uint64_t)r->sums.bytes);
		i = j + 1;
	}
	free(t);
	shard_set_close(s);
	return 0;
}

static int cmd_ppl(int argc, char **argv)
{
	struct ppl_run r = {0};
	struct args *a = &r.a;
	args_init(a, "llm-eval ppl", ppl_usage);
	const char *data = NULL, *split = "val";
	enum { DATA = OPT_OWN, SPLIT };
	static const struct option lo[] = {
		CLI_LONG_OPTIONS, OPT_ARG("model", OPT_MODEL), OPT_ARG("data", DATA),
		OPT_ARG("json", OPT_JSON), OPT_ARG("limit", OPT_LIMIT),
		OPT_ARG("split", SPLIT), OPT_END,
	};
	int opt;
	while ((opt = next_option(a, argc, argv, CLI_SHORT "m:", lo)) != -1) {
		switch (opt) {
		case DATA: data = optarg; break;
		case SPLIT: split = optarg; break;
		}
	}
	no_operands(a, argc, argv);
	if (!data)
		cli_usage_error(&a->c, "--data DOCS.jsonl|SHARDS_DIR is required");
	load_model(&a->c, a->model, a->tok, &r.L);
	struct stat st;
	if (stat(data, &st) == 0 && S_ISDIR(st.st_mode))
		ppl_shards(&r, data, split);
	else
		ppl_docs(&r, data);
	cli_progress_end(&a->c);
	if (r.sums.docs == 0)
		cli_fatal(&a->c, "%s: no documents", data);
	struct ppl_result p;
	ppl_result(&r.sums, &p);
	double secs = cli_elapsed(&a->c);
	printf("%-16s %12s\n", "metric", "value");
	printf("%-16s %12.4f  +- %.4f\n", "loss", p.loss, p.loss_stderr);
	printf("%-16s %12.4f\n%-16s %12.4f\n%-16s %12.4f\n%-16s %12.4f\n",
	       "perplexity", p.perplexity, "word_perplexity", p.word_perplexity,
	       "byte_perplexity", p.byte_perplexity, "bits_per_byte", p.bits_per_byte);
	printf("%zu documents, %.0f tokens, %.1f tokens/s\n", r.sums.docs,
	       r.sums.tokens, secs > 0 ? r.sums.tokens / secs : 0);
	if (a->json)
		write_json(&a->c, a->json, json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:f, s:f, s:f, s:f}",
			"model", a->model, "data", data, "loss", p.loss, "loss_stderr", p.loss_stderr,
			"perplexity", p.perplexity, "word_perplexity", p.word_perplexity,
			"byte_perplexity", p.byte_perplexity, "bits_per_byte", p.bits_per_byte,
			"documents", (json_int_t)r.sums.docs, "tokens", r.sums.tokens,
			"words", r.sums.words, "bytes", r.sums.bytes,
			"tokens_per_second", secs > 0 ? r.sums.tokens / secs : 0.0),
			JSON_FILE);
	size_t n = r.sums.docs;
	free_model(&r.L);
	return finish(&a->c, "documents", n);
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
	struct loaded L;
	load_model(&a.c, a.model, a.tok, &L);
	struct rng g;
	rng_seed(&g, a.seed);
	size_t n = task_count(&a, &t);
	struct output *out = a.c.output ? open_out(&a.c) : NULL;
	struct mc_sums sums = {0};
	for (size_t i = 0; i < n; i++) {
		json_t *req = request_json(&t, i, &a.p, &g, &a.c);
		json_t *conts = json_object_get(req, "continuations");
		int nc = (int)json_array_size(conts), acc, acc_norm;
		const char *cs[26];
		size_t chars[26];
		double ll[26];
		for (int k = 0; k < nc; k++) {
			cs[k] = json_string_value(json_array_get(conts, (size_t)k));
			chars[k] = (size_t)json_integer_value(json_array_get(
				json_object_get(req, "chars"), (size_t)k));
		}
		const char *ctx = json_string_value(json_object_get(req, "context"));
		if (lm_mc_item(&L.lm, ctx, strlen(ctx), cs, chars, nc, t.items[i].gold,
			       ll, &acc, &acc_norm, &e) < 0)
			cli_fatal(&a.c, "%s: question %s: %s", path, t.items[i].id, e.msg);
		mc_add(&sums, acc, acc_norm);
		if (out) {
			json_t *lls = json_array();
			for (int k = 0; k < nc; k++)
				json_array_append_new(lls, json_real(ll[k]));
			emit(&a.c, out, json_pack("{s:s, s:o, s:i, s:b, s:b}", "id",
				t.items[i].id, "loglikelihoods", lls, "gold",
				t.items[i].gold, "acc", acc, "acc_norm", acc_norm));
		}
		json_decref(req);
		cli_progress(&a.c, i + 1, 0);
	}
	if (out)
		close_out(&a.c, out);
	cli_progress_end(&a.c);
	struct mc_result res;
	mc_result(&sums, &res);
	double secs = cli_elapsed(&a.c);
	printf("%-20s %8s %8s\n", "metric", "value", "stderr");
	printf("%-20s %8.4f %8.4f\n%-20s %8.4f %8.4f\n", "acc", res.acc,
	       res.acc_stderr, "acc_norm", res.acc_norm, res.acc_norm_stderr);
	printf("%zu questions (%s%s, %d-shot), %.2f questions/s\n", n, a.task,
	       a.p.letter ? ", letters" : "", a.p.shots, secs > 0 ? (double)n / secs : 0);
	if (a.json)
		write_json(&a.c, a.json, json_pack("{s:s, s:s, s:i, s:b, s:f, s:f, s:f, s:f, s:I, s:f}",
			"model", a.model, "task", a.task, "shots", a.p.shots, "letter", a.p.letter,
			"acc", res.acc, "acc_stderr", res.acc_stderr, "acc_norm", res.acc_norm,
			"acc_norm_stderr", res.acc_norm_stderr, "examples", (json_int_t)n,
			"examples_per_second", secs > 0 ? (double)n / secs : 0.0),
			JSON_FILE);
	free(path);
	mc_free(&t);
	free_model(&L);
	return finish(&a.c, "questions", n);
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

struct gen_run {
	struct args a;
	const char *prompts;
	struct gen_opts o;
	const char *stops[MAX_STOPS];
};

static void parse_generate(struct gen_run *r, int argc, char **argv)
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

static const char *check_prompt(const json_t *o)
{
	return json_is_string(json_object_get(o, "prompt")) ? NULL
		: "missing string \"prompt\"";
}

static int cmd_generate(int argc, char **argv)
{
	static const char *const why[] = {"length", "stop", "eot"};
	struct gen_run r = {0};
	struct cli *c = &r.a.c;
	const struct judge *j = &r.a.j;
	args_init(&r.a, "llm-eval generate", generate_usage);
	r.o = (struct gen_opts){128, 0, 0, 1, r.stops, 0, 1};
	r.o.stops = r.stops;
	parse_generate(&r, argc, argv);
	struct lines l;
	struct llm_err e;
	if (lines_read(&l, r.prompts, LINES_CR, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	struct loaded L;
	load_model(c, r.a.model, r.a.tok, &L);
	struct output *out = open_out(c);
	struct buf text = {0}, jerr = {0};
	size_t n = 0, tokens = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.len[i] == 0)
			continue;
		json_t *o = jsonl_at(c, &l, i, r.prompts, check_prompt);
		json_t *pr = json_object_get(o, "prompt");
		if (!json_object_get(o, "id"))
			json_object_set_new(o, "id", json_integer((json_int_t)i + 1));
		struct rng g;
		rng_seed(&g, r.a.seed + (uint32_t)n);
		struct gen_result res = {&text, 0, 0};
		if (lm_generate(&L.lm, json_string_value(pr), json_string_length(pr),
				&r.o, &g, &res, &e) < 0)
			cli_fatal(c, "%s:%zu: %s", r.prompts, i + 1, e.msg);
		json_object_set_new(o, "completion", json_stringn(text.p, text.len));
		json_object_set_new(o, "tokens", json_integer((json_int_t)res.tokens));
		json_object_set_new(o, "stop_reason", json_string(why[res.why]));
		if (j->cmd) {
			double score = judge_item(c, j, o, r.prompts, i, &jerr);
			if (isnan(score))
				json_object_set_new(o, "judge_error", json_string(jerr.p));
			else
				json_object_set_new(o, "judge", json_real(score));
		}
		emit(c, out, o);
		n++;
		tokens += res.tokens;
		cli_progress(c, n, 0);
	}
	close_out(c, out);
	cli_progress_end(c);
	double secs = cli_elapsed(c);
	fprintf(stderr, "%s: %zu tokens, %.1f tokens/s\n", c->prog, tokens,
		secs > 0 ? (double)tokens / secs : 0);
	buf_free(&text);
	buf_free(&jerr);
	lines_free(&l);
	free_model(&L);
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

static json_t *request_json(const struct mc_task *t, size_t i,
			    const struct mc_prompt *p, struct rng *g,
			    const struct cli *c)
{
	struct llm_err e;
	struct buf ctx = {0}, cont = {0};
	if (mc_context(t, i, p, g, &ctx, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	const struct mc_item *it = &t->items[i];
	json_t *conts = json_array(), *chars = json_array();
	for (int k = 0; k < it->nchoices; k++) {
		buf_clear(&cont);
		mc_continuation(t, i, k, p, &cont);
		json_array_append_new(conts, json_stringn(cont.p, cont.len));
		size_t n = 0;
		const char *ch = p->letter ? "A" : it->choices[k];
		for (const char *q = ch; *q; q++)	/* code points */
			n += ((unsigned char)*q & 0xc0) != 0x80;
		json_array_append_new(chars, json_integer((json_int_t)n));
	}
	json_t *o = json_pack("{s:s, s:s%, s:o, s:o, s:i}", "id", it->id,
			      "context", ctx.p, ctx.len, "continuations", conts,
			      "chars", chars, "gold", it->gold);
	if (t->format == MC_MMLU)
		json_object_set_new(o, "subject", json_string(t->subjects[it->subject]));
	buf_free(&ctx);
	buf_free(&cont);
	return o;
}

static int cmd_prompts(int argc, char **argv)
{
	struct args a = {0};
	args_init(&a, "llm-eval prompts", prompts_usage);
	a.seed = 1234;
	static const struct option lo[] = {CLI_LONG_OPTIONS, TASK_OPTIONS, OPT_END};
	parse_shared(&a, argc, argv, CLI_SHORT, lo);
	char *path;
	struct mc_task t;
	load_task(&a, &t, &path);
	free(path);
	struct cli *c = &a.c;
	struct rng g;
	rng_seed(&g, a.seed);
	size_t n = task_count(&a, &t);
	struct output *out = open_out(c);
	for (size_t i = 0; i < n; i++)
		emit(c, out, request_json(&t, i, &a.p, &g, c));
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

/* A generation to review: an object with "id" and a string "completion". */
static const char *check_item(const json_t *o)
{
	return !json_is_object(o) ? "not a JSON object"
		: !json_object_get(o, "id") ? "missing \"id\""
		: !json_is_string(json_object_get(o, "completion"))
			? "missing string \"completion\"" : NULL;
}

/* Judge item i; on failure stop, or (--on-error=skip) record why. */
static double judge_item(struct cli *c, const struct judge *j, json_t *item,
			 const char *path, size_t i, struct buf *why)
{
	struct llm_err e;
	double score;
	buf_clear(why);
	if (judge_run(j, item, &score, &e) == 0) {
		cli_count(c, "judged", 1);
		return score;
	}
	char *id = json_dumps(json_object_get(item, "id"), JSON_ENCODE_ANY);
	if (!c->skip_errors)
		cli_fatal(c, "%s: item %zu (id %s): %s", path, i + 1, id, e.msg);
	cli_warn(c, "%s: item %zu (id %s): %s", path, i + 1, id, e.msg);
	cli_count(c, "judge_failed", 1);
	buf_puts(why, e.msg);
	free(id);
	return NAN;
}

static int review_export(struct cli *c, const char *in, const char *html,
			 const struct judge *j)
{
	size_t n;
	struct llm_err e;
	json_t **items = jsonl_read(c, in, check_item, &n);
	struct buf sheet = {0}, why = {0};
	review_sheet_header(&sheet, j->cmd != NULL);
	for (size_t i = 0; i < n; i++) {
		double score = j->cmd ? judge_item(c, j, items[i], in, i, &why) : NAN;
		review_sheet_row(&sheet, items[i], j->cmd != NULL, score,
				 why.len ? why.p : "");
	}
	struct output *out = open_out(c);
	put(c, out, sheet.p, sheet.len);
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
	buf_free(&why);
	return finish(c, "items", n);
}

static json_t *summary_json(const struct review_summary *s)
{
	json_t *groups = json_object();
	for (size_t i = 0; i < s->n; i++) {
		const struct review_group *g = &s->g[i];
		json_t *o = json_pack("{s:I, s:I}", "rated", (json_int_t)g->rated,
				      "unrated", (json_int_t)g->unrated);
		if (g->rated)
			json_object_update_new(o, json_pack("{s:f, s:f}", "mean",
				g->mean, "stderr", g->stderr_));
		if (g->rated > 1)	/* one rating gives no interval */
			json_object_set_new(o, "ci95", json_pack("[f, f]", g->lo, g->hi));
		if (g->judged || g->judge_failed)
			json_object_update_new(o, json_pack("{s:I, s:I, s:f, s:f}",
				"judged", (json_int_t)g->judged,
				"judge_failed", (json_int_t)g->judge_failed,
				"judge_mean", g->judge_mean, "judge_stderr", g->judge_stderr));
		json_object_set_new(groups, g->name, o);
	}
	return json_pack("{s:I, s:o}", "rows", (json_int_t)s->rows, "groups", groups);
}

static int review_import_cmd(struct cli *c, const char *sheet, const char *json)
{
	struct review_summary s;
	struct llm_err e;
	if (review_import(sheet, &s, &e) < 0)
		cli_fatal(c, "%s", e.msg);
	printf("%-24s %6s %8s %8s %8s  %s\n", "group", "rated", "mean", "stderr",
	       "unrated", "95% interval");
	for (size_t i = 0; i < s.n; i++) {
		const struct review_group *g = &s.g[i];
		printf("%-24s %6zu %8.3f %8.3f %8zu", g->name, g->rated, g->mean,
		       g->stderr_, g->unrated);
		if (g->rated > 1)
			printf("  [%.3f, %.3f]", g->lo, g->hi);
		putchar('\n');
		if (g->judged || g->judge_failed)
			printf("%-24s %6zu %8.3f %8.3f %8s  judge, %zu failed\n",
			       "", g->judged, g->judge_mean, g->judge_stderr, "",
			       g->judge_failed);
	}
	if (json)
		write_json(c, json, summary_json(&s), JSON_FILE);
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
		return review_export(c, in, html, &a.j);
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
