/* bpe_io.c - reading and writing tokenizer files; see bpe_io.h. */
#include "bpe_io.h"
#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "input.h"
#include "output.h"
#include "pretok.h"
#include "utf8.h"
#include "le.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

/* ---- small helpers ---- */

static int read_whole(const char *path, struct buf *b, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	for (;;) {
		buf_reserve(b, 1 << 20);
		ssize_t n = input_read(in, b->p + b->len, b->cap - b->len - 1, e);
		if (n < 0) {
			input_close(in);
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->p[b->len] = '\0';
	}
	input_close(in);
	if (!b->p)
		buf_reserve(b, 1);
	b->p[b->len] = '\0';
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* dirname(path) + "/" + name, as a new string. */
static char *beside(const char *path, const char *name)
{
	struct buf b = {0};
	const char *slash = strrchr(path, '/');
	if (slash)
		buf_append(&b, path, (size_t)(slash - path + 1));
	buf_puts(&b, name);
	return b.p;
}

/* ---- GPT-2's byte alphabet ---- */

/*
 * bytes_to_unicode(): the printable bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF stand for themselves; the other 68, in byte order, for
 * U+0100 upwards (0x20 is U+0120 'Ġ', 0x0A is U+010A 'Ċ').
 */
static uint32_t byte_cp(unsigned b)
{
	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
		return b;
	if (b <= 32)
		return 256 + b;
	if (b <= 160)
		return 256 + 33 + (b - 127);
	return 256 + 33 + 34;	/* 0xAD */
}

/* The byte a code point stands for, or -1. */
static int cp_byte(uint32_t cp)
{
	if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) ||
	    (cp >= 174 && cp <= 255))
		return (int)cp;
	if (cp >= 256 && cp <= 288)
		return (int)(cp - 256);
	if (cp >= 289 && cp <= 322)
		return (int)(cp - 289 + 127);
	return cp == 323 ? 0xAD : -1;
}

int bpe_byte_char(unsigned char byte, char out[2])
{
	return utf8_encode(byte_cp(byte), out);
}

/* Append the printable spelling of p[0..n) to out. */
static void to_chars(struct buf *out, const unsigned char *p, size_t n)
{
	char c[2];
	for (size_t i = 0; i < n; i++)
		buf_append(out, c, (size_t)bpe_byte_char(p[i], c));
}

/* Decode a printable spelling s[0..n) into bytes; -1 if a character is not
 * in the alphabet (then the string is taken as it is, see load_gpt2). */
static int from_chars(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		int k = utf8_seq_len(u + i, n - i);
		if (k == 0 || k > 2)
			return -1;
		uint32_t cp = k == 1 ? u[i] : (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F);
		int b = cp_byte(cp);
		if (b < 0)
			return -1;
		buf_putc(out, (char)b);
		i += (size_t)k;
	}
	return 0;
}

/* ---- llm-bpe's own format (llm-bpe-model(5)) ---- */

#define HEADER_BYTES 48

static void put32(struct buf *b, uint32_t v)
{
	unsigned char p[4];
	le_put32(p, v);
	buf_append(b, p, 4);
}

void bpe_serialize(const struct bpe *m, struct buf *out)
{
	uint32_t ntok = 0;
	for (uint32_t id = 0; id < m->nids; id++)
		ntok += m->len[id] != 0;
	size_t start = out->len;
	buf_append(out, BPE_FILE_MAGIC, 4);
	put32(out, BPE_FILE_VERSION);
	put32(out, 0);		/* file size, set below */
	put32(out, 0);
	put32(out, m->flags);
	put32(out, m->nids);
	put32(out, ntok);
	put32(out, (m->flags & BPE_RANKS) ? 0 : m->nmerges);
	put32(out, m->nspecials);
	put32(out, m->eot);
	put32(out, (uint32_t)strlen(m->pattern));
	put32(out, 0);
	buf_puts(out, m->pattern);
	for (uint32_t id = 0; id < m->nids; id++) {
		if (!m->len[id])
			continue;
		put32(out, id);
		put32(out, m->len[id]);
		buf_putc(out, (char)m->special[id]);
		buf_append(out, m->blob.p + m->off[id], m->len[id]);
	}
	if (!(m->flags & BPE_RANKS))
		for (uint32_t r = 0; r < m->nmerges; r++) {
			put32(out, m->merges[r].left);
			put32(out, m->merges[r].right);
			put32(out, m->merges[r].id);
		}
	for (uint32_t i = 0; i < m->nspecials; i++)
		put32(out, m->specials[i]);
	unsigned char *p = (unsigned char *)out->p + start;
	le_put64(p + 8, out->len - start + 8);
	uint64_t sum = XXH3_64bits(p, out->len - start);
	unsigned char s[8];
	le_put64(s, sum);
	buf_append(out, s, 8);
}

int bpe_save(const struct bpe *m, const char *path, struct llm_err *e)
{
	struct buf b = {0};
	bpe_serialize(m, &b);
	int rc = atomic_write_file(path, b.p, b.len, e);
	buf_free(&b);
	return rc;
}

/* A bounds-checked reader over the body of a model file. */
struct rd {
	const unsigned char *p, *end;
};

static int rd_need(struct rd *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

struct bpe *bpe_deserialize(const char *path, const unsigned char *p,
			    size_t n, struct llm_err *e)
{
	if (n < 4 || memcmp(p, BPE_FILE_MAGIC, 4) != 0) {
		llm_err_set(e, "%s: not an llm-bpe model (no \"LBPE\" magic)", path);
		return NULL;
	}
	if (n < 16) {
		llm_err_set(e, "%s: truncated llm-bpe model (%zu bytes, the header alone is %d)",
			    path, n, HEADER_BYTES);
		return NULL;
	}
	uint32_t version = le_get32(p + 4);
	if (version > BPE_FILE_VERSION || version == 0) {
		llm_err_set(e, "%s: llm-bpe model version %u is not supported: this llm-bpe reads version %d%s",
			    path, version, BPE_FILE_VERSION,
			    version > BPE_FILE_VERSION ? " (the file is from a newer llm-bpe)" : "");
		return NULL;
	}
	uint64_t size = le_get64(p + 8);
	if (n < size || n < HEADER_BYTES + 8) {
		llm_err_set(e, "%s: truncated llm-bpe model (%zu of %llu bytes)", path,
			    n, (unsigned long long)size);
		return NULL;
	}
	if (n > size) {
		llm_err_set(e, "%s: %zu bytes after the end of the llm-bpe model", path,
			    n - (size_t)size);
		return NULL;
	}
	if (XXH3_64bits(p, n - 8) != le_get64(p + n - 8)) {
		llm_err_set(e, "%s: llm-bpe model is corrupt (checksum mismatch)", path);
		return NULL;
	}
	struct bpe *m = bpe_new();
	m->format = "llm-bpe";
	m->flags = le_get32(p + 16);
	uint32_t ntok = le_get32(p + 24), nmerges = le_get32(p + 28);
	uint32_t nspec = le_get32(p + 32), plen = le_get32(p + 40);
	m->eot = le_get32(p + 36);
	struct rd r = {p + HEADER_BYTES, p + n - 8};
	const char *why = "truncated record";
	if (!rd_need(&r, plen))
		goto bad;
	char *pat = xmalloc(plen + 1);
	memcpy(pat, r.p, plen);
	pat[plen] = '\0';
	bpe_set_pattern(m, pat);
	free(pat);
	r.p += plen;
	uint32_t seen_specials = 0;
	for (uint32_t i = 0; i < ntok; i++) {
		if (!rd_need(&r, 9))
			goto bad;
		uint32_t id = le_get32(r.p), len = le_get32(r.p + 4);
		int special = r.p[8];
		r.p += 9;
		if (!rd_need(&r, len))
			goto bad;
		/* Specials are added from their own list below, in order. */
		if (bpe_add_token(m, id, r.p, len, 0, e) < 0) {
			llm_err_prefix(e, "%s", path);
			bpe_free(m);
			return NULL;
		}
		m->special[id] = (unsigned char)(special != 0);
		seen_specials += special != 0;
		r.p += len;
	}
	for (uint32_t i = 0; i < nmerges; i++) {
		if (!rd_need(&r, 12))
			goto bad;
		bpe_add_merge(m, le_get32(r.p), le_get32(r.p + 4), le_get32(r.p + 8));
		r.p += 12;
	}
	if (!rd_need(&r, (size_t)nspec * 4))
		goto bad;
	why = "special token list does not match the tokens";
	if (nspec != seen_specials)
		goto bad;
	m->specials = xmalloc((nspec + 1) * sizeof *m->specials);
	for (uint32_t i = 0; i < nspec; i++, r.p += 4) {
		uint32_t id = le_get32(r.p);
		if (id >= m->nids || !m->special[id])
			goto bad;
		m->specials[m->nspecials++] = id;
	}
	why = "unexpected bytes before the checksum";
	if (r.p != r.end)
		goto bad;
	if (bpe_prepare(m, e) < 0) {
		llm_err_prefix(e, "%s", path);
		bpe_free(m);
		return NULL;
	}
	return m;
bad:
	llm_err_set(e, "%s: bad llm-bpe model: %s", path, why);
	bpe_free(m);
	return NULL;
}

/* ---- GPT-2: encoder.json + vocab.bpe ---- */

static json_t *load_json(const char *path, const struct buf *b, struct llm_err *e)
{
	json_error_t je;
	json_t *j = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		llm_err_set(e, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	return j;
}

/* A token string's bytes: its printable spelling decoded, or, for strings
 * outside the alphabet (special tokens written raw), the string itself.
 * Sets *raw when taken as it is. */
static void token_bytes(struct buf *out, const char *s, size_t n, int *raw)
{
	buf_clear(out);
	*raw = from_chars(out, s, n) < 0;
	if (*raw) {
		buf_clear(out);
		buf_append(out, s, n);
	}
}

static int json_id(json_t *v, uint32_t *id)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) >= BPE_MAX_IDS)
		return -1;
	*id = (uint32_t)json_integer_value(v);
	return 0;
}

/*
 * vocab.bpe: an optional "#version" line, then one merge per line, two
 * tokens of encoder.json separated by one space.  made[id] marks the ids
 * that merges make; those, and single bytes, are the ordinary tokens.
 */
static int read_merges(const char *path, const struct buf *b, json_t *enc,
		       struct bpe *m, unsigned char *made, uint32_t nids,
		       struct llm_err *e)
{
	struct buf key = {0};
	const char *s = b->p, *end = b->p + b->len;
	int rc = 0;
	for (unsigned long line = 1; s < end && rc == 0; line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - s);
		if (n && s[n - 1] == '\r')
			n--;
		const char *sp = memchr(s, ' ', n);
		if (n == 0 || (line == 1 && n >= 8 && memcmp(s, "#version", 8) == 0)) {
			/* blank or the header */
		} else if (!sp || sp == s || sp + 1 == s + n || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) {
			rc = llm_err_set(e, "%s:%lu: expected two tokens separated by one space", path, line);
		} else {
			uint32_t a, c, id;
			size_t la = (size_t)(sp - s);
			json_t *va = json_object_getn(enc, s, la);
			json_t *vb = json_object_getn(enc, sp + 1, n - la - 1);
			buf_clear(&key);
			buf_append(&key, s, la);
			buf_append(&key, sp + 1, n - la - 1);
			json_t *vm = json_object_getn(enc, key.p, key.len);
			if (!va || !vb || !vm || json_id(va, &a) < 0 || json_id(vb, &c) < 0 ||
			    json_id(vm, &id) < 0 || id >= nids)
				rc = llm_err_set(e, "%s:%lu: '%.*s' merges tokens that are not in the encoder (or make one that is not)",
						 path, line, (int)n, s);
			else {
				bpe_add_merge(m, a, c, id);
				made[id] = 1;
			}
		}
		s = le + 1;
	}
	buf_free(&key);
	return rc;
}

static struct bpe *load_gpt2(const char *enc_path, const char *bpe_path,
			     struct llm_err *e)
{
	struct buf eb = {0}, bb = {0}, tb = {0};
	struct bpe *m = NULL;
	json_t *enc = NULL;
	unsigned char *made = NULL;
	if (read_whole(enc_path, &eb, e) < 0 || read_whole(bpe_path, &bb, e) < 0)
		goto out;
	if (!(enc = load_json(enc_path, &eb, e)))
		goto out;
	if (!json_is_object(enc)) {
		llm_err_set(e, "%s: not a GPT-2 encoder (a JSON object of token: id)", enc_path);
		goto out;
	}
	uint32_t nids = 0, id = 0;
	const char *k;
	json_t *v;
	json_object_foreach(enc, k, v) {
		if (json_id(v, &id) < 0) {
			llm_err_set(e, "%s: token '%s' has no valid id", enc_path, k);
			goto out;
		}
		if (id >= nids)
			nids = id + 1;
	}
	m = bpe_new();
	m->format = "gpt2";
	made = xcalloc(nids + 1, 1);
	if (read_merges(bpe_path, &bb, enc, m, made, nids, e) < 0)
		goto fail;
	size_t klen;
	json_object_keylen_foreach(enc, k, klen, v) {
		int raw;
		json_id(v, &id);
		token_bytes(&tb, k, klen, &raw);
		int special = raw || (!made[id] && tb.len != 1);
		if (bpe_add_token(m, id, tb.p, tb.len, special, e) < 0) {
			llm_err_prefix(e, "%s", enc_path);
			goto fail;
		}
	}
	if (bpe_prepare(m, e) < 0) {
		llm_err_prefix(e, "%s", enc_path);
		goto fail;
	}
	goto out;
fail:
	bpe_free(m);
	m = NULL;
out:
	json_decref(enc);
	free(made);
	buf_free(&eb);
	buf_free(&bb);
	buf_free(&tb);
	return m;
}

/* ---- tiktoken ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding, as tiktoken writes it.  -1 if malformed. */
static int b64_decode(const char *s, size_t n, struct buf *out)
{
	if (n == 0 || n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_value(c)) < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf_putc(out, (char)(w >> 16));
		if (pad < 2)
			buf_putc(out, (char)(w >> 8));
		if (pad < 1)
			buf_putc(out, (char)w);
	}
	return 0;
}

static void b64_encode(struct buf *out, const unsigned char *p, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			w |= p[i + 2];
		buf_putc(out, a[w >> 18]);
		buf_putc(out, a[(w >> 12) & 63]);
		buf_putc(out, i + 1 < n ? a[(w >> 6) & 63] : '=');
		buf_putc(out, i + 2 < n ? a[w & 63] : '=');
	}
}

/* OpenAI's files, known by content, with what tiktoken_ext adds to them. */
struct known {
	uint64_t xxh3;
	const char *name, *pattern;
	struct {
		const char *s;
		uint32_t id;
	} specials[6];
};
static const struct known known_files[] = {
	{0x3cb2fbe95939bd2dull, "r50k_base", "gpt2", {{"<|endoftext|>", 50256}}},
	{0xaa5d7bf38900641aull, "cl100k_base", "cl100k",
	 {{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258},
	  {"<|fim_middle|>", 100259}, {"<|fim_suffix|>", 100260},
	  {"<|endofprompt|>", 100276}}},
	{0x72a095e82ca109d6ull, "o200k_base", "o200k",
	 {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
};

/* The pattern name for a regex in tiktoken's (or Hugging Face's) spelling. */
static const char *pattern_name(const char *regex)
{
	static const char *const names[] = {"gpt2", "cl100k", "o200k"};
	for (size_t i = 0; i < 3; i++)
		if (strcmp(regex, pretok_builtin(names[i])) == 0)
			return names[i];
	/* The older, equivalent spellings, still in use in tokenizer.json. */
	if (strcmp(regex, "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+") == 0)
		return "gpt2";
	if (strcmp(regex, "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") == 0)
		return "cl100k";
	return regex;
}

/* FILE.json beside a .tiktoken file: tiktoken.Encoding's arguments. */
static int read_sidecar(const char *path, struct bpe *m, struct llm_err *e)
{
	struct buf b = {0};
	json_t *j = NULL;
	int rc = -1;
	if (read_whole(path, &b, e) < 0 || !(j = load_json(path, &b, e)))
		goto out;
	json_t *pat = json_object_get(j, "pat_str");
	json_t *sp = json_object_get(j, "special_tokens");
	if (!json_is_object(j) || (pat && !json_is_string(pat)) ||
	    (sp && !json_is_object(sp))) {
		llm_err_set(e, "%s: expected {\"pat_str\": string, \"special_tokens\": {token: id}}", path);
		goto out;
	}
	if (pat)
		bpe_set_pattern(m, pattern_name(json_string_value(pat)));
	const char *k;
	json_t *v;
	json_object_foreach(sp, k, v) {
		uint32_t id;
		if (json_id(v, &id) < 0) {
			llm_err_set(e, "%s: special token '%s' has no valid id", path, k);
			goto out;
		}
		if (bpe_add_token(m, id, k, strlen(k), 1, e) < 0) {
			llm_err_prefix(e, "%s", path);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(j);
	buf_free(&b);
	return rc;
}

static struct bpe *load_tiktoken(const char *path, const struct buf *b,
				 struct llm_err *e)
{
	struct bpe *m = bpe_new();
	struct buf tb = {0};
	m->format = "tiktoken";
	m->flags = BPE_RANKS;
	const char *s = b->p, *end = b->p + b->len;
	for (unsigned long line = 1; s < end; line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *sp = memchr(s, ' ', (size_t)(le - s));
		if (le == s) {
			s = le + 1;
			continue;
		}
		char *num_end;
		buf_clear(&tb);
		unsigned long rank = sp ? strtoul(sp + 1, &num_end, 10) : 0;
		if (!sp || b64_decode(s, (size_t)(sp - s), &tb) < 0 ||
		    num_end == sp + 1 || num_end != le || sp[1] == '-' || rank >= BPE_MAX_IDS) {
			llm_err_set(e, "%s:%lu: expected \"<base64 token> <rank>\"", path, line);
			goto fail;
		}
		if (bpe_add_token(m, (uint32_t)rank, tb.p, tb.len, 0, e) < 0) {
			llm_err_prefix(e, "%s:%lu", path, line);
			goto fail;
		}
		s = le + 1;
	}
	char *side = xmalloc(strlen(path) + 6);
	sprintf(side, "%s.json", path);
	int have_side = exists(side);
	int rc = have_side ? read_sidecar(side, m, e) : 0;
	free(side);
	if (rc < 0)
		goto fail;
	uint64_t h = XXH3_64bits(b->p, b->len);
	for (size_t i = 0; !have_side && i < sizeof known_files / sizeof *known_files; i++) {
		const struct known *k = &known_files[i];
		if (k->xxh3 != h)
			continue;
		bpe_set_pattern(m, k->pattern);
		for (int j = 0; j < 6 && k->specials[j].s; j++)
			if (bpe_add_token(m, k->specials[j].id, k->specials[j].s,
					  strlen(k->specials[j].s), 1, e) < 0)
				goto fail;
	}
	if (bpe_prepare(m, e) < 0) {
		llm_err_prefix(e, "%s", path);
		goto fail;
	}
	buf_free(&tb);
	return m;
fail:
	buf_free(&tb);
	bpe_free(m);
	return NULL;
}

/* ---- Hugging Face tokenizer.json ---- */

/* The pattern of a supported pre_tokenizer, or NULL with e set. */
static const char *hf_pattern(const char *path, json_t *pre, struct llm_err *e)
{
	const char *type = json_string_value(json_object_get(pre, "type"));
	json_t *bl = NULL, *split = NULL;
	if (type && strcmp(type, "ByteLevel") == 0)
		bl = pre;
	else if (type && strcmp(type, "Sequence") == 0) {
		json_t *list = json_object_get(pre, "pretokenizers");
		json_t *a = json_array_get(list, 0), *b = json_array_get(list, 1);
		const char *ta = json_string_value(json_object_get(a, "type"));
		const char *tb = json_string_value(json_object_get(b, "type"));
		if (json_array_size(list) == 2 && ta && tb && strcmp(ta, "Split") == 0 &&
		    strcmp(tb, "ByteLevel") == 0) {
			split = a;
			bl = b;
		} else if (json_array_size(list) == 1 && ta && strcmp(ta, "ByteLevel") == 0)
			bl = a;
	}
	if (!bl) {
		llm_err_set(e, "%s: unsupported pre_tokenizer (expected ByteLevel, or Split then ByteLevel)", path);
		return NULL;
	}
	if (json_is_true(json_object_get(bl, "add_prefix_space"))) {
		llm_err_set(e, "%s: ByteLevel add_prefix_space is not supported", path);
		return NULL;
	}
	json_t *use_regex = json_object_get(bl, "use_regex");
	int bl_regex = !use_regex || json_is_true(use_regex);
	if (!split)
		return bl_regex ? "gpt2" : NULL;
	const char *re = json_string_value(json_object_get(json_object_get(split, "pattern"), "Regex"));
	const char *behavior = json_string_value(json_object_get(split, "behavior"));
	if (!re || bl_regex || !behavior || strcmp(behavior, "Isolated") != 0 ||
	    json_is_true(json_object_get(split, "invert"))) {
		llm_err_set(e, "%s: unsupported Split pre-tokenizer (expected a Regex, Isolated, not inverted, then ByteLevel without its regex)", path);
		return NULL;
	}
	return pattern_name(re);
}

static int hf_check_model(const char *path, json_t *j, json_t *model,
			  struct llm_err *e)
{
	const char *type = json_string_value(json_object_get(model, "type"));
	if (!json_is_object(model) || (type && strcmp(type, "BPE") != 0) ||
	    !json_is_object(json_object_get(model, "vocab")) ||
	    !json_is_array(json_object_get(model, "merges")))
		return llm_err_set(e, "%s: not a BPE tokenizer.json (model.type, vocab, merges)", path);
	json_t *norm = json_object_get(j, "normalizer");
	if (norm && !json_is_null(norm))
		return llm_err_set(e, "%s: normalizers are not supported", path);
	static const char *const off[] = {"byte_fallback", "continuing_subword_prefix",
					  "end_of_word_suffix", "dropout"};
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(model, off[i]);
		if (v && !json_is_null(v) && !json_is_false(v) &&
		    !(json_is_string(v) && !*json_string_value(v)))
			return llm_err_set(e, "%s: model.%s is not supported", path, off[i]);
	}
	return 0;
}

/* One merge of tokenizer.json: "a b" (older) or ["a", "b"] (newer). */
static int hf_merge(json_t *v, struct buf *a, struct buf *b)
{
	buf_clear(a);
	buf_clear(b);
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *sp = strchr(s, ' ');
		if (!sp || strchr(sp + 1, ' '))
			return -1;
		buf_append(a, s, (size_t)(sp - s));
		buf_puts(b, sp + 1);
	} else if (json_is_array(v) && json_array_size(v) == 2 &&
		   json_is_string(json_array_get(v, 0)) && json_is_string(json_array_get(v, 1))) {
		buf_puts(a, json_string_value(json_array_get(v, 0)));
		buf_puts(b, json_string_value(json_array_get(v, 1)));
	} else
		return -1;
	return a->len && b->len ? 0 : -1;
}

static struct bpe *load_hf(const char *path, json_t *j, struct llm_err *e)
{
	json_t *model = json_object_get(j, "model");
	if (hf_check_model(path, j, model, e) < 0)
		return NULL;
	const char *pattern = hf_pattern(path, json_object_get(j, "pre_tokenizer"), e);
	if (!pattern)
		return NULL;
	struct bpe *m = bpe_new();
	m->format = "hf";
	bpe_set_pattern(m, pattern);
	if (json_is_true(json_object_get(model, "ignore_merges")))
		m->flags |= BPE_WHOLE_PIECE;
	struct buf tb = {0}, a = {0}, b = {0};
	json_t *vocab = json_object_get(model, "vocab");
	json_t *added = json_object_get(j, "added_tokens");
	uint32_t id;
	size_t i;
	json_t *v;
	/* Added tokens first: their entries in vocab, if any, are skipped. */
	json_array_foreach(added, i, v) {
		const char *content = json_string_value(json_object_get(v, "content"));
		if (!content || json_id(json_object_get(v, "id"), &id) < 0) {
			llm_err_set(e, "%s: added_tokens[%zu]: needs a content and an id", path, i);
			goto fail;
		}
		if (!json_is_true(json_object_get(v, "special"))) {
			llm_err_set(e, "%s: added token '%s' is not special: not supported", path, content);
			goto fail;
		}
		if (bpe_add_token(m, id, content, strlen(content), 1, e) < 0) {
			llm_err_prefix(e, "%s", path);
			goto fail;
		}
	}
	const char *k;
	size_t klen;
	json_object_keylen_foreach(vocab, k, klen, v) {
		int raw;
		if (json_id(v, &id) < 0) {
			llm_err_set(e, "%s: vocab entry '%s' has no valid id", path, k);
			goto fail;
		}
		if (id < m->nids && m->special[id])
			continue;
		token_bytes(&tb, k, klen, &raw);
		if (raw) {
			llm_err_set(e, "%s: vocab entry '%s' is not in the byte-level alphabet", path, k);
			goto fail;
		}
		if (bpe_add_token(m, id, tb.p, tb.len, 0, e) < 0) {
			llm_err_prefix(e, "%s", path);
			goto fail;
		}
	}
	json_array_foreach(json_object_get(model, "merges"), i, v) {
		uint32_t l, r, made;
		if (hf_merge(v, &a, &b) < 0 ||
		    json_id(json_object_getn(vocab, a.p, a.len), &l) < 0 ||
		    json_id(json_object_getn(vocab, b.p, b.len), &r) < 0) {
			llm_err_set(e, "%s: merges[%zu]: not a pair of vocab tokens", path, i);
			goto fail;
		}
		buf_append(&a, b.p, b.len);
		if (json_id(json_object_getn(vocab, a.p, a.len), &made) < 0) {
			llm_err_set(e, "%s: merges[%zu]: '%s' is not in the vocab", path, i, a.p);
			goto fail;
		}
		bpe_add_merge(m, l, r, made);
	}
	if (bpe_prepare(m, e) < 0) {
		llm_err_prefix(e, "%s", path);
		goto fail;
	}
	buf_free(&tb);
	buf_free(&a);
	buf_free(&b);
	return m;
fail:
	buf_free(&tb);
	buf_free(&a);
	buf_free(&b);
	bpe_free(m);
	return NULL;
}

/* ---- loading: which format ---- */

static int looks_tiktoken(const struct buf *b)
{
	const char *nl = memchr(b->p, '\n', b->len);
	size_t n = nl ? (size_t)(nl - b->p) : b->len;
	const char *sp = memchr(b->p, ' ', n);
	if (!sp || (size_t)(sp - b->p) % 4 || sp == b->p + n - 1)
		return 0;
	for (const char *c = sp + 1; c < b->p + n; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return 1;
}

/* The first byte after leading whitespace is '{'. */
static int starts_json(const struct buf *b)
{
	size_t i = 0;
	while (i < b->len && (b->p[i] == ' ' || b->p[i] == '\n' ||
			      b->p[i] == '\t' || b->p[i] == '\r'))
		i++;
	return i < b->len && b->p[i] == '{';
}

/* GPT-2's pair from one of its files (is_enc: path is encoder.json, else
 * vocab.bpe): the other must lie beside it. */
static struct bpe *load_gpt2_beside(const char *path, int is_enc,
				    struct llm_err *e)
{
	char *other = beside(path, is_enc ? "vocab.bpe" : "encoder.json");
	struct bpe *m = NULL;
	if (!exists(other))
		llm_err_set(e, "%s: GPT-2 %s needs %s beside it (or give both with -m)",
			    path, is_enc ? "encoder.json" : "vocab.bpe",
			    is_enc ? "vocab.bpe" : "encoder.json");
	else
		m = is_enc ? load_gpt2(path, other, e) : load_gpt2(other, path, e);
	free(other);
	return m;
}

/* One file given: which format, and for GPT-2 where the other file is. */
static struct bpe *load_one(const char *path, struct llm_err *e)
{
	if (is_dir(path)) {
		char *enc = path_join(path, "encoder.json"), *voc = path_join(path, "vocab.bpe");
		char *hf = path_join(path, "tokenizer.json");
		struct bpe *m;
		if (exists(enc) && exists(voc))
			m = load_gpt2(enc, voc, e);
		else if (exists(hf))
			m = load_one(hf, e);
		else {
			llm_err_set(e, "%s: no encoder.json and vocab.bpe, nor tokenizer.json, in this folder", path);
			m = NULL;
		}
		free(enc);
		free(voc);
		free(hf);
		return m;
	}
	struct buf b = {0};
	struct bpe *m = NULL;
	if (read_whole(path, &b, e) < 0)
		return NULL;
	if (b.len >= 4 && memcmp(b.p, BPE_FILE_MAGIC, 4) == 0) {
		m = bpe_deserialize(path, (const unsigned char *)b.p, b.len, e);
	} else if (starts_json(&b)) {
		json_t *j = load_json(path, &b, e);
		if (j && json_object_get(j, "model"))
			m = load_hf(path, j, e);
		else if (j)
			m = load_gpt2_beside(path, 1, e);
		json_decref(j);
	} else if (b.len >= 8 && memcmp(b.p, "#version", 8) == 0) {
		m = load_gpt2_beside(path, 0, e);
	} else if (looks_tiktoken(&b)) {
		m = load_tiktoken(path, &b, e);
	} else
		llm_err_set(e, "%s: not a tokenizer file llm-bpe knows (own model, GPT-2, tiktoken, Hugging Face)", path);
	buf_free(&b);
	return m;
}

struct bpe *bpe_load(const char *const *paths, int npaths, struct llm_err *e)
{
	if (npaths == 1)
		return load_one(paths[0], e);
	if (npaths != 2) {
		llm_err_set(e, "give one model, or GPT-2's two files");
		return NULL;
	}
	/* GPT-2's pair, in either order: the JSON one is the encoder. */
	struct buf b = {0};
	if (read_whole(paths[0], &b, e) < 0)
		return NULL;
	int first_json = starts_json(&b);
	buf_free(&b);
	return first_json ? load_gpt2(paths[0], paths[1], e) : load_gpt2(paths[1], paths[0], e);
}

const char *bpe_load_format(const struct bpe *m)
{
	return m->format ? m->format : "llm-bpe";
}

/* ---- exports ---- */

/* The merge list to write: the model's own, or, for a model under the
 * ranks rule, every split of each token into two tokens, in rank order. */
static struct bpe_merge *merge_list(const struct bpe *m, uint32_t *n)
{
	if (!(m->flags & BPE_RANKS)) {
		*n = m->nmerges;
		struct bpe_merge *v = xmalloc((m->nmerges + 1) * sizeof *v);
		memcpy(v, m->merges, m->nmerges * sizeof *v);
		return v;
	}
	size_t cap = 1024, k = 0;
	struct bpe_merge *v = xmalloc(cap * sizeof *v);
	for (uint32_t id = 0; id < m->nids; id++) {
		if (!m->len[id] || m->special[id])
			continue;
		const unsigned char *p = (const unsigned char *)m->blob.p + m->off[id];
		size_t first = k;
		for (uint32_t s = 1; s < m->len[id]; s++) {
			uint32_t a = bpe_lookup(m, p, s), b = bpe_lookup(m, p + s, m->len[id] - s);
			if (a == BPE_NONE || b == BPE_NONE)
				continue;
			if (k == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			v[k++] = (struct bpe_merge){a, b, id};
		}
		/* Splits of one token in the order of their parts' ranks. */
		for (size_t x = first + 1; x < k; x++)
			for (size_t y = x; y > first &&
			     (v[y - 1].left > v[y].left ||
			      (v[y - 1].left == v[y].left && v[y - 1].right > v[y].right)); y--) {
				struct bpe_merge t = v[y];
				v[y] = v[y - 1];
				v[y - 1] = t;
			}
	}
	*n = (uint32_t)k;
	return v;
}

static void chars_of(const struct bpe *m, uint32_t id, struct buf *out)
{
	buf_clear(out);
	to_chars(out, (const unsigned char *)m->blob.p + m->off[id], m->len[id]);
}

static int special_text_ok(const struct bpe *m, uint32_t id, struct llm_err *e)
{
	if (utf8_check(m->blob.p + m->off[id], m->len[id]) != m->len[id])
		return llm_err_set(e, "special token %u is not valid UTF-8: it cannot be written to JSON", id);
	return 0;
}

int bpe_export_gpt2(const struct bpe *m, const char *dir, struct llm_err *e)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return llm_err_set(e, "%s: %s", dir, strerror(errno));
	json_t *enc = json_object();
	struct buf s = {0}, t = {0};
	int rc = 0;
	for (uint32_t id = 0; id < m->nids && rc == 0; id++) {
		if (!m->len[id])
			continue;
		chars_of(m, id, &s);
		json_object_setn_new_nocheck(enc, s.p, s.len, json_integer(id));
	}
	uint32_t n;
	struct bpe_merge *v = merge_list(m, &n);
	buf_clear(&t);
	buf_puts(&t, "#version: 0.2\n");
	for (uint32_t r = 0; r < n; r++) {
		chars_of(m, v[r].left, &s);
		buf_append(&t, s.p, s.len);
		buf_putc(&t, ' ');
		chars_of(m, v[r].right, &s);
		buf_append(&t, s.p, s.len);
		buf_putc(&t, '\n');
	}
	free(v);
	char *ep = path_join(dir, "encoder.json"), *vp = path_join(dir, "vocab.bpe");
	rc = output_json(ep, enc, JSON_COMPACT | JSON_PRESERVE_ORDER, e);
	if (rc == 0)
		rc = atomic_write_file(vp, t.p, t.len, e);
	free(ep);
	free(vp);
	json_decref(enc);
	buf_free(&s);
	buf_free(&t);
	return rc;
}

int bpe_export_tiktoken(const struct bpe *m, const char *path, struct llm_err *e)
{
	struct buf t = {0};
	for (uint32_t id = 0; id < m->nids; id++) {
		if (!m->len[id] || m->special[id])
			continue;
		b64_encode(&t, (const unsigned char *)m->blob.p + m->off[id], m->len[id]);
		buf_printf(&t, " %u\n", id);
	}
	json_t *side = json_object();
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strchr(base, '.');
	json_object_set_new(side, "name", json_stringn(base, dot ? (size_t)(dot - base) : strlen(base)));
	json_object_set_new(side, "pat_str", json_string(pretok_regex(m->pre)));
	json_t *sp = json_object();
	int rc = 0;
	for (uint32_t i = 0; i < m->nspecials && rc == 0; i++) {
		uint32_t id = m->specials[i];
		rc = special_text_ok(m, id, e);
		if (rc == 0)
			json_object_setn_new_nocheck(sp, m->blob.p + m->off[id], m->len[id], json_integer(id));
	}
	json_object_set_new(side, "special_tokens", sp);
	uint32_t ntok = 0;
	for (uint32_t id = 0; id < m->nids; id++)
		ntok += m->len[id] != 0;
	/* tiktoken checks explicit_n_vocab only against a dense vocabulary. */
	if (ntok == m->nids)
		json_object_set_new(side, "explicit_n_vocab", json_integer(m->nids));
	char *sp_path = xmalloc(strlen(path) + 6);
	sprintf(sp_path, "%s.json", path);
	if (rc == 0)
		rc = atomic_write_file(path, t.p, t.len, e);
	if (rc == 0)
		rc = output_json(sp_path, side, JSON_INDENT(2) | JSON_PRESERVE_ORDER, e);
	free(sp_path);
	json_decref(side);
	buf_free(&t);
	return rc;
}

/* The pre_tokenizer of tokenizer.json for the model's pattern. */
static json_t *hf_pre_tokenizer(const struct bpe *m)
{
	const char *p = m->pattern;
	if (strcmp(p, "gpt2") == 0)
		return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel",
				 "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1);
	/* Oniguruma reads "{1,3}+" as a repeat, not a possessive: give it
	 * the older spelling of cl100k's pattern, which matches the same. */
	const char *re = strcmp(p, "cl100k") == 0
		? "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
		: pretok_regex(m->pre);
	return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}",
			 "type", "Sequence", "pretokenizers",
			 "type", "Split", "pattern", "Regex", re, "behavior", "Isolated", "invert", 0,
			 "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0);
}

int bpe_export_hf(const struct bpe *m, const char *path, struct llm_err *e)
{
	json_t *added = json_array(), *vocab = json_object(), *merges = json_array();
	struct buf s = {0}, t = {0};
	int rc = 0;
	for (uint32_t i = 0; i < m->nspecials && rc == 0; i++) {
		uint32_t id = m->specials[i];
		if ((rc = special_text_ok(m, id, e)) < 0)
			break;
		json_array_append_new(added, json_pack("{s:I, s:s%, s:b, s:b, s:b, s:b, s:b}",
			"id", (json_int_t)id, "content", m->blob.p + m->off[id], (size_t)m->len[id],
			"single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1));
	}
	for (uint32_t id = 0; id < m->nids && rc == 0; id++) {
		if (!m->len[id])
			continue;
		if (m->special[id])
			json_object_setn_new_nocheck(vocab, m->blob.p + m->off[id], m->len[id], json_integer(id));
		else {
			chars_of(m, id, &s);
			json_object_setn_new_nocheck(vocab, s.p, s.len, json_integer(id));
		}
	}
	uint32_t n;
	struct bpe_merge *v = merge_list(m, &n);
	for (uint32_t r = 0; r < n; r++) {
		chars_of(m, v[r].left, &s);
		chars_of(m, v[r].right, &t);
		buf_putc(&s, ' ');
		buf_append(&s, t.p, t.len);
		json_array_append_new(merges, json_stringn_nocheck(s.p, s.len));
	}
	free(v);
	if (rc < 0) {
		json_decref(added);
		json_decref(vocab);
		json_decref(merges);
		buf_free(&s);
		buf_free(&t);
		return -1;
	}
	int whole = (m->flags & (BPE_RANKS | BPE_WHOLE_PIECE)) != 0;
	json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b}", "type", "BPE",
				  "dropout", "unk_token", "continuing_subword_prefix",
				  "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0);
	/* Only when set: tokenizers older than 0.19 do not know the key. */
	if (whole)
		json_object_set_new(model, "ignore_merges", json_true());
	json_object_set_new(model, "vocab", vocab);
	json_object_set_new(model, "merges", merges);
	json_t *j = json_pack("{s:s, s:n, s:n, s:o, s:n, s:o, s:n, s:{s:s, s:b, s:b, s:b}, s:o}",
		"version", "1.0", "truncation", "padding", "added_tokens", added,
		"normalizer", "pre_tokenizer", hf_pre_tokenizer(m), "post_processor",
		"decoder", "type", "ByteLevel", "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1,
		"model", model);
	rc = output_json(path, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER, e);
	json_decref(j);
	buf_free(&s);
	buf_free(&t);
	return rc;
}
