/*
 * err.h - error values passed up from libllm to the programs.
 *
 * Library functions never print and never exit.  A function that can fail
 * takes a struct llm_err *, fills it with a complete, human-readable message
 * ("FILE:LINE: what went wrong") and returns -1 (or NULL).  The program decides
 * what to do: print it with its own name in front, skip the document, or stop.
 */
#ifndef LLM_ERR_H
#define LLM_ERR_H

struct llm_err {
	char msg[1024];
};

/* Set the message, printf style.  Returns -1 so callers can write
 * `return llm_err_set(e, ...);`. */
int llm_err_set(struct llm_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepend "PREFIX: " to an existing message (to add a file name, say). */
void llm_err_prefix(struct llm_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
