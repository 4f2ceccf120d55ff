/* rendezvous.c - sharing a blob between ranks by file or TCP; see
 * rendezvous.h. */
#include "rendezvous.h"
#include "err.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "LLMKRDV1"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};	/* 20 ms */
	nanosleep(&ts, NULL);
}

/* The message: magic, token, then (file only) the blob. */
static size_t encode(unsigned char *buf, const char *token, const void *blob, size_t n)
{
	size_t tl = strlen(token), off = 0;
	memcpy(buf, MAGIC, 8);
	off = 8;
	le_put32(buf + off, (uint32_t)tl);
	off += 4;
	memcpy(buf + off, token, tl);
	off += tl;
	if (blob) {
		le_put32(buf + off, (uint32_t)n);
		off += 4;
		memcpy(buf + off, blob, n);
		off += n;
	}
	return off;
}

/* ==== file ============================================================== */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int publish(const char *path, const unsigned char *msg, size_t len,
		   struct llm_err *e)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return llm_err_set(e, "rendezvous %s: %s", tmp, strerror(errno));
	/* fsync before the rename: a reader on another node must never see
	 * the name before the bytes */
	if (write_all(fd, msg, len) < 0 || fsync(fd) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return llm_err_set(e, "rendezvous %s: %s", tmp, strerror(err));
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		return llm_err_set(e, "rendezvous %s: %s", path, strerror(err));
	}
	return 0;
}

/* 1 when path holds this token's blob (copied out), 0 when not (yet). */
static int try_read(const char *path, const char *token, void *blob, size_t n)
{
	unsigned char buf[8 + 4 + 4096 + 4 + RDV_MAX_BLOB];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	size_t tl = strlen(token);
	if (len < 12 || memcmp(buf, MAGIC, 8) || le_get32(buf + 8) != tl || len < 16 + tl ||
	    memcmp(buf + 12, token, tl) || le_get32(buf + 12 + tl) != n || len != 16 + tl + n)
		return 0;
	memcpy(blob, buf + 16 + tl, n);
	return 1;
}

int rdv_file(const char *path, const char *token, int rank, void *blob,
	     size_t n, double timeout_s, struct llm_err *e)
{
	if (n > RDV_MAX_BLOB || strlen(token) > 4096)
		return llm_err_set(e, "rendezvous: blob or token too large");
	if (rank == 0) {
		unsigned char buf[8 + 4 + 4096 + 4 + RDV_MAX_BLOB];
		return publish(path, buf, encode(buf, token, blob, n), e);
	}
	double end = now() + timeout_s;
	while (!try_read(path, token, blob, n)) {
		if (now() > end)
			return llm_err_set(e, "rendezvous file:%s: no id from rank 0 for this job after %.0f s",
					   path, timeout_s);
		nap();
	}
	return 0;
}

/* ==== TCP =============================================================== */

static int read_all(int fd, void *p, size_t n, double end)
{
	char *c = p;
	while (n > 0) {
		int ms = (int)((end - now()) * 1000);
		if (ms <= 0)
			return -1;
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t got = read(fd, c, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		c += got;
		n -= (size_t)got;
	}
	return 0;
}

static struct addrinfo *resolve(const char *host, int port, int passive, struct llm_err *e)
{
	struct addrinfo hints, *res;
	char ps[16];
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(ps, sizeof ps, "%d", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		llm_err_set(e, "rendezvous tcp:%s:%d: %s", host, port, gai_strerror(rc));
		return NULL;
	}
	return res;
}

/* Rank 0: answer nranks-1 clients with a matching token. */
static int serve(const char *host, int port, const char *token, int nranks,
		 const void *blob, size_t n, double timeout_s, struct llm_err *e)
{
	struct addrinfo *res = resolve(host, port, 1, e);
	if (!res)
		return -1;
	int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return llm_err_set(e, "rendezvous tcp:%s:%d: cannot listen: %s", host, port,
				   strerror(err));
	}
	freeaddrinfo(res);
	double end = now() + timeout_s;
	size_t tl = strlen(token);
	unsigned char answer[4 + RDV_MAX_BLOB];
	le_put32(answer, (uint32_t)n);
	memcpy(answer + 4, blob, n);
	int served = 0;
	while (served < nranks - 1) {
		int ms = (int)((end - now()) * 1000);
		struct pollfd pf = {fd, POLLIN, 0};
		if (ms <= 0 || poll(&pf, 1, ms) <= 0) {
			if (ms > 0 && errno == EINTR)
				continue;
			close(fd);
			return llm_err_set(e, "rendezvous tcp:%s:%d: %d of %d ranks connected in %.0f s",
					   host, port, served + 1, nranks, timeout_s);
		}
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		/* hello: magic, rank, token; a stranger is dropped */
		unsigned char hello[8 + 4 + 4 + 4096];
		int ok = read_all(c, hello, 16, end) == 0 && memcmp(hello, MAGIC, 8) == 0 &&
			 le_get32(hello + 12) == tl && read_all(c, hello + 16, tl, end) == 0 &&
			 memcmp(hello + 16, token, tl) == 0;
		if (ok && write_all(c, answer, 4 + n) == 0)
			served++;
		close(c);
	}
	close(fd);
	return 0;
}

/* One attempt: 1 got the blob, 0 try again, -1 failed for good. */
static int fetch_once(const char *host, int port, const char *token, int rank, void *blob,
		      size_t n, double end, struct llm_err *e)
{
	struct addrinfo *res = resolve(host, port, 0, e);
	if (!res)
		return -1;
	int got = 0;
	for (struct addrinfo *a = res; a && !got; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			unsigned char hello[8 + 4 + 4 + 4096], len[4];
			memcpy(hello, MAGIC, 8);
			le_put32(hello + 8, (uint32_t)rank);
			size_t tl = strlen(token);
			le_put32(hello + 12, (uint32_t)tl);
			memcpy(hello + 16, token, tl);
			if (write_all(fd, hello, 16 + tl) == 0 && read_all(fd, len, 4, end) == 0 &&
			    le_get32(len) == n && read_all(fd, blob, n, end) == 0)
				got = 1;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return got;
}

int rdv_tcp(const char *host, int port, const char *token, int rank,
	    int nranks, void *blob, size_t n, double timeout_s,
	    struct llm_err *e)
{
	if (n > RDV_MAX_BLOB || strlen(token) > 4096 || port < 1 || port > 65535)
		return llm_err_set(e, "rendezvous tcp:%s:%d: bad port, blob or token", host, port);
	if (rank == 0)
		return serve(host, port, token, nranks, blob, n, timeout_s, e);
	double end = now() + timeout_s;
	for (;;) {
		int r = fetch_once(host, port, token, rank, blob, n, end, e);
		if (r != 0)
			return r > 0 ? 0 : -1;
		if (now() > end)
			return llm_err_set(e, "rendezvous tcp:%s:%d: no answer from rank 0 in %.0f s",
					   host, port, timeout_s);
		nap();
	}
}

int rdv_share(const char *spec, const char *token, int rank, int nranks,
	      void *blob, size_t n, double timeout_s, struct llm_err *e)
{
	if (strncmp(spec, "file:", 5) == 0 && spec[5])
		return rdv_file(spec + 5, token, rank, blob, n, timeout_s, e);
	if (strncmp(spec, "tcp:", 4) == 0) {
		const char *hp = spec + 4, *colon = strrchr(hp, ':');
		char host[256];
		if (colon && colon > hp && (size_t)(colon - hp) < sizeof host) {
			memcpy(host, hp, (size_t)(colon - hp));
			host[colon - hp] = 0;
			char *end;
			long port = strtol(colon + 1, &end, 10);
			if (*end == 0 && port > 0 && port < 65536)
				return rdv_tcp(host, (int)port, token, rank, nranks, blob, n,
					       timeout_s, e);
		}
	}
	return llm_err_set(e, "rendezvous '%s': expected file:PATH or tcp:HOST:PORT", spec);
}

/* ==== the launcher's environment ========================================= */

static int env_int(const char *name, int *v)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	char *end;
	long x = strtol(s, &end, 10);
	if (*end || x < 0 || x > 1 << 24)
		return -1;
	*v = (int)x;
	return 1;
}

int rdv_env_rank(int *rank, int *size, int *local_rank, struct llm_err *e)
{
	static const char *const vars[][3] = {
		{"LLM_RANK", "LLM_WORLD_SIZE", "LLM_LOCAL_RANK"},
		{"RANK", "WORLD_SIZE", "LOCAL_RANK"},
		{"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
		{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
		{"PMI_RANK", "PMI_SIZE", NULL},
	};
	*rank = 0;
	*size = 1;
	*local_rank = 0;
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		int r, n, l;
		int hr = env_int(vars[i][0], &r), hn = env_int(vars[i][1], &n);
		if (hr == 0 && hn == 0)
			continue;
		if (hr != 1 || hn != 1 || n < 1 || r >= n)
			return llm_err_set(e, "%s=%s and %s=%s are not a rank of a job", vars[i][0],
					   getenv(vars[i][0]) ? getenv(vars[i][0]) : "(unset)",
					   vars[i][1],
					   getenv(vars[i][1]) ? getenv(vars[i][1]) : "(unset)");
		int hl = vars[i][2] ? env_int(vars[i][2], &l) : 0;
		if (hl < 0)
			return llm_err_set(e, "%s=%s is not a number", vars[i][2], getenv(vars[i][2]));
		*rank = r;
		*size = n;
		*local_rank = hl == 1 ? l : r;
		return 1;
	}
	return 0;
}

const char *rdv_env_token(void)
{
	const char *t = getenv("LLM_RENDEZVOUS_TOKEN");
	if (!t || !*t)
		t = getenv("SLURM_JOB_ID");
	return t ? t : "";
}
