/* quality_fineweb.c - FineWeb's quality rules, as datatrove's
 * FineWebQualityFilter; see quality.h. */
#include "quality.h"
#include "quality_int.h"

#include <string.h>

static int ends_stop(const struct quality_params *p, const char *s, size_t n)
{
	if (!p->fw.stop_chars.n)
		return words_class(last_cp(s, n)) & WC_TERMINAL ? 1 : 0;
	for (size_t i = 0; i < p->fw.stop_chars.n; i++)
		if (ends_with(s, n, p->fw.stop_chars.v[i]))
			return 1;
	return 0;
}

const char *quality_fineweb(const struct quality_params *p, struct qdoc *q)
{
	/* text.split("\n") without the lines that are only whitespace */
	const char *t = q->text;
	size_t n = q->n, nl = 0, newlines = 0;
	for (size_t start = 0;;) {
		const char *hit = memchr(t + start, '\n', n - start);
		size_t end = hit ? (size_t)(hit - t) : n;
		if (!words_all_space(t + start, end - start))
			add_slice(q, &nl, (struct qslice){t + start, end - start});
		if (!hit)
			break;
		newlines++;
		start = end + 1;
	}
	if (nl == 0)
		return "empty";
	const struct qslice *l = q->sl;
	size_t punct = 0, shorts = 0;
	for (size_t i = 0; i < nl; i++) {
		punct += ends_stop(p, l[i].p, l[i].n);
		shorts += words_count_cp(l[i].p, l[i].n) <= (size_t)p->fw.short_line_length;
	}
	double ratio = (double)punct / (double)nl;
	if (ratio < p->fw.line_punct_thr && !(ratio == 0 && p->fw.line_punct_exclude_zero))
		return "line_punct_ratio";
	if ((double)shorts / (double)nl > p->fw.short_line_thr)
		return "short_line_ratio";
	size_t dups, chars;
	find_duplicates(q, q->sl, nl, &dups, &chars);
	if ((double)chars / (double)(q->ncp - newlines) > p->fw.char_duplicates_ratio)
		return "char_dup_ratio";
	size_t nw = qdoc_nwords(q);
	if (nw == 0 ? newlines > 0 : (double)newlines / (double)nw > p->fw.new_line_ratio)
		return "list_ratio";
	return NULL;
}
