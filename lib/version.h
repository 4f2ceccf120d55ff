/* version.h - the llmkit release every program reports with --version. */
#ifndef LLM_VERSION_H
#define LLM_VERSION_H

#define LLMKIT_VERSION "0.1.0"

#endif
