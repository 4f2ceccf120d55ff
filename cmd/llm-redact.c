/*
 * llm-redact - find and remove personal and secret information.
 *
 * Reads the document stream, finds e-mail addresses, phone numbers, IP
 * and MAC addresses, payment cards, IBANs, SSNs, wallet addresses, URL
 * credentials and secrets (lib/pii.h), and replaces them, masks them,
 * pseudonymises them or only records where they are (lib/pii_rewrite.h).
 * Documents with nothing found pass through byte for byte.
 */
#include "buf.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "output.h"
#include "pii.h"
#include "pii_rewrite.h"
#include "stage.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: llm-redact [options] [FILE ...]\n"
	"Find personal and secret information in a document stream and replace it.\n"
	"\n"
	"  --types LIST        only these types, comma-separated (default: all;\n"
	"                      see --list-types)\n"
	"  --rules FILE        add rules of your own: NAME<TAB>PCRE2 pattern per line\n"
	"  --keep-private      leave private and reserved IP addresses alone\n"
	"  --mode MODE         replace (default: <TYPE>), mask (same length in\n"
	"                      characters) or hash (<TYPE:pseudonym>, needs --salt)\n"
	"  --mask-char C       the character --mode mask writes (default '*')\n"
	"  --salt S            key for --mode hash pseudonyms\n"
	"  --salt-file FILE    read the key from FILE (kept out of the process list)\n"
	"  --annotate          keep the text; write metadata.redact.spans instead\n"
	"  --drop-over N       drop documents with more than N findings\n"
	"  --list-types        print the types and exit\n"
	"  -o FILE             write FILE (atomically) instead of standard output\n"
	"  -j N                worker threads (default 1)\n"
	"  --stats FILE        counts as JSON at exit, findings under \"found\"\n"
	"  --progress          progress on stderr even when it is not a terminal\n"
	"  --on-error=fail|skip  stop at a bad input line (default) or skip it\n"
	"  --zstd              compress the output\n"
	"  -h, --help          this help\n"
	"  -V, --version       print the version\n";

/* What each built-in type is, for --list-types (same order as pii.h). */
static const char *const type_help[PII_NBUILTIN] = {
	"cloud and service keys (AWS, GitHub, GitLab, Slack, Google, Stripe,\n"
	"\t\tOpenAI, npm, PyPI), JWTs, PEM/PGP private keys, Bitcoin WIF keys,\n"
	"\t\tSlack webhooks, high-entropy values of password=/api_key: keys",
	"user:password in scheme://user:password@host",
	"Bitcoin base58check and bech32/bech32m addresses, Ethereum addresses",
	"IBAN: registry length per country and mod-97 check digits",
	"payment card numbers: issuer prefix, length and Luhn",
	"US Social Security numbers: area, group and serial rules",
	"e-mail addresses, internationalised ones included",
	"IPv4 and IPv6 addresses",
	"MAC addresses: aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff",
	"phone numbers: international, North American, national formats",
};

struct worker {
	struct pii_scratch *scratch;
	struct buf out;
	int64_t *found;		/* per type */
	int64_t docs_with;
};

struct redact {
	struct pii *pii;
	struct pii_rewrite rw;
	int annotate;
	long drop_over;		/* -1: off */
	struct worker *w;
};

static json_t *spans_json(const struct pii *p, const struct pii_span *sp,
			  long k)
{
	json_t *a = json_array();
	for (long i = 0; i < k; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "type",
						   pii_type_name(p, sp[i].type),
						   "start", (json_int_t)sp[i].start,
						   "end", (json_int_t)sp[i].end));
	return json_pack("{s:o}", "spans", a);
}

static int map(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	struct redact *r = ctx;
	struct worker *w = &r->w[worker];
	const struct pii_span *sp;
	long k = pii_find(r->pii, w->scratch, d->text, d->text_len, &sp, e);
	if (k < 0)
		return STAGE_ERROR;
	if (k == 0)
		return STAGE_KEEP;	/* untouched: written back byte for byte */
	for (long i = 0; i < k; i++)
		w->found[sp[i].type]++;
	w->docs_with++;
	if (r->drop_over >= 0 && k > r->drop_over)
		return STAGE_DROP;
	if (r->annotate)
		return doc_annotate(d, "redact", spans_json(r->pii, sp, k), e) < 0
			       ? STAGE_ERROR : STAGE_KEEP;
	buf_clear(&w->out);
	pii_rewrite(&r->rw, r->pii, d->text, d->text_len, sp, (size_t)k, &w->out);
	doc_set_text(d, w->out.p, w->out.len);
	return STAGE_KEEP;
}

static void list_types(const struct pii *p)
{
	for (int t = 0; t < pii_ntypes(p); t++)
		printf("%-16s%s\n", pii_type_name(p, t),
		       t < PII_NBUILTIN ? type_help[t] : "rule from --rules");
}

/* --types: enable exactly the named types. */
static void select_types(struct cli *c, struct pii *p, const char *list)
{
	for (int t = 0; t < pii_ntypes(p); t++)
		pii_enable(p, t, 0);
	char *copy = xstrdup(list), *save = NULL;
	int n = 0;
	for (char *name = strtok_r(copy, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		int t = pii_type_find(p, name);
		if (t < 0)
			cli_usage_error(c, "--types: unknown type '%s' (see --list-types)",
					name);
		pii_enable(p, t, 1);
		n++;
	}
	free(copy);
	if (n == 0)
		cli_usage_error(c, "--types: no type named");
}

/* The salt is the file's contents without a final newline. */
static void read_salt(struct cli *c, const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		cli_fatal(c, "%s: %s", path, strerror(errno));
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(out, chunk, n);
	if (ferror(f))
		cli_fatal(c, "%s: %s", path, strerror(errno));
	fclose(f);
	if (out->len > 0 && out->p[out->len - 1] == '\n')
		out->p[--out->len] = 0;
	if (out->len > 0 && out->p[out->len - 1] == '\r')
		out->p[--out->len] = 0;
	if (out->len == 0 || memchr(out->p, 0, out->len))
		cli_usage_error(c, "--salt-file: %s is empty or holds a NUL byte", path);
}

/* Sum the workers' counts into --stats and print the findings line. */
static void report(struct cli *c, const struct redact *r, int threads)
{
	const struct pii *p = r->pii;
	int64_t docs = 0, total = 0;
	struct buf line = {0};
	for (int i = 0; i < threads; i++)
		docs += r->w[i].docs_with;
	for (int t = 0; t < pii_ntypes(p); t++) {
		if (!pii_enabled(p, t))
			continue;
		int64_t n = 0;
		for (int i = 0; i < threads; i++)
			n += r->w[i].found[t];
		cli_count2(c, "found", pii_type_name(p, t), n);
		if (n)
			buf_printf(&line, "%s%lld %s", total ? ", " : "", (long long)n,
				   pii_type_name(p, t));
		total += n;
	}
	cli_count(c, "documents_with_findings", docs);
	if (total)
		cli_warn(c, "found %s in %lld documents", line.p, (long long)docs);
	else
		cli_warn(c, "found nothing");
	buf_free(&line);
}

int main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-redact", usage);
	enum {
		TYPES = 1, RULES, KEEP_PRIVATE, MODE, MASK_CHAR, SALT, SALT_FILE,
		ANNOTATE, DROP_OVER, LIST_TYPES,
	};
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"types", required_argument, NULL, TYPES},
		{"rules", required_argument, NULL, RULES},
		{"keep-private", no_argument, NULL, KEEP_PRIVATE},
		{"mode", required_argument, NULL, MODE},
		{"mask-char", required_argument, NULL, MASK_CHAR},
		{"salt", required_argument, NULL, SALT},
		{"salt-file", required_argument, NULL, SALT_FILE},
		{"annotate", no_argument, NULL, ANNOTATE},
		{"drop-over", required_argument, NULL, DROP_OVER},
		{"list-types", no_argument, NULL, LIST_TYPES},
		{NULL, 0, NULL, 0},
	};
	const char *types = NULL, *mask = "*", *salt = NULL, *salt_file = NULL;
	const char *rules[64];
	int nrules = 0, keep_private = 0, list = 0;
	enum pii_mode mode = PII_REPLACE;
	struct redact r = {.drop_over = -1};
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case TYPES: types = optarg; break;
		case RULES:
			if (nrules == 64)
				cli_usage_error(&c, "--rules: at most 64 files");
			rules[nrules++] = optarg;
			break;
		case KEEP_PRIVATE: keep_private = 1; break;
		case MODE:
			if (strcmp(optarg, "replace") == 0)
				mode = PII_REPLACE;
			else if (strcmp(optarg, "mask") == 0)
				mode = PII_MASK;
			else if (strcmp(optarg, "hash") == 0)
				mode = PII_HASH;
			else
				cli_usage_error(&c, "--mode: '%s' is not replace, mask or hash",
						optarg);
			break;
		case MASK_CHAR: mask = optarg; break;
		case SALT: salt = optarg; break;
		case SALT_FILE: salt_file = optarg; break;
		case ANNOTATE: r.annotate = 1; break;
		case DROP_OVER:
			r.drop_over = cli_long(&c, "--drop-over", optarg, 0, LONG_MAX);
			break;
		case LIST_TYPES: list = 1; break;
		default: cli_option(&c, opt, optarg); break;
		}
	}
	struct buf salt_buf = {0};
	if (salt_file) {
		if (salt)
			cli_usage_error(&c, "--salt and --salt-file: give one");
		read_salt(&c, salt_file, &salt_buf);
		salt = salt_buf.p;
	}
	if (mode == PII_HASH && (!salt || !*salt))
		cli_usage_error(&c, "--mode hash needs --salt: without a secret salt "
				"anyone could recompute the pseudonyms");
	if (salt && mode != PII_HASH)
		cli_usage_error(&c, "--salt is only used with --mode hash");
	size_t salt_len = salt ? strlen(salt) : 0;
	if (r.annotate && mode != PII_REPLACE)
		cli_usage_error(&c, "--annotate keeps the text: it does not go with --mode");
	int bad_mask = pii_rewrite_init(&r.rw, mode, mask, salt, salt_len) < 0;
	buf_free(&salt_buf);
	if (bad_mask)
		cli_usage_error(&c, "--mask-char: '%s' is not one character", mask);

	struct llm_err e;
	r.pii = pii_new(&e);
	if (!r.pii)
		cli_fatal(&c, "%s", e.msg);
	for (int i = 0; i < nrules; i++)
		if (pii_load_rules(r.pii, rules[i], &e) < 0)
			cli_fatal(&c, "%s", e.msg);
	if (list) {
		list_types(r.pii);
		pii_free(r.pii);
		return EXIT_OK;
	}
	if (types)
		select_types(&c, r.pii, types);
	pii_keep_private(r.pii, keep_private);

	r.w = xcalloc((size_t)c.threads, sizeof *r.w);
	for (int i = 0; i < c.threads; i++) {
		r.w[i].scratch = pii_scratch_new(r.pii);
		r.w[i].found = xcalloc((size_t)pii_ntypes(r.pii), sizeof *r.w[i].found);
	}

	struct output *out = output_open(c.output, c.zstd, &e);
	if (!out)
		cli_fatal(&c, "%s", e.msg);
	struct stage st = {&r, map, NULL};
	int status = EXIT_OK;
	if (stage_run(&c, &st, argv + optind, argc - optind, out, &e) < 0) {
		cli_warn(&c, "%s", e.msg);
		output_abort(out);
		status = EXIT_RUNTIME;
	} else if (output_commit(out, &e) < 0) {
		cli_warn(&c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	report(&c, &r, c.threads);
	for (int i = 0; i < c.threads; i++) {
		pii_scratch_free(r.w[i].scratch);
		buf_free(&r.w[i].out);
		free(r.w[i].found);
	}
	free(r.w);
	pii_free(r.pii);
	return cli_finish(&c, status);
}
