/*
 * cli.h - what every llmkit program does the same way.
 *
 * The options every stage shares (llmkit(7) lists them):
 *
 *   -h, --help            usage on stdout, exit 0
 *   -V, --version         "PROGRAM (llmkit) VERSION", exit 0
 *   -o, --output FILE     write FILE atomically instead of stdout
 *   -j, --threads N       worker threads (1..1024, default 1)
 *       --stats FILE      counts as JSON, written atomically at exit
 *       --progress        progress on stderr even when it is not a terminal
 *       --on-error=fail|skip   what a bad input line does (default fail)
 *       --zstd            compress the output with zstd
 *
 * A program puts CLI_LONG_OPTIONS in its getopt_long table and CLI_SHORT in
 * its option string, and hands every option it does not know itself to
 * cli_option().  Exit codes: 0 done, 1 runtime error, 2 usage error.
 *
 * This is the one module that prints and exits: it exists to do that for
 * the programs in cmd/.
 */
#ifndef LLM_CLI_H
#define LLM_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

enum {
	CLI_OPT_STATS = 0x1000,
	CLI_OPT_PROGRESS,
	CLI_OPT_ON_ERROR,
	CLI_OPT_ZSTD,
};

#define CLI_SHORT "hVo:j:"
#define CLI_LONG_OPTIONS                                         \
	{"help", no_argument, NULL, 'h'},                        \
	{"version", no_argument, NULL, 'V'},                     \
	{"output", required_argument, NULL, 'o'},                \
	{"threads", required_argument, NULL, 'j'},               \
	{"stats", required_argument, NULL, CLI_OPT_STATS},       \
	{"progress", no_argument, NULL, CLI_OPT_PROGRESS},       \
	{"on-error", required_argument, NULL, CLI_OPT_ON_ERROR}, \
	{"zstd", no_argument, NULL, CLI_OPT_ZSTD}

struct cli {
	const char *prog;	/* name in messages, e.g. "llm-filter" */
	const char *usage;	/* full --help text */
	const char *output;	/* -o FILE, or NULL for stdout */
	int zstd;
	int threads;
	const char *stats_path;
	int progress;		/* show progress on stderr */
	int skip_errors;	/* --on-error=skip */

	double start;		/* monotonic seconds at cli_init */
	double progress_at;	/* when the progress line was last drawn */
	int progress_shown;	/* a progress line is on the screen */
	json_t *stats;		/* counts for --stats and the summary */
};

/* Set defaults; progress is on when stderr is a terminal. */
void cli_init(struct cli *c, const char *prog, const char *usage);
/* Handle one of the shared options.  Returns 1 if it was one, 0 if not.
 * Bad values are usage errors (exit 2); --help and --version exit 0. */
int cli_option(struct cli *c, int opt, const char *arg);

/* Print "PROG: message" and exit with EXIT_USAGE, pointing at --help. */
void cli_usage_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print "PROG: message" and exit with EXIT_RUNTIME. */
void cli_fatal(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print "PROG: message" on stderr. */
void cli_warn(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict number parsing for option values: the whole string must be a
 * number in [min, max]; otherwise a usage error naming the option. */
long cli_long(const struct cli *c, const char *opt, const char *s, long min,
	      long max);
double cli_double(const struct cli *c, const char *opt, const char *s,
		  double min, double max);

/* Add n to the named count (created at 0). */
void cli_count(struct cli *c, const char *name, int64_t n);
/* Add n to count name inside the object group ("dropped": {"rule": n}). */
void cli_count2(struct cli *c, const char *group, const char *name, int64_t n);

/* Progress line on stderr, at most a few times a second, when enabled. */
void cli_progress(struct cli *c, uint64_t docs, uint64_t bytes);
/* Erase the progress line. */
void cli_progress_end(struct cli *c);

/* Seconds since cli_init. */
double cli_elapsed(const struct cli *c);

/*
 * The end of a run: print the one-line summary on stderr, built from the
 * counts (documents_in, documents_out, ...), write --stats if asked, free
 * the counts.  Returns status unchanged, or EXIT_RUNTIME if the stats file
 * could not be written.
 */
int cli_finish(struct cli *c, int status);

#endif
