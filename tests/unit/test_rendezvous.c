/*
 * test_rendezvous.c - sharing a 128-byte id (an NCCL unique id's size)
 * between forked ranks through a file and through TCP: every rank gets
 * rank 0's bytes, whoever starts first; a stale file of another job and a
 * missing rank 0 time out with a message; bad specs are refused; ranks
 * are read from each launcher's environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crng.h"
#include "err.h"
#include "rendezvous.h"

#define NRANKS 4
#define IDLEN 128

static void make_id(unsigned char *id, uint64_t seed)
{
	for (int i = 0; i < IDLEN; i++)
		id[i] = (unsigned char)crng_at(seed, (uint64_t)i);
}

/* Fork NRANKS-1 ranks (rank 0 last when zero_last, else first), each
 * checking it received the id; 0 when every rank succeeded. */
static int run_ranks(const char *spec, const char *token, int zero_last)
{
	unsigned char want[IDLEN];
	make_id(want, 99);
	pid_t pids[NRANKS];
	for (int k = 0; k < NRANKS; k++) {
		int rank = zero_last ? NRANKS - 1 - k : k;
		pid_t pid = fork();
		if (pid == 0) {
			unsigned char id[IDLEN];
			struct llm_err e;
			if (rank == 0)
				memcpy(id, want, IDLEN);
			else
				memset(id, 0, IDLEN);
			if (zero_last && rank == 0)
				usleep(200 * 1000);	/* the others wait for it */
			int rc = rdv_share(spec, token, rank, NRANKS, id, IDLEN, 10.0, &e);
			if (rc < 0)
				fprintf(stderr, "rank %d: %s\n", rank, e.msg);
			_exit(rc == 0 && memcmp(id, want, IDLEN) == 0 ? 0 : 1);
		}
		pids[k] = pid;
	}
	int bad = 0;
	for (int k = 0; k < NRANKS; k++) {
		int st;
		waitpid(pids[k], &st, 0);
		bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return bad;
}

static void tmp_path(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("TMPDIR");
	snprintf(buf, n, "%s/llmk-rdv-%ld-%s", dir ? dir : "/tmp", (long)getpid(), name);
}

static void test_file(void **state)
{
	(void)state;
	char path[512], spec[600];
	tmp_path(path, sizeof path, "id");
	snprintf(spec, sizeof spec, "file:%s", path);
	unlink(path);
	assert_int_equal(run_ranks(spec, "job1", 0), 0);
	/* the file of job1 is still there: job2's ranks must wait for theirs */
	assert_int_equal(run_ranks(spec, "job2", 1), 0);
	unlink(path);
}

static void test_file_stale_times_out(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "stale");
	unsigned char id[IDLEN];
	make_id(id, 5);
	struct llm_err e;
	assert_int_equal(rdv_file(path, "old-job", 0, id, IDLEN, 1.0, &e), 0);
	unsigned char got[IDLEN];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rdv_file(path, "new-job", 1, got, IDLEN, 0.3, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
	assert_true(s >= 0.3 && s < 3.0);
	assert_non_null(strstr(e.msg, path));
	/* the right token reads it at once */
	assert_int_equal(rdv_file(path, "old-job", 1, got, IDLEN, 0.3, &e), 0);
	assert_memory_equal(got, id, IDLEN);
	unlink(path);
}

/* A port nobody listens on now: bind port 0, read what the kernel gave,
 * close.  (Another process could take it before the test does; unlikely
 * within a few milliseconds.) */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_tcp(void **state)
{
	(void)state;
	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", free_port());
	assert_int_equal(run_ranks(spec, "job", 0), 0);
	/* rank 0 coming up last: the others retry until it listens */
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", free_port());
	assert_int_equal(run_ranks(spec, "job", 1), 0);
}

static void test_tcp_no_server(void **state)
{
	(void)state;
	unsigned char id[IDLEN];
	struct llm_err e;
	assert_int_equal(rdv_tcp("127.0.0.1", free_port(), "", 1, 2, id, IDLEN, 0.3, &e), -1);
	assert_non_null(strstr(e.msg, "no answer from rank 0"));
	/* rank 0 alone with a missing peer gives up too */
	assert_int_equal(rdv_tcp("127.0.0.1", free_port(), "", 0, 2, id, IDLEN, 0.3, &e), -1);
	assert_non_null(strstr(e.msg, "1 of 2 ranks"));
}

static void test_bad_specs(void **state)
{
	(void)state;
	unsigned char id[IDLEN];
	struct llm_err e;
	const char *bad[] = {"", "file:", "tcp:", "tcp:host", "tcp:host:0", "tcp:host:99999",
			     "tcp:host:12x", "nfs:/x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(rdv_share(bad[i], "", 1, 2, id, IDLEN, 0.1, &e), -1);
		assert_non_null(strstr(e.msg, "rendezvous"));
	}
}

static void clear_env(void)
{
	const char *v[] = {"LLM_RANK", "LLM_WORLD_SIZE", "LLM_LOCAL_RANK", "RANK", "WORLD_SIZE",
			   "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID",
			   "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
			   "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_RANK", "PMI_SIZE",
			   "LLM_RENDEZVOUS_TOKEN", "SLURM_JOB_ID"};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		unsetenv(v[i]);
}

static void test_env_rank(void **state)
{
	(void)state;
	int r, n, l;
	struct llm_err e;
	clear_env();
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), 0);
	assert_true(r == 0 && n == 1 && l == 0);
	/* Slurm's variables */
	setenv("SLURM_PROCID", "5", 1);
	setenv("SLURM_NTASKS", "8", 1);
	setenv("SLURM_LOCALID", "1", 1);
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), 1);
	assert_true(r == 5 && n == 8 && l == 1);
	/* torchrun's come first; no local rank: the rank */
	setenv("RANK", "3", 1);
	setenv("WORLD_SIZE", "4", 1);
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), 1);
	assert_true(r == 3 && n == 4 && l == 3);
	/* ours first of all, and checked */
	setenv("LLM_RANK", "4", 1);
	setenv("LLM_WORLD_SIZE", "4", 1);
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), -1);
	assert_non_null(strstr(e.msg, "LLM_RANK=4"));
	setenv("LLM_RANK", "x", 1);
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), -1);
	unsetenv("LLM_WORLD_SIZE");
	setenv("LLM_RANK", "1", 1);
	assert_int_equal(rdv_env_rank(&r, &n, &l, &e), -1);
	/* the job token */
	clear_env();
	assert_string_equal(rdv_env_token(), "");
	setenv("SLURM_JOB_ID", "777", 1);
	assert_string_equal(rdv_env_token(), "777");
	setenv("LLM_RENDEZVOUS_TOKEN", "run-a", 1);
	assert_string_equal(rdv_env_token(), "run-a");
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_stale_times_out),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_no_server),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_env_rank),
	};
	return cmocka_run_group_tests_name("rendezvous", tests, NULL, NULL);
}
