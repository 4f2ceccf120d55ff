/*
 * llm-dedup - remove exact and near-duplicate documents from a stream.
 *
 * The front end: options, then one of the modes, each a lib/ module.
 *   llm-dedup [FILE...]             one pass (dedup_stage.h)
 *   llm-dedup --lines N [FILE...]   repeated lines (dedup_lines.h)
 *   llm-dedup sig|bucket|cluster|apply   map/reduce steps (dedup_mr.h)
 */
#include "cli.h"
#include "dedup.h"
#include "dedup_lines.h"
#include "dedup_mr.h"
#include "dedup_stage.h"
#include "err.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: llm-dedup [options] [FILE ...]\n"
	"       llm-dedup sig|bucket|cluster|apply [options] ...  (map/reduce steps)\n"
	"Remove exact and near-duplicate documents (JSON Lines) in one pass,\n"
	"keeping the first of each (input order kept; -j N changes speed only).\n"
	"\n"
	"Matching:\n"
	"  -t, --threshold T  estimated Jaccard similarity of near duplicates (0.75)\n"
	"      --ngram N      words per shingle (5)\n"
	"      --bands B      LSH bands (14)\n"
	"      --rows R       MinHash values per band (8); B x R permutations\n"
	"      --seed N       permutation seed (1)\n"
	"      --no-verify    a shared band is enough (FineWeb); default: check the\n"
	"                     estimated Jaccard of each candidate against -t\n"
	"      --verify       check candidates (the default)\n"
	"      --exact        exact duplicates of the normalised text only\n"
	"      --exact-raw    exact duplicates of the text bytes as they are only\n"
	"What to keep:\n"
	"      --keep first|longest  which document of a cluster stays (first);\n"
	"                     longest reads the FILEs twice (not stdin)\n"
	"      --annotate     keep everything, write metadata.dedup\n"
	"      --index FILE   documents of earlier runs; updated atomically\n"
	"      --against FILE drop documents that duplicate one in FILE\n"
	"                     (decontamination; repeatable; FILE is never indexed)\n"
	"      --lines N      instead: drop lines seen N or more times, keeping the\n"
	"                     first occurrence (N > 2 reads the FILEs twice)\n"
	"Common:\n"
	"  -o FILE, -j N, --stats FILE, --progress, --on-error=fail|skip, --zstd\n"
	"  -h, --help, -V, --version\n"
	"Map/reduce steps (the same removals as one process over the parts in order):\n"
	"  sig [matching options] --part P -o SIGFILE [FILE...]   per part\n"
	"  bucket [--buckets B] -o DIR SIGFILE...                 per part (B = 16)\n"
	"  cluster -o REMOVALS DIR/bucket-K.part-*.bkt            per bucket\n"
	"  apply --part P -r REMOVALS... [--annotate] [FILE...]   per part\n"
	"        (-r, --removals FILE: a removal list; repeat for each)\n"
	"See llm-dedup(1) and llm-dedup-index(5).\n";

enum {
	OPT_NGRAM = 1, OPT_BANDS, OPT_ROWS, OPT_SEED, OPT_VERIFY, OPT_NO_VERIFY,
	OPT_EXACT, OPT_EXACT_RAW, OPT_KEEP, OPT_INDEX, OPT_ANNOTATE,
	OPT_AGAINST, OPT_LINES, OPT_PART, OPT_BUCKETS,
};

struct opts {
	struct dedup_params p;
	const char *index;
	int annotate;
	long lines;
	char **against;
	int nagainst;
	int set_near;		/* a MinHash option was given */
	long part, buckets;	/* map/reduce steps */
	char **removals;
	int nremovals;
};

static void parse(struct cli *c, struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"threshold", required_argument, NULL, 't'},
		{"ngram", required_argument, NULL, OPT_NGRAM},
		{"bands", required_argument, NULL, OPT_BANDS},
		{"rows", required_argument, NULL, OPT_ROWS},
		{"seed", required_argument, NULL, OPT_SEED},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"no-verify", no_argument, NULL, OPT_NO_VERIFY},
		{"exact", no_argument, NULL, OPT_EXACT},
		{"exact-raw", no_argument, NULL, OPT_EXACT_RAW},
		{"keep", required_argument, NULL, OPT_KEEP},
		{"index", required_argument, NULL, OPT_INDEX},
		{"annotate", no_argument, NULL, OPT_ANNOTATE},
		{"against", required_argument, NULL, OPT_AGAINST},
		{"lines", required_argument, NULL, OPT_LINES},
		{"part", required_argument, NULL, OPT_PART},
		{"buckets", required_argument, NULL, OPT_BUCKETS},
		{"removals", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT "t:r:", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			o->p.threshold = cli_double(c, "--threshold", optarg, 0, 1);
			o->set_near = 1;
			break;
		case OPT_NGRAM:
			o->p.ngram = (int)cli_long(c, "--ngram", optarg, 1, MINHASH_MAX_NGRAM);
			o->set_near = 1;
			break;
		case OPT_BANDS:
			o->p.bands = (int)cli_long(c, "--bands", optarg, 1, MINHASH_MAX_PERM);
			o->set_near = 1;
			break;
		case OPT_ROWS:
			o->p.rows = (int)cli_long(c, "--rows", optarg, 1, MINHASH_MAX_PERM);
			o->set_near = 1;
			break;
		case OPT_SEED:
			o->p.seed = (uint64_t)cli_long(c, "--seed", optarg, 0, 0x7fffffffL);
			break;
		case OPT_VERIFY: o->p.verify = 1; break;
		case OPT_NO_VERIFY: o->p.verify = 0; break;
		case OPT_EXACT: o->p.near = 0; break;
		case OPT_EXACT_RAW: o->p.near = 0; o->p.exact_raw = 1; break;
		case OPT_KEEP:
			if (strcmp(optarg, "first") == 0)
				o->p.keep = DEDUP_KEEP_FIRST;
			else if (strcmp(optarg, "longest") == 0)
				o->p.keep = DEDUP_KEEP_LONGEST;
			else
				cli_usage_error(c, "--keep: '%s' is not 'first' or 'longest'", optarg);
			break;
		case OPT_INDEX: o->index = optarg; break;
		case OPT_ANNOTATE: o->annotate = 1; break;
		case OPT_AGAINST:
			o->against = xrealloc(o->against, (size_t)(o->nagainst + 1) * sizeof *o->against);
			o->against[o->nagainst++] = optarg;
			break;
		case OPT_LINES:
			o->lines = cli_long(c, "--lines", optarg, 2, 1L << 30);
			break;
		case OPT_PART:
			o->part = cli_long(c, "--part", optarg, 0, 99999);
			break;
		case OPT_BUCKETS:
			o->buckets = cli_long(c, "--buckets", optarg, 1, 99999);
			break;
		case 'r':
			o->removals = xrealloc(o->removals, (size_t)(o->nremovals + 1) * sizeof *o->removals);
			o->removals[o->nremovals++] = optarg;
			break;
		default:
			cli_option(c, opt, optarg);
			break;
		}
	}
}

/* Combinations that cannot work are refused before any reading. */
static void check(struct cli *c, const struct opts *o, int nfiles)
{
	struct llm_err e;
	if (dedup_params_check(&o->p, &e) < 0)
		cli_usage_error(c, "%s", e.msg);
	if (!o->p.near && o->set_near)
		cli_usage_error(c, "--threshold, --ngram, --bands and --rows need "
				"near-duplicate matching (not --exact/--exact-raw)");
	if (o->part >= 0 || o->buckets || o->nremovals)
		cli_usage_error(c, "--part, --buckets and --removals belong to the "
				"map/reduce steps (llm-dedup sig|bucket|cluster|apply)");
	if (o->p.keep == DEDUP_KEEP_LONGEST && nfiles == 0)
		cli_usage_error(c, "--keep longest reads the input twice: give FILEs, "
				"not a pipe");
	if (o->nagainst && o->index)
		cli_usage_error(c, "--against checks documents without adding them: "
				"it cannot update an --index");
	if (o->lines) {
		if (o->set_near || !o->p.verify)
			cli_usage_error(c, "--lines compares whole lines: -t, --ngram, "
					"--bands, --rows and --no-verify do not apply");
		if (o->index || o->nagainst || o->p.keep == DEDUP_KEEP_LONGEST)
			cli_usage_error(c, "--lines works on lines alone: no --index, "
					"--against or --keep longest");
		if (o->lines > 2 && nfiles == 0)
			cli_usage_error(c, "--lines %ld counts every line before removing "
					"any: give FILEs, not a pipe (or use --lines 2)", o->lines);
	}
}

/* Write the output, or give it up, and say why; returns the exit status. */
static int finish_output(struct cli *c, struct output *out, int rc,
			 struct llm_err *e)
{
	if (rc < 0) {
		cli_warn(c, "%s", e->msg);
		output_abort(out);
		return EXIT_RUNTIME;
	}
	if (output_commit(out, e) < 0) {
		cli_warn(c, "%s", e->msg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int run_lines(struct cli *c, const struct opts *o, char **files,
		     int nfiles)
{
	struct llm_err e;
	struct output *out = output_open(c->output, c->zstd, &e);
	if (!out)
		cli_fatal(c, "%s", e.msg);
	struct dedup_lines dl;
	dedup_lines_init(&dl, c, (uint32_t)o->lines, o->p.exact_raw, o->annotate);
	int rc = dedup_lines_run(&dl, files, nfiles, out, &e);
	dedup_lines_free(&dl);
	return finish_output(c, out, rc, &e);
}

static int run_docs(struct cli *c, const struct opts *o, char **files,
		    int nfiles)
{
	struct llm_err e;
	struct output *out = output_open(c->output, c->zstd, &e);
	if (!out)
		cli_fatal(c, "%s", e.msg);
	struct dedup_stage ds;
	dedup_stage_init(&ds, &o->p, c, o->annotate, o->nagainst == 0);
	int rc = 0;
	if (o->index)
		rc = dedup_stage_load_index(&ds, o->index, &e);
	if (rc == 0 && o->nagainst)
		rc = dedup_stage_load_reference(&ds, o->against, o->nagainst, &e);
	if (rc == 0)
		rc = dedup_stage_run(&ds, files, nfiles, out, &e);
	int status = finish_output(c, out, rc, &e);
	/* The index moves only once the output is in place: a run that fails
	 * or is killed before can simply be repeated, and one that fails
	 * after leaves the old index, which at worst lets this run's
	 * documents through again - never loses one. */
	if (status == EXIT_OK && o->index &&
	    dedup_stage_save_index(&ds, o->index, &e) < 0) {
		cli_warn(c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	dedup_stage_free(&ds);
	return status;
}

/* ---- The map/reduce steps. ---- */

static const char *const steps[] = {"sig", "bucket", "cluster", "apply"};

/* Refuse what a step does not take; require what it needs. */
static void check_step(struct cli *c, const struct opts *o, const char *step,
		       int nfiles)
{
	int sig = strcmp(step, "sig") == 0, apply = strcmp(step, "apply") == 0;
	struct llm_err e;
	if (dedup_params_check(&o->p, &e) < 0)
		cli_usage_error(c, "%s", e.msg);
	if (!sig && (o->set_near || !o->p.near || o->p.exact_raw ||
		     o->p.keep != DEDUP_KEEP_FIRST))
		cli_usage_error(c, "%s: matching options go to 'llm-dedup sig' only "
				"(they travel with the files)", step);
	if (o->index || o->nagainst || o->lines)
		cli_usage_error(c, "%s: --index, --against and --lines are not "
				"map/reduce options", step);
	if (o->annotate && !apply)
		cli_usage_error(c, "%s: --annotate belongs to 'llm-dedup apply'", step);
	if (o->part >= 0 && !sig && !apply)
		cli_usage_error(c, "%s: --part belongs to sig and apply", step);
	if (o->buckets && strcmp(step, "bucket") != 0)
		cli_usage_error(c, "%s: --buckets belongs to 'llm-dedup bucket'", step);
	if (o->nremovals && !apply)
		cli_usage_error(c, "%s: --removals belongs to 'llm-dedup apply'", step);
	if (apply && !o->nremovals)
		cli_usage_error(c, "apply: give the removal lists with -r FILE");
	if (!apply && !c->output)
		cli_usage_error(c, "%s: -o is required (the %s)", step,
				sig ? "signature file" :
				strcmp(step, "bucket") == 0 ? "bucket folder" :
				"removal list");
	if ((strcmp(step, "bucket") == 0 || strcmp(step, "cluster") == 0) && !nfiles)
		cli_usage_error(c, "%s: no input files", step);
}

static int step_main(const char *step, int argc, char **argv)
{
	char prog[32];
	snprintf(prog, sizeof prog, "llm-dedup %s", step);
	struct cli c;
	struct opts o = {0};
	cli_init(&c, prog, usage);
	dedup_params_default(&o.p);
	o.part = -1;
	parse(&c, &o, argc, argv);
	char **files = argv + optind;
	int nfiles = argc - optind;
	check_step(&c, &o, step, nfiles);
	uint32_t part = o.part >= 0 ? (uint32_t)o.part : 0;

	struct llm_err e;
	int rc = 0, status = EXIT_OK;
	if (strcmp(step, "sig") == 0)
		rc = dedup_mr_sig(&c, &o.p, part, files, nfiles, c.output, &e);
	else if (strcmp(step, "bucket") == 0) {
		uint32_t nb = o.buckets ? (uint32_t)o.buckets : 16;
		for (int i = 0; i < nfiles && rc == 0; i++)
			rc = dedup_mr_bucket(&c, files[i], nb, c.output, &e);
	} else if (strcmp(step, "cluster") == 0) {
		rc = dedup_mr_cluster(&c, files, nfiles, c.output, &e);
		if (rc == 0)
			cli_warn(&c, "%lld bucket entries, %lld documents to remove",
				 json_integer_value(json_object_get(c.stats, "bucket_entries")),
				 json_integer_value(json_object_get(c.stats, "documents_removed")));
	} else {
		struct dedup_removals r;
		rc = dedup_removals_load(&r, o.removals, o.nremovals, &e);
		if (rc == 0) {
			struct output *out = output_open(c.output, c.zstd, &e);
			if (!out)
				cli_fatal(&c, "%s", e.msg);
			rc = dedup_mr_apply(&c, &r, part, o.annotate, files, nfiles,
					    out, &e);
			status = finish_output(&c, out, rc, &e);
			rc = 0;
			dedup_removals_free(&r);
		}
	}
	if (rc < 0) {
		cli_warn(&c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	free(o.removals);
	return cli_finish(&c, status);
}

int main(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < sizeof steps / sizeof *steps; i++)
		if (strcmp(argv[1], steps[i]) == 0)
			return step_main(steps[i], argc - 1, argv + 1);

	struct cli c;
	struct opts o = {0};
	cli_init(&c, "llm-dedup", usage);
	dedup_params_default(&o.p);
	o.part = -1;
	parse(&c, &o, argc, argv);
	char **files = argv + optind;
	int nfiles = argc - optind;
	check(&c, &o, nfiles);
	int status = o.lines ? run_lines(&c, &o, files, nfiles)
			     : run_docs(&c, &o, files, nfiles);
	free(o.against);
	return cli_finish(&c, status);
}
