/*
 * llm-filter - drop low-quality documents: Gopher, C4 and FineWeb rules,
 * bad words, and a trained quality classifier.
 *
 *   llm-filter [options] [FILE ...]       filter a document stream
 *   llm-filter train --positive A --negative B -o MODEL
 *
 * The rules are lib/quality.h, the classifier lib/classifier.h; this file
 * parses options, wires the stage loop and prints the counts.
 */
#include "classifier.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "input.h"
#include "jscan.h"
#include "output.h"
#include "quality.h"
#include "stage.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char usage[] =
	"usage: llm-filter [options] [FILE ...]\n"
	"       llm-filter train --positive FILE --negative FILE -o MODEL [options]\n"
	"Drop low-quality documents (JSON Lines) by the Gopher, C4 and FineWeb rules,\n"
	"as datatrove implements them, bad words, and a quality classifier.\n"
	"\n"
	"Rules:\n"
	"  -r, --rules LIST     rule sets, in order (default\n"
	"                       gopher-quality,gopher-repetition,c4,fineweb); also\n"
	"                       length, badwords, classifier\n"
	"      --rules-file F   thresholds from a JSON file\n"
	"  -s, --set R.KEY=V    one threshold, e.g. gopher-quality.min_doc_words=30\n"
	"      --min-chars N, --max-chars N, --min-words N, --max-words N\n"
	"                       length bounds (adds the length rule set)\n"
	"      --c4-keep-lines  c4 only cleans lines, never drops a document\n"
	"      --badwords-dir D LDNOOBW lists, one file per language (adds badwords;\n"
	"                       default $LLM_BADWORDS_DIR when badwords is named)\n"
	"      --language L     language of documents without metadata.language (en)\n"
	"Classifier:\n"
	"      --classifier M   model from `llm-filter train` (adds classifier)\n"
	"      --min-score X    drop documents scoring below X (0)\n"
	"      --sample pareto:A  keep when a Pareto(A) draw > 1 - score (GPT-3: A=9)\n"
	"      --seed N         seed of the sampling and of training (1)\n"
	"Output:\n"
	"      --annotate       keep every document, write metadata.filter\n"
	"      --rejected FILE  write dropped documents there, with their reason\n"
	"Training (llm-filter train):\n"
	"      --positive FILE, --negative FILE  documents (repeatable)\n"
	"      --bits B (20), --epochs N (5), --lr X (0.5), --l2 X (1e-6),\n"
	"      --holdout F (0.1), --no-bigrams\n"
	"Common:\n"
	"  -o, --output FILE, -j, --threads N, --stats FILE, --progress,\n"
	"  --on-error=fail|skip, --zstd\n"
	"  -h, --help, -V, --version\n"
	"See llm-filter(1).\n";

enum {
	OPT_RULES_FILE = 1, OPT_MIN_CHARS, OPT_MAX_CHARS, OPT_MIN_WORDS, OPT_MAX_WORDS,
	OPT_C4_KEEP, OPT_BADWORDS, OPT_LANGUAGE, OPT_CLASSIFIER, OPT_MIN_SCORE,
	OPT_SAMPLE, OPT_SEED, OPT_ANNOTATE, OPT_REJECTED, OPT_POSITIVE, OPT_NEGATIVE,
	OPT_BITS, OPT_EPOCHS, OPT_LR, OPT_L2, OPT_HOLDOUT, OPT_NO_BIGRAMS,
};

/* Drop counts of one thread: per rule and per (rule, reason). */
#define MAX_REASONS 64
struct why {
	int rule;
	const char *reason;	/* static strings: compared by address */
	uint64_t n;
};
struct counts {
	uint64_t rule[Q_NRULES + 1];
	struct why why[MAX_REASONS];
	int nwhy;
};

struct worker {
	struct qdoc q;
	struct clf_feats f;
	struct buf lang;
	struct counts k;
};

struct opts {
	struct quality_params p;
	struct qstack st;
	const char *rules, *badwords_dir, *classifier;
	int annotate;
	const char *rejected;
	int set_min_score;
	/* training */
	char **pos, **neg;
	int npos, nneg;
	struct clf_train_opts t;
	double holdout;
	/* run time */
	struct worker *w;
	struct output *rej;
	struct buf rejbuf;
};

static void add_rule(struct cli *c, struct qstack *s, int r)
{
	for (int i = 0; i < s->nrules; i++)
		if (s->rules[i] == r)
			cli_usage_error(c, "--rules: '%s' named twice", qstack_rule_name(r));
	s->rules[s->nrules++] = r;
}

static void parse_rules(struct cli *c, struct qstack *s, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	s->nrules = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int r = strcmp(t, "classifier") == 0 ? Q_CLASSIFIER : quality_rule_parse(t);
		if (r < 0)
			cli_usage_error(c, "--rules: no rule set named '%s' (length, gopher-quality, "
					"gopher-repetition, c4, fineweb, badwords, classifier)", t);
		add_rule(c, s, r);
	}
	free(copy);
	if (!s->nrules)
		cli_usage_error(c, "--rules: no rule set named");
}

static int has_rule(const struct qstack *s, int r)
{
	for (int i = 0; i < s->nrules; i++)
		if (s->rules[i] == r)
			return 1;
	return 0;
}

static void set_param(struct cli *c, struct opts *o, const char *name, const char *value)
{
	struct llm_err e;
	if (quality_set(&o->p, name, value, &e) < 0)
		cli_usage_error(c, "--set: %s", e.msg);
}

static double parse_sample(struct cli *c, const char *arg)
{
	if (strncmp(arg, "pareto:", 7) != 0)
		cli_usage_error(c, "--sample: '%s' is not pareto:ALPHA", arg);
	return cli_double(c, "--sample pareto", arg + 7, 1e-3, 1e6);
}

static void parse(struct cli *c, struct opts *o, int argc, char **argv, int train)
{
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"rules", required_argument, NULL, 'r'},
		{"rules-file", required_argument, NULL, OPT_RULES_FILE},
		{"set", required_argument, NULL, 's'},
		{"min-chars", required_argument, NULL, OPT_MIN_CHARS},
		{"max-chars", required_argument, NULL, OPT_MAX_CHARS},
		{"min-words", required_argument, NULL, OPT_MIN_WORDS},
		{"max-words", required_argument, NULL, OPT_MAX_WORDS},
		{"c4-keep-lines", no_argument, NULL, OPT_C4_KEEP},
		{"badwords-dir", required_argument, NULL, OPT_BADWORDS},
		{"language", required_argument, NULL, OPT_LANGUAGE},
		{"classifier", required_argument, NULL, OPT_CLASSIFIER},
		{"min-score", required_argument, NULL, OPT_MIN_SCORE},
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"seed", required_argument, NULL, OPT_SEED},
		{"annotate", no_argument, NULL, OPT_ANNOTATE},
		{"rejected", required_argument, NULL, OPT_REJECTED},
		{"positive", required_argument, NULL, OPT_POSITIVE},
		{"negative", required_argument, NULL, OPT_NEGATIVE},
		{"bits", required_argument, NULL, OPT_BITS},
		{"epochs", required_argument, NULL, OPT_EPOCHS},
		{"lr", required_argument, NULL, OPT_LR},
		{"l2", required_argument, NULL, OPT_L2},
		{"holdout", required_argument, NULL, OPT_HOLDOUT},
		{"no-bigrams", no_argument, NULL, OPT_NO_BIGRAMS},
		{NULL, 0, NULL, 0},
	};
	struct llm_err e;
	int length = 0, opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT "r:s:", longopts, NULL)) != -1) {
		/* Training options make no sense when filtering, and back. */
		int train_only = opt >= OPT_POSITIVE && opt <= OPT_NO_BIGRAMS;
		int filter_only = opt == 'r' || opt == 's' ||
				  (opt >= OPT_RULES_FILE && opt <= OPT_REJECTED && opt != OPT_SEED);
		if ((train_only && !train) || (filter_only && train))
			cli_usage_error(c, "%s: not an option of %s", argv[optind - 1],
					train ? "llm-filter train" : "filtering (see llm-filter train)");
		switch (opt) {
		case 'r': o->rules = optarg; break;
		case OPT_RULES_FILE:
			if (quality_load(&o->p, optarg, &e) < 0)
				cli_fatal(c, "--rules-file: %s", e.msg);
			break;
		case 's': {
			char *eq = strchr(optarg, '=');
			if (!eq)
				cli_usage_error(c, "--set: '%s' is not RULE.KEY=VALUE", optarg);
			*eq = '\0';
			set_param(c, o, optarg, eq + 1);
			*eq = '=';
			break;
		}
		case OPT_MIN_CHARS: o->p.length.min_chars = cli_long(c, "--min-chars", optarg, 0, LONG_MAX); length = 1; break;
		case OPT_MAX_CHARS: o->p.length.max_chars = cli_long(c, "--max-chars", optarg, 0, LONG_MAX); length = 1; break;
		case OPT_MIN_WORDS: o->p.length.min_words = cli_long(c, "--min-words", optarg, 0, LONG_MAX); length = 1; break;
		case OPT_MAX_WORDS: o->p.length.max_words = cli_long(c, "--max-words", optarg, 0, LONG_MAX); length = 1; break;
		case OPT_C4_KEEP: o->p.c4.keep_lines = 1; break;
		case OPT_BADWORDS: o->badwords_dir = optarg; break;
		case OPT_LANGUAGE: o->st.language = optarg; break;
		case OPT_CLASSIFIER: o->classifier = optarg; break;
		case OPT_MIN_SCORE:
			o->st.min_score = cli_double(c, "--min-score", optarg, 0, 1);
			o->set_min_score = 1;
			break;
		case OPT_SAMPLE: o->st.pareto_alpha = parse_sample(c, optarg); break;
		case OPT_SEED:
			o->st.seed = o->t.seed = (uint64_t)cli_long(c, "--seed", optarg, 0, LONG_MAX);
			break;
		case OPT_ANNOTATE: o->annotate = 1; break;
		case OPT_REJECTED: o->rejected = optarg; break;
		case OPT_POSITIVE:
			o->pos = xrealloc(o->pos, (size_t)(o->npos + 1) * sizeof *o->pos);
			o->pos[o->npos++] = optarg;
			break;
		case OPT_NEGATIVE:
			o->neg = xrealloc(o->neg, (size_t)(o->nneg + 1) * sizeof *o->neg);
			o->neg[o->nneg++] = optarg;
			break;
		case OPT_BITS: o->t.bits = (uint32_t)cli_long(c, "--bits", optarg, 4, CLF_MAX_BITS); break;
		case OPT_EPOCHS: o->t.epochs = (int)cli_long(c, "--epochs", optarg, 1, 1000); break;
		case OPT_LR: o->t.lr = cli_double(c, "--lr", optarg, 1e-6, 100); break;
		case OPT_L2: o->t.l2 = cli_double(c, "--l2", optarg, 0, 1); break;
		case OPT_HOLDOUT: o->holdout = cli_double(c, "--holdout", optarg, 0, 0.9); break;
		case OPT_NO_BIGRAMS: o->t.bigrams = 0; break;
		default: cli_option(c, opt, optarg); break;
		}
	}
	if (train)
		return;

	struct qstack *s = &o->st;
	if (o->rules) {
		parse_rules(c, s, o->rules);
	} else {
		if (length)
			add_rule(c, s, Q_LENGTH);
		add_rule(c, s, Q_GOPHER_QUALITY);
		add_rule(c, s, Q_GOPHER_REPETITION);
		add_rule(c, s, Q_C4);
		add_rule(c, s, Q_FINEWEB);
		if (o->badwords_dir)
			add_rule(c, s, Q_BADWORDS);
	}
	if (o->classifier && !has_rule(s, Q_CLASSIFIER))
		add_rule(c, s, Q_CLASSIFIER);
	if (has_rule(s, Q_CLASSIFIER) && !o->classifier)
		cli_usage_error(c, "the classifier rule needs --classifier MODEL");
	if ((o->set_min_score || s->pareto_alpha > 0) && !o->classifier)
		cli_usage_error(c, "--min-score and --sample need --classifier MODEL");
	if (has_rule(s, Q_BADWORDS) && !o->badwords_dir)
		o->badwords_dir = getenv("LLM_BADWORDS_DIR");
	if (has_rule(s, Q_BADWORDS) && !o->badwords_dir)
		cli_usage_error(c, "badwords needs --badwords-dir DIR (or $LLM_BADWORDS_DIR)");
	if (o->annotate && o->rejected)
		cli_usage_error(c, "--annotate keeps every document: --rejected has nothing to write");
}

/* ---------------------------------------------------------- filtering */

/* metadata.language of d, if it is a string: decoded into b. */
static int meta_language(const struct doc *d, struct buf *b, const char **lang, size_t *n)
{
	if (!d->meta_val.p || d->meta_val.p[0] != '{')
		return 0;
	struct jscan s;
	struct jscan_err je;
	struct jspan key, val;
	int esc;
	jscan_init(&s, d->meta_val.p, d->meta_val.n);
	if (jscan_object_open(&s, &je) < 0)
		return 0;
	while (jscan_object_next(&s, &key, &esc, &val, &je) == 1) {
		if (esc || key.n != 8 || memcmp(key.p, "language", 8) != 0)
			continue;
		if (val.n < 2 || val.p[0] != '"')
			return 0;
		buf_clear(b);
		if (jstr_decode(val.p + 1, val.n - 2, b, &je) < 0)
			return 0;
		*lang = b->p ? b->p : "";
		*n = b->len;
		return 1;
	}
	return 0;
}

static void count_drop(struct counts *k, int rule, const char *reason, uint64_t n)
{
	k->rule[rule] += n;
	for (int i = 0; i < k->nwhy; i++)
		if (k->why[i].rule == rule && strcmp(k->why[i].reason, reason) == 0) {
			k->why[i].n += n;
			return;
		}
	if (k->nwhy < MAX_REASONS)
		k->why[k->nwhy++] = (struct why){rule, reason, n};
}

static json_t *annotation(const struct qverdict *v)
{
	json_t *a = json_object();
	json_object_set_new(a, "kept", json_boolean(!v->reason));
	json_object_set_new(a, "rule", v->reason ? json_string(qstack_rule_name(v->rule)) : json_null());
	json_object_set_new(a, "reason", v->reason ? json_string(v->reason) : json_null());
	json_t *scores = json_object();
	if (v->scored)
		json_object_set_new(scores, "classifier", json_real(round(v->score * 1e6) / 1e6));
	json_object_set_new(a, "scores", scores);
	return a;
}

static int map(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	struct opts *o = ctx;
	struct worker *w = &o->w[worker];
	const char *lang = NULL;
	size_t langlen = 0;
	d->user = NULL;
	if (has_rule(&o->st, Q_BADWORDS))
		meta_language(d, &w->lang, &lang, &langlen);
	struct qverdict v;
	qstack_judge(&o->st, &w->q, &w->f, d->text, d->text_len, lang, langlen, d->id,
		     d->id_len, o->annotate, &v);
	if (v.reason)
		count_drop(&w->k, v.rule, v.reason, 1);
	else if (v.text_changed)
		doc_set_text(d, w->q.text, w->q.n);
	if (o->annotate || (v.reason && o->rej)) {
		if (doc_annotate(d, "filter", annotation(&v), e) < 0)
			return STAGE_ERROR;
	}
	if (!v.reason || o->annotate)
		return STAGE_KEEP;
	if (!o->rej)
		return STAGE_DROP;
	d->user = d;	/* seq() writes it to --rejected */
	return STAGE_KEEP;
}

/* Input order, one thread: the rejected documents go to their file. */
static int seq(void *ctx, struct doc *d, struct llm_err *e)
{
	struct opts *o = ctx;
	if (!d->user)
		return STAGE_KEEP;
	buf_clear(&o->rejbuf);
	doc_serialize(d, &o->rejbuf);
	if (output_write(o->rej, o->rejbuf.p, o->rejbuf.len, e) < 0)
		return STAGE_ERROR;
	return STAGE_DROP;
}

static int by_count(const void *a, const void *b)
{
	uint64_t x = ((const struct why *)a)->n, y = ((const struct why *)b)->n;
	return (x < y) - (x > y);
}

/* The table at exit: per rule set, how many documents it dropped and why. */
static void report(struct cli *c, const struct opts *o, int threads)
{
	struct counts all = {0};
	for (int t = 0; t < threads; t++) {
		const struct counts *k = &o->w[t].k;
		for (int i = 0; i < k->nwhy; i++)
			count_drop(&all, k->why[i].rule, k->why[i].reason, k->why[i].n);
	}
	/* Most frequent reasons first. */
	qsort(all.why, (size_t)all.nwhy, sizeof *all.why, by_count);
	fprintf(stderr, "%s: %-18s %10s  reasons\n", c->prog, "rule set",
		o->annotate ? "failed" : "dropped");
	for (int i = 0; i < o->st.nrules; i++) {
		int r = o->st.rules[i];
		const char *name = qstack_rule_name(r);
		cli_count2(c, "dropped", name, (int64_t)all.rule[r]);
		fprintf(stderr, "%s: %-18s %10llu", c->prog, name, (unsigned long long)all.rule[r]);
		const char *sep = "  ";
		for (int k = 0; k < all.nwhy; k++) {
			if (all.why[k].rule != r)
				continue;
			char key[128];
			snprintf(key, sizeof key, "%s:%s", name, all.why[k].reason);
			cli_count2(c, "reasons", key, (int64_t)all.why[k].n);
			fprintf(stderr, "%s%s %llu", sep, all.why[k].reason,
				(unsigned long long)all.why[k].n);
			sep = ", ";
		}
		fputc('\n', stderr);
	}
}

static int run_filter(struct cli *c, struct opts *o, int argc, char **argv)
{
	struct llm_err e;
	struct badwords *bw = NULL;
	struct clf_model model = {0};
	if (quality_prepare(&o->p, &e) < 0)
		cli_usage_error(c, "%s", e.msg);
	o->st.p = &o->p;
	if (has_rule(&o->st, Q_BADWORDS) && !(bw = badwords_load(o->badwords_dir, &e)))
		cli_fatal(c, "%s", e.msg);
	o->st.bw = bw;
	if (bw && !badwords_has(bw, o->st.language, strlen(o->st.language)))
		cli_warn(c, "no bad-words list for --language %s: such documents are kept",
			 o->st.language);
	if (o->classifier) {
		if (clf_load(&model, o->classifier, &e) < 0)
			cli_fatal(c, "%s", e.msg);
		o->st.clf = &model;
	}
	int threads = c->threads;
	o->w = xcalloc((size_t)threads, sizeof *o->w);

	struct output *out = output_open(c->output, c->zstd, &e);
	if (!out)
		cli_fatal(c, "%s", e.msg);
	if (o->rejected && !(o->rej = output_open(o->rejected, 0, &e)))
		cli_fatal(c, "%s", e.msg);
	struct stage st = {o, map, o->rej ? seq : NULL};
	int status = EXIT_OK;
	if (stage_run(c, &st, argv, argc, out, &e) < 0) {
		cli_warn(c, "%s", e.msg);
		output_abort(out);
		if (o->rej)
			output_abort(o->rej);
		status = EXIT_RUNTIME;
	} else {
		if (output_commit(out, &e) < 0) {
			cli_warn(c, "%s", e.msg);
			status = EXIT_RUNTIME;
		}
		if (o->rej && output_commit(o->rej, &e) < 0) {
			cli_warn(c, "%s", e.msg);
			status = EXIT_RUNTIME;
		}
	}
	cli_progress_end(c);
	report(c, o, threads);
	for (int t = 0; t < threads; t++) {
		qdoc_free(&o->w[t].q);
		clf_feats_free(&o->w[t].f);
		buf_free(&o->w[t].lang);
	}
	free(o->w);
	buf_free(&o->rejbuf);
	badwords_free(bw);
	clf_free(&model);
	return status;
}

/* ----------------------------------------------------------- training */

/* Read every document of the files into d with the given label. */
static int read_examples(struct cli *c, struct opts *o, char **files, int n, int label,
			 struct clf_data *d)
{
	struct clf_feats f = {0};
	struct doc doc = {0};
	struct llm_err e;
	int rc = 0;
	uint64_t skipped = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		struct input *in = input_open(files[i], &e);
		if (!in) {
			cli_warn(c, "%s", e.msg);
			rc = -1;
			break;
		}
		const char *line;
		size_t len;
		int got;
		while ((got = input_line(in, &line, &len, &e)) > 0) {
			if (strspn(line, " \t\r") == len)
				continue;
			if (doc_parse(&doc, line, len, &e) < 0) {
				if (c->skip_errors) {
					skipped++;
					continue;
				}
				cli_warn(c, "%s:%llu: %s", input_name(in),
					 (unsigned long long)input_lineno(in), e.msg);
				rc = -1;
				break;
			}
			clf_features(&f, doc.text, doc.text_len, o->t.bits, o->t.bigrams);
			/* Held out by a hash of the id: the same split every run. */
			uint64_t h = XXH3_64bits_withSeed(doc.id, doc.id_len, o->t.seed);
			int test = (double)(h >> 11) * 0x1.0p-53 < o->holdout;
			clf_data_add(d, &f, label, test);
			cli_progress(c, d->nex, input_raw_bytes(in));
		}
		if (got < 0 && rc == 0) {
			cli_warn(c, "%s", e.msg);
			rc = -1;
		}
		input_close(in);
	}
	if (skipped) {
		cli_warn(c, "skipped %llu bad input line(s)", (unsigned long long)skipped);
		cli_count(c, "errors_skipped", (int64_t)skipped);
	}
	clf_feats_free(&f);
	doc_free(&doc);
	return rc;
}

static int run_train(struct cli *c, struct opts *o)
{
	if (!o->npos || !o->nneg)
		cli_usage_error(c, "train needs --positive FILE and --negative FILE");
	if (!c->output)
		cli_usage_error(c, "train needs -o MODEL");
	struct clf_data d = {0};
	if (read_examples(c, o, o->pos, o->npos, 1, &d) < 0 ||
	    read_examples(c, o, o->neg, o->nneg, 0, &d) < 0) {
		clf_data_free(&d);
		return EXIT_RUNTIME;
	}
	cli_progress_end(c);
	struct clf_model m;
	struct clf_report r;
	clf_train(&m, &d, &o->t, &r);
	struct llm_err e;
	int status = EXIT_OK;
	if (clf_save(&m, c->output, &e) < 0) {
		cli_warn(c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	fprintf(stderr, "%s: trained on %zu positive, %zu negative documents "
		"(2^%u buckets, %s, %d epochs)\n", c->prog, r.train_pos, r.train_neg,
		m.bits, m.bigrams ? "words + bigrams" : "words", o->t.epochs);
	fprintf(stderr, "%s: train: accuracy %.4f, log loss %.4f\n", c->prog, r.train_acc,
		r.train_loss);
	fprintf(stderr, "%s: held out %zu positive, %zu negative: accuracy %.4f, "
		"ROC AUC %.4f, log loss %.4f\n", c->prog, r.test_pos, r.test_neg,
		r.test_acc, r.test_auc, r.test_loss);
	/* Every document read was used, for training or for testing. */
	cli_count(c, "documents_in", (int64_t)d.nex);
	cli_count(c, "documents_out", (int64_t)d.nex);
	json_t *rep = json_pack("{s:I,s:I,s:I,s:I,s:f,s:f}",
				"train_positive", (json_int_t)r.train_pos,
				"train_negative", (json_int_t)r.train_neg,
				"test_positive", (json_int_t)r.test_pos,
				"test_negative", (json_int_t)r.test_neg,
				"train_accuracy", r.train_acc, "train_loss", r.train_loss);
	json_object_set_new(rep, "test_accuracy", isnan(r.test_acc) ? json_null() : json_real(r.test_acc));
	json_object_set_new(rep, "test_auc", isnan(r.test_auc) ? json_null() : json_real(r.test_auc));
	json_object_set_new(c->stats, "training", rep);
	clf_free(&m);
	clf_data_free(&d);
	return status;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct opts o = {0};
	int train = argc > 1 && strcmp(argv[1], "train") == 0;
	cli_init(&c, train ? "llm-filter train" : "llm-filter", usage);
	quality_defaults(&o.p);
	o.st.language = "en";
	o.st.seed = 1;
	o.t = (struct clf_train_opts){.bits = 20, .bigrams = 1, .epochs = 5, .lr = 0.5,
				      .l2 = 1e-6, .seed = 1};
	o.holdout = 0.1;
	if (train) {
		argc--;
		argv++;
	}
	parse(&c, &o, argc, argv, train);
	int status;
	if (train) {
		if (optind < argc)
			cli_usage_error(&c, "train reads --positive and --negative, not '%s'", argv[optind]);
		status = run_train(&c, &o);
	} else {
		status = run_filter(&c, &o, argc - optind, argv + optind);
	}
	quality_params_free(&o.p);
	free(o.pos);
	free(o.neg);
	return cli_finish(&c, status);
}
