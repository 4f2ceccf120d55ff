/*
 * classifier.h - a hashed word + bigram logistic-regression quality model.
 *
 * The GPT-3 / LLaMA quality classifier, self-contained: a document becomes
 * a sparse vector of hashed features, fastText style (each lower-cased word
 * of words_split() and each pair of neighbouring words, hashed with xxh3
 * into 2^bits buckets, counts scaled to unit length), and the model is one
 * weight per bucket plus a bias:
 *
 *     score = sigmoid(bias + sum_i w[idx_i] * val_i)     in (0, 1)
 *
 * trained by SGD on the logistic loss, positives = "looks like the curated
 * text", negatives = "looks like raw web text".
 *
 * Model file (little-endian), written atomically:
 *
 *     0   8 bytes   magic "LLMCLF\r\n"
 *     8   u32       format version (1)
 *     12  u32       bits (1..28): 2^bits weights
 *     16  u32       flags: bit 0 = bigram features
 *     20  u32       0
 *     24  f64       bias
 *     32  f32[2^bits] weights
 *     end u64       xxh3-64 of every byte before it
 *
 * A file that is not one (wrong magic), of another version, truncated or
 * damaged (checksum) is refused with a message that says which.
 */
#ifndef LLM_CLASSIFIER_H
#define LLM_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crng.h"
#include "words.h"

struct llm_err;

#define CLF_VERSION 1
#define CLF_MAX_BITS 28

struct clf_model {
	uint32_t bits;
	int bigrams;
	double bias;
	float *w;		/* [1 << bits] */
};

/* A document's features: n (bucket, value) pairs, buckets distinct. */
struct clf_feats {
	uint32_t *idx;
	float *val;
	size_t n, cap;
	struct words ws;	/* scratch */
	struct buf low;		/* scratch */
	uint64_t *h;		/* scratch */
	size_t hcap;
};

/* Features of text[0..n) (valid UTF-8) for 2^bits buckets. */
void clf_features(struct clf_feats *f, const char *text, size_t n, uint32_t bits,
		  int bigrams);
void clf_feats_free(struct clf_feats *f);

/* The model's score for features f. */
double clf_predict(const struct clf_model *m, const struct clf_feats *f);
/* Features and score of a text in one call (f is scratch). */
double clf_score(const struct clf_model *m, struct clf_feats *f, const char *text,
		 size_t n);

int clf_save(const struct clf_model *m, const char *path, struct llm_err *e);
int clf_load(struct clf_model *m, const char *path, struct llm_err *e);
void clf_free(struct clf_model *m);

/* Training examples: every document's features, packed. */
struct clf_data {
	uint32_t *idx;
	float *val;
	size_t nfeat, featcap;
	struct clf_example {
		size_t off, n;	/* its features: idx/val[off .. off + n) */
		int label;	/* 1 positive, 0 negative */
		int test;	/* held out */
	} *ex;
	size_t nex, excap;
};

void clf_data_add(struct clf_data *d, const struct clf_feats *f, int label, int test);
void clf_data_free(struct clf_data *d);

struct clf_train_opts {
	uint32_t bits;
	int bigrams;
	int epochs;
	double lr;		/* starting learning rate, decays linearly to 0 */
	double l2;		/* weight decay per update of a feature */
	uint64_t seed;		/* example order */
};

struct clf_report {
	size_t train_pos, train_neg, test_pos, test_neg;
	double train_loss;	/* mean logistic loss, last epoch */
	double train_acc, test_acc;	/* at score 0.5 */
	double test_auc;	/* ROC AUC on the held-out examples */
	double test_loss;
};

/* Train m (allocated here) on the examples not held out; evaluate on the
 * held-out ones.  Classes are weighted to count equally. */
void clf_train(struct clf_model *m, const struct clf_data *d,
	       const struct clf_train_opts *o, struct clf_report *r);

/* ROC AUC of scores against labels (ties count one half); NaN if one class
 * is missing. */
double clf_auc(const double *score, const int *label, size_t n);

/* SplitMix64 (crng.h's finaliser over a golden-ratio counter): the one
 * generator behind shuffling and sampling. */
static inline uint64_t clf_splitmix(uint64_t *s)
{
	return crng_mix(*s += CRNG_GOLDEN);
}

/* A uniform double in [0, 1) from 53 random bits. */
static inline double clf_uniform(uint64_t *s)
{
	return (double)(clf_splitmix(s) >> 11) * 0x1.0p-53;
}

#endif
