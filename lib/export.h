/*
 * export.h - a model as a Hugging Face GPT-2 directory.
 *
 * export_hf_gpt2() writes dir/config.json (GPT2LMHeadModel) and
 * dir/model.safetensors: "transformer.wte.weight" (V, C) without the
 * padding rows, "transformer.wpe.weight", "transformer.h.L.ln_1.weight",
 * ..., "transformer.ln_f.bias", fp32.  GPT-2's Conv1D layers keep their
 * weights as (in, out), the transpose of lib/model.h's (out, in), so the
 * four matrices of each layer are written transposed; the output layer is
 * tied to wte and not written.  Only GPT-2's own layout can be read by
 * GPT2LMHeadModel: LayerNorm with biases, pre-norm, GELU, learned
 * positions, tied embeddings; anything else is refused, naming the option.
 *
 * safetensors: an 8-byte little-endian header length, the JSON header
 * (name -> dtype, shape, data_offsets; "__metadata__": {"format": "pt"}),
 * then the data.  Both files are written atomically.
 */
#ifndef LLM_EXPORT_H
#define LLM_EXPORT_H

struct bpe;
struct llm_err;
struct model;

/* eot is the end-of-text id for bos/eos in config.json. */
int export_hf_gpt2(const struct model *m, const char *dir, unsigned eot,
		   struct llm_err *e);

/* The model, and with a tokenizer tok (bpe.h; NULL: none) its
 * dir/tokenizer.json (bpe_export_hf), end-of-text tok's or else the
 * model's last id (GPT-2's).  The caller checks that tok's ids fit the
 * model's vocabulary.  0, or -1 with a message. */
int export_hf(const struct model *m, const struct bpe *tok, const char *dir,
	      struct llm_err *e);

#endif
