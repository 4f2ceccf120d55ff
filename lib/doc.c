/* doc.c - parse, change and write documents; see doc.h. */
#include "doc.h"
#include "err.h"
#include "utf8.h"

#include <string.h>

/* Flags for every value libllm writes with jansson: compact, UTF-8 as is,
 * and 15 significant digits so 0.1 stays 0.1 rather than 0.10000000000000001. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

void doc_reset(struct doc *d)
{
	d->line = NULL;
	d->line_len = 0;
	d->id = d->text = NULL;
	d->id_len = d->text_len = 0;
	d->text_val.p = d->meta_val.p = NULL;
	d->text_val.n = d->meta_val.n = 0;
	d->close_off = 0;
	d->text_changed = 0;
	json_decref(d->ann);
	json_decref(d->fields);
	d->ann = d->fields = NULL;
	buf_clear(&d->idbuf);
	buf_clear(&d->textbuf);
	d->user = NULL;
}

void doc_free(struct doc *d)
{
	doc_reset(d);
	buf_free(&d->idbuf);
	buf_free(&d->textbuf);
	buf_free(&d->keybuf);
}

static int bad(struct llm_err *e, size_t off, const char *why)
{
	return llm_err_set(e, "byte %zu: %s", off + 1, why);
}

/* Compare a key's string body with a name, decoding escapes if any. */
static int key_is(struct doc *d, struct jspan k, int escaped, const char *name)
{
	size_t n = strlen(name);
	if (!escaped)
		return k.n == n && memcmp(k.p, name, n) == 0;
	struct jscan_err je;
	buf_clear(&d->keybuf);
	if (jstr_decode(k.p, k.n, &d->keybuf, &je) < 0)
		return 0;
	return d->keybuf.len == n && memcmp(d->keybuf.p, name, n) == 0;
}

int doc_parse(struct doc *d, const char *line, size_t len, struct llm_err *e)
{
	doc_reset(d);
	d->line = line;
	d->line_len = len;

	struct jscan s;
	struct jscan_err je;
	struct jspan key, val, id_val = {NULL, 0};
	int esc, r;
	jscan_init(&s, line, len);
	if (jscan_object_open(&s, &je) < 0)
		return bad(e, je.off, "not a JSON object");
	while ((r = jscan_object_next(&s, &key, &esc, &val, &je)) == 1) {
		struct jspan *slot = NULL;
		if (key_is(d, key, esc, "text"))
			slot = &d->text_val;
		else if (key_is(d, key, esc, "id"))
			slot = &id_val;
		else if (key_is(d, key, esc, "metadata"))
			slot = &d->meta_val;
		if (!slot)
			continue;
		if (slot->p)
			return bad(e, (size_t)(key.p - 1 - line), "duplicate key");
		*slot = val;
	}
	if (r < 0)
		return bad(e, je.off, je.why);
	d->close_off = (size_t)(s.p - 1 - line);
	jscan_ws(&s);
	if (s.p != s.end)
		return bad(e, (size_t)(s.p - line), "text after the JSON object");

	if (!d->text_val.p)
		return llm_err_set(e, "missing \"text\"");
	if (!id_val.p)
		return llm_err_set(e, "missing \"id\"");
	if (d->text_val.p[0] != '"')
		return bad(e, (size_t)(d->text_val.p - line), "\"text\" is not a string");

	/* Decode text; without escapes it is the bytes between the quotes. */
	const char *body = d->text_val.p + 1;
	size_t blen = d->text_val.n - 2;
	if (memchr(body, '\\', blen)) {
		if (jstr_decode(body, blen, &d->textbuf, &je) < 0)
			return bad(e, (size_t)(body - line) + je.off, je.why);
		d->text = d->textbuf.p;
		d->text_len = d->textbuf.len;
	} else {
		d->text = body;
		d->text_len = blen;
	}

	if (id_val.p[0] == '"') {
		body = id_val.p + 1;
		blen = id_val.n - 2;
		if (memchr(body, '\\', blen)) {
			if (jstr_decode(body, blen, &d->idbuf, &je) < 0)
				return bad(e, (size_t)(body - line) + je.off, je.why);
			d->id = d->idbuf.p;
			d->id_len = d->idbuf.len;
		} else {
			d->id = body;
			d->id_len = blen;
		}
	} else if (id_val.p[0] == '-' || (id_val.p[0] >= '0' && id_val.p[0] <= '9')) {
		d->id = id_val.p;
		d->id_len = id_val.n;
	} else {
		return bad(e, (size_t)(id_val.p - line),
			   "\"id\" is not a string or a number");
	}
	return 0;
}

void doc_new(struct doc *d, const char *id, const char *text, size_t len)
{
	doc_reset(d);
	buf_puts(&d->idbuf, id);
	d->id = d->idbuf.p;
	d->id_len = d->idbuf.len;
	doc_set_text(d, text, len);
}

void doc_set_field(struct doc *d, const char *key, json_t *value)
{
	if (!d->fields)
		d->fields = json_object();
	json_object_set_new(d->fields, key, value);
}

void doc_set_text(struct doc *d, const char *text, size_t len)
{
	/* text may point into textbuf itself; go through a copy. */
	struct buf t = {0};
	buf_append(&t, text, len);
	buf_free(&d->textbuf);
	d->textbuf = t;
	d->text = d->textbuf.p;
	d->text_len = d->textbuf.len;
	d->text_changed = 1;
}

int doc_annotate(struct doc *d, const char *stage, json_t *value,
		 struct llm_err *e)
{
	if (d->meta_val.p && d->meta_val.p[0] != '{') {
		json_decref(value);
		return llm_err_set(e, "\"metadata\" is not an object; cannot add metadata.%s",
				   stage);
	}
	if (!d->ann)
		d->ann = json_object();
	json_object_set_new(d->ann, stage, value);
	return 0;
}

static void put_pair(struct buf *out, const char *key, json_t *v)
{
	jstr_encode(out, key, strlen(key));
	buf_putc(out, ':');
	char *s = json_dumps(v, DUMP_FLAGS);
	buf_puts(out, s);
	free(s);
}

/* Write the metadata object: the one read with the annotations merged in,
 * every other key left exactly as it was. */
static void put_metadata(const struct doc *d, struct buf *out)
{
	if (!d->meta_val.p) {
		buf_putc(out, '{');
		const char *k;
		json_t *v;
		int first = 1;
		json_object_foreach(d->ann, k, v) {
			if (!first)
				buf_putc(out, ',');
			put_pair(out, k, v);
			first = 0;
		}
		buf_putc(out, '}');
		return;
	}
	json_t *todo = json_copy(d->ann);
	struct jscan s;
	struct jscan_err je;
	struct jspan key, val;
	int esc, pairs = 0;
	struct buf kb = {0};
	const char *cur = d->meta_val.p;
	jscan_init(&s, d->meta_val.p, d->meta_val.n);
	jscan_object_open(&s, &je);
	while (jscan_object_next(&s, &key, &esc, &val, &je) == 1) {
		pairs++;
		buf_clear(&kb);
		if (esc)
			jstr_decode(key.p, key.n, &kb, &je);
		else
			buf_append(&kb, key.p, key.n);
		json_t *v = json_object_get(todo, kb.p);
		if (!v || memchr(kb.p, 0, kb.len))
			continue;
		buf_append(out, cur, (size_t)(val.p - cur));
		char *dump = json_dumps(v, DUMP_FLAGS);
		buf_puts(out, dump);
		free(dump);
		cur = val.p + val.n;
		json_object_del(todo, kb.p);
	}
	/* Up to, not including, the closing brace; then the new keys. */
	const char *close = d->meta_val.p + d->meta_val.n - 1;
	buf_append(out, cur, (size_t)(close - cur));
	const char *k;
	json_t *v;
	json_object_foreach(todo, k, v) {
		if (pairs++)
			buf_putc(out, ',');
		put_pair(out, k, v);
	}
	buf_putc(out, '}');
	json_decref(todo);
	buf_free(&kb);
}

void doc_serialize(const struct doc *d, struct buf *out)
{
	int has_ann = d->ann && json_object_size(d->ann) > 0;
	if (!d->line) {
		buf_puts(out, "{\"id\":");
		jstr_encode(out, d->id, d->id_len);
		buf_puts(out, ",\"text\":");
		jstr_encode(out, d->text, d->text_len);
		const char *k;
		json_t *v;
		json_object_foreach(d->fields, k, v) {
			buf_putc(out, ',');
			put_pair(out, k, v);
		}
		if (has_ann) {
			buf_puts(out, ",\"metadata\":");
			put_metadata(d, out);
		}
		buf_puts(out, "}\n");
		return;
	}
	if (!d->text_changed && !has_ann) {
		buf_append(out, d->line, d->line_len);
		buf_putc(out, '\n');
		return;
	}
	/* Copy the line, splicing in the new text and metadata where they
	 * were; metadata is added before the closing brace if it was absent. */
	const char *cur = d->line;
	const struct jspan *first = &d->text_val, *second = &d->meta_val;
	if (d->meta_val.p && d->meta_val.p < d->text_val.p) {
		first = &d->meta_val;
		second = &d->text_val;
	}
	const struct jspan *spans[2] = {first, second};
	for (int i = 0; i < 2; i++) {
		const struct jspan *sp = spans[i];
		if (!sp->p)
			continue;
		if (sp == &d->text_val && d->text_changed) {
			buf_append(out, cur, (size_t)(sp->p - cur));
			jstr_encode(out, d->text, d->text_len);
			cur = sp->p + sp->n;
		} else if (sp == &d->meta_val && has_ann) {
			buf_append(out, cur, (size_t)(sp->p - cur));
			put_metadata(d, out);
			cur = sp->p + sp->n;
		}
	}
	const char *close = d->line + d->close_off;
	buf_append(out, cur, (size_t)(close - cur));
	if (has_ann && !d->meta_val.p) {
		buf_puts(out, ",\"metadata\":");
		put_metadata(d, out);
	}
	buf_append(out, close, (size_t)(d->line + d->line_len - close));
	buf_putc(out, '\n');
}

json_t *doc_json_string(const char *s)
{
	size_t n = strlen(s);
	if (utf8_check(s, n) == n)
		return json_string(s);
	struct buf b = {0};
	utf8_sanitize(&b, s, n);
	json_t *j = json_stringn(b.p, b.len);
	buf_free(&b);
	return j;
}
