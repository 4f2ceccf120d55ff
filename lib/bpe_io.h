/*
 * bpe_io.h - tokenizer files: llm-bpe's own, GPT-2's, tiktoken's and
 * Hugging Face's.
 *
 * bpe_load() recognises the format by content, not by name:
 *
 *   own        "LBPE" magic; llm-bpe-model(5).  Truncated, corrupted
 *              (checksum) and newer-version files are errors that say so.
 *   GPT-2      encoder.json (token -> id) and vocab.bpe (merges), both in
 *              GPT-2's printable byte alphabet (bytes_to_unicode); given as
 *              a folder holding both, as the two files, or as either one
 *              with the other beside it.  Entries of encoder.json that are
 *              neither a byte nor made by a merge are special tokens.
 *              Pattern: GPT-2's.  Rule: merge list.
 *   tiktoken   "<base64 bytes> <rank>" lines.  Rule: tiktoken's (ranks).
 *              The file has no pattern or special tokens: they are read
 *              from FILE.json beside it when present (export writes it:
 *              tiktoken.Encoding's own arguments), else recognised for
 *              OpenAI's r50k_base, cl100k_base and o200k_base files (by
 *              content hash), else GPT-2's pattern and none.
 *   HF         tokenizer.json with a BPE model and a ByteLevel
 *              pre-tokenizer (alone, or after a Split with a regex); a
 *              folder holding tokenizer.json works too.  Normalizers,
 *              add_prefix_space, byte fallback, dropout and subword
 *              affixes are refused, since encoding would not match.
 *
 * Exports write what each library loads unchanged.  A model under the
 * ranks rule exported as merges lists every way each token splits into two
 * tokens, ranked by the token (Hugging Face's conversion of tiktoken
 * files), with ignore_merges set in tokenizer.json.
 *
 * Errors name the file, and the line where the format has lines.
 */
#ifndef LLM_BPE_IO_H
#define LLM_BPE_IO_H

#include <stddef.h>
#include <stdint.h>

struct bpe;
struct buf;
struct llm_err;

#define BPE_FILE_MAGIC "LBPE"
#define BPE_FILE_VERSION 1

/* Load a model from one path, or from two (GPT-2's pair), and
 * bpe_prepare() it.  NULL with e set on error. */
struct bpe *bpe_load(const char *const *paths, int npaths, struct llm_err *e);
/* The format bpe_load() found: "llm-bpe", "gpt2", "tiktoken" or "hf". */
const char *bpe_load_format(const struct bpe *m);

/* Write the model in llm-bpe's own format (atomically). */
int bpe_save(const struct bpe *m, const char *path, struct llm_err *e);
/* The own format as bytes, and back (for tests; path names messages). */
void bpe_serialize(const struct bpe *m, struct buf *out);
struct bpe *bpe_deserialize(const char *path, const unsigned char *p,
			    size_t n, struct llm_err *e);

/* Write dir/encoder.json and dir/vocab.bpe (dir is made if missing). */
int bpe_export_gpt2(const struct bpe *m, const char *dir, struct llm_err *e);
/* Write path (ranks) and path.json (pattern, special tokens). */
int bpe_export_tiktoken(const struct bpe *m, const char *path,
			struct llm_err *e);
/* Write a Hugging Face tokenizer.json. */
int bpe_export_hf(const struct bpe *m, const char *path, struct llm_err *e);

/* GPT-2's printable spelling of a byte (bytes_to_unicode()): the UTF-8 of
 * the character, 1 or 2 bytes, into out; returns the length. */
int bpe_byte_char(unsigned char byte, char out[2]);

#endif
