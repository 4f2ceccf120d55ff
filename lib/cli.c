/* cli.c - shared command-line behaviour; see cli.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "buf.h"
#include "err.h"
#include "output.h"
#include "version.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cli_elapsed(const struct cli *c)
{
	return now() - c->start;
}

void cli_init(struct cli *c, const char *prog, const char *usage)
{
	memset(c, 0, sizeof *c);
	c->prog = prog;
	c->usage = usage;
	c->threads = 1;
	c->progress = isatty(2);
	c->start = now();
	c->stats = json_object();
}

static void vmsg(const struct cli *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", c->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_warn(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
}

void cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
	exit(EXIT_USAGE);
}

void cli_fatal(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
	exit(EXIT_RUNTIME);
}

long cli_long(const struct cli *c, const char *opt, const char *s, long min,
	      long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		cli_usage_error(c, "%s: '%s' is not a whole number from %ld to %ld",
				opt, s, min, max);
	return v;
}

double cli_double(const struct cli *c, const char *opt, const char *s,
		  double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < min || v > max)
		cli_usage_error(c, "%s: '%s' is not a number from %g to %g",
				opt, s, min, max);
	return v;
}

int cli_option(struct cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 'h':
		fputs(c->usage, stdout);
		exit(EXIT_OK);
	case 'V':
		printf("%s (llmkit) %s\n", c->prog, LLMKIT_VERSION);
		exit(EXIT_OK);
	case 'o':
		c->output = arg;
		return 1;
	case 'j':
		c->threads = (int)cli_long(c, "-j", arg, 1, 1024);
		return 1;
	case CLI_OPT_STATS:
		c->stats_path = arg;
		return 1;
	case CLI_OPT_PROGRESS:
		c->progress = 1;
		return 1;
	case CLI_OPT_ON_ERROR:
		if (strcmp(arg, "fail") == 0)
			c->skip_errors = 0;
		else if (strcmp(arg, "skip") == 0)
			c->skip_errors = 1;
		else
			cli_usage_error(c, "--on-error: '%s' is not 'fail' or 'skip'", arg);
		return 1;
	case CLI_OPT_ZSTD:
		c->zstd = 1;
		return 1;
	case '?':
		/* getopt_long has already said what was wrong. */
		fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
		exit(EXIT_USAGE);
	default:
		return 0;
	}
}

static void add(json_t *obj, const char *name, int64_t n)
{
	json_t *v = json_object_get(obj, name);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(obj, name, json_integer(n));
}

void cli_count(struct cli *c, const char *name, int64_t n)
{
	add(c->stats, name, n);
}

void cli_count2(struct cli *c, const char *group, const char *name, int64_t n)
{
	json_t *g = json_object_get(c->stats, group);
	if (!g) {
		g = json_object();
		json_object_set_new(c->stats, group, g);
	}
	add(g, name, n);
}

void cli_progress(struct cli *c, uint64_t docs, uint64_t bytes)
{
	if (!c->progress)
		return;
	double t = now();
	if (c->progress_shown && t - c->progress_at < 0.25)
		return;
	c->progress_at = t;
	c->progress_shown = 1;
	double secs = t - c->start;
	fprintf(stderr, "\r%s: %llu documents, %.1f MB, %.1f MB/s\033[K",
		c->prog, (unsigned long long)docs, (double)bytes / 1e6,
		secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
	fflush(stderr);
}

void cli_progress_end(struct cli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = 0;
	}
}

static long long count(const struct cli *c, const char *name)
{
	return json_integer_value(json_object_get(c->stats, name));
}

int cli_finish(struct cli *c, int status)
{
	cli_progress_end(c);
	double secs = cli_elapsed(c);
	fprintf(stderr, "%s: %lld documents in, %lld out", c->prog,
		count(c, "documents_in"), count(c, "documents_out"));
	if (count(c, "documents_dropped"))
		fprintf(stderr, ", %lld dropped", count(c, "documents_dropped"));
	if (count(c, "errors_skipped"))
		fprintf(stderr, ", %lld bad input skipped", count(c, "errors_skipped"));
	fprintf(stderr, ", %.2f s%s\n", secs, status ? " (failed)" : "");

	if (c->stats_path) {
		json_object_set_new(c->stats, "program", json_string(c->prog));
		json_object_set_new(c->stats, "seconds", json_real(secs));
		json_object_set_new(c->stats, "status", json_integer(status));
		char *s = json_dumps(c->stats, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		struct buf b = {0};
		struct llm_err e;
		buf_puts(&b, s);
		buf_putc(&b, '\n');
		free(s);
		if (atomic_write_file(c->stats_path, b.p, b.len, &e) < 0) {
			cli_warn(c, "%s", e.msg);
			status = EXIT_RUNTIME;
		}
		buf_free(&b);
	}
	json_decref(c->stats);
	c->stats = NULL;
	return status;
}
