/*
 * floor-cgi: the reference that the CGI bridge's request rate is measured
 * against: the least work that still runs a CGI program once per request.
 *
 * usage: floor-cgi W INFLIGHT MS PROGRAM [ARG ...]
 *
 * It forks W processes (the bridge's workers); each keeps its share of
 * INFLIGHT children running at once for MS milliseconds. A child is a
 * close-on-exec pipe, fork, the child puts /dev/null on fds 0 and 2 and the
 * pipe on fd 1 and execs PROGRAM; the parent reads the pipe to EOF (one
 * poll(2) over all of its pipes) and reaps the child with waitpid. Children
 * that end inside the window and exited 0 after writing something count.
 * It prints the same line as benchtool cgiload, plus the CPU time (user and
 * system, milliseconds) that its W processes themselves, not the children,
 * had used when the window closed:
 *
 *   requests=N failed=N ms=N rps=N cpu_ms=N
 *
 * There is no FastCGI, no socket, no parameters and no request body: what
 * a CGI bridge does on top of this is its overhead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child {
	pid_t pid;
	int fd;
	long long bytes;
};

static char **prog;
static int devnull;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CPU time this process has used so far. */
static double
cpu_ms(void)
{
	struct rusage self;

	getrusage(RUSAGE_SELF, &self);
	return (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e3 +
	    (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e3;
}

/* Starts one child into c; returns -1 if pipe or fork failed. */
static int
start(struct child *c)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	switch (c->pid = fork()) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(devnull, 2);
		execv(prog[0], prog);
		_exit(127);
	}
	close(p[1]);
	c->fd = p[0];
	c->bytes = 0;
	return 0;
}

/*
 * One worker: keeps n children in flight until the deadline, then lets the
 * ones still running finish uncounted (SIGKILL after 5 s). Adds the
 * requests that succeeded to count[0] and the failures to count[1], and
 * sets *cpu to the CPU time used when the window closed.
 */
static void
work(int n, long long deadline, long long count[2], double *cpu)
{
	static char buf[65536];
	struct child *c;
	struct pollfd *pfd;
	long long t;
	ssize_t r;
	int i, st, live = 0, killed = 0;

	if ((c = calloc((size_t)n, sizeof *c)) == NULL ||
	    (pfd = calloc((size_t)n, sizeof *pfd)) == NULL)
		_exit(1);
	for (i = 0; i < n; i++) {
		if (start(&c[i]) == -1) {
			c[i].fd = -1;
			count[1]++;
		} else
			live++;
	}
	*cpu = -1;
	while (live > 0) {
		t = now_ms();
		if (t >= deadline && *cpu < 0)
			*cpu = cpu_ms();
		if (t > deadline + 5000 && !killed) {
			for (i = 0; i < n; i++)
				if (c[i].fd != -1)
					kill(c[i].pid, SIGKILL);
			killed = 1;
		}
		for (i = 0; i < n; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 1000) == -1 && errno != EINTR)
			_exit(1);
		for (i = 0; i < n; i++) {
			if (c[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = read(c[i].fd, buf, sizeof buf);
			if (r > 0) {
				c[i].bytes += r;
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			close(c[i].fd);
			c[i].fd = -1;
			live--;
			while (waitpid(c[i].pid, &st, 0) == -1 && errno == EINTR)
				;
			t = now_ms();
			if (t >= deadline)
				continue;
			if (r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
			    c[i].bytes > 0)
				count[0]++;
			else
				count[1]++;
			if (start(&c[i]) == -1)
				count[1]++;
			else
				live++;
		}
	}
	if (*cpu < 0)
		*cpu = cpu_ms();
}

int
main(int argc, char **argv)
{
	long long count[2], total[2] = { 0, 0 }, t0, deadline, ms;
	double cpu, total_cpu = 0;
	long w, inflight, i;
	pid_t pid;
	FILE *f;
	int p[2], st, share;

	if (argc < 5 || (w = strtol(argv[1], NULL, 10)) < 1 ||
	    (inflight = strtol(argv[2], NULL, 10)) < w ||
	    (ms = strtoll(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: floor-cgi W INFLIGHT MS PROGRAM [ARG ...]\n");
		return 2;
	}
	prog = argv + 4;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1) {
		perror("floor-cgi");
		return 1;
	}
	t0 = now_ms();
	deadline = t0 + ms;
	for (i = 0; i < w; i++) {
		/* The first INFLIGHT % W workers take one child more. */
		share = (int)(inflight / w + (i < inflight % w));
		if ((pid = fork()) == -1) {
			perror("floor-cgi: fork");
			return 1;
		}
		if (pid == 0) {
			close(p[0]);
			count[0] = count[1] = 0;
			work(share, deadline, count, &cpu);
			if ((f = fdopen(p[1], "w")) == NULL)
				_exit(1);
			fprintf(f, "%lld %lld %.1f\n", count[0], count[1], cpu);
			_exit(fclose(f) == 0 ? 0 : 1);
		}
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL)
		return 1;
	for (i = 0; i < w && fscanf(f, "%lld %lld %lf", &count[0], &count[1],
	    &cpu) == 3; i++) {
		total[0] += count[0];
		total[1] += count[1];
		total_cpu += cpu;
	}
	fclose(f);
	while (wait(&st) > 0 || errno == EINTR)
		;
	if (i != w) {
		fprintf(stderr, "floor-cgi: %ld of %ld workers reported\n", i, w);
		return 1;
	}
	printf("requests=%lld failed=%lld ms=%lld rps=%.1f cpu_ms=%.0f\n",
	    total[0], total[1], ms, total[0] * 1000.0 / ms, total_cpu);
	return total[0] > 0 ? 0 : 1;
}
