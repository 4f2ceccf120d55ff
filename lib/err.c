/* err.c - error messages; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int llm_err_set(struct llm_err *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void llm_err_prefix(struct llm_err *e, const char *fmt, ...)
{
	if (!e)
		return;
	char old[sizeof e->msg];
	memcpy(old, e->msg, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof e->msg - 2)
		return;
	char *p = e->msg + n;
	size_t room = sizeof e->msg - (size_t)n;
	memcpy(p, ": ", 2);
	strncpy(p + 2, old, room - 2);
	e->msg[sizeof e->msg - 1] = '\0';
}
