/*
 * Unit tests for pool.c, against the running kernel: listeners on
 * loopback and on a unix socket in a fresh directory, and forked children
 * blocked in accept(), in nanosleep() and in read(). Every wait is a
 * bounded poll; every child is killed and reaped before the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

#ifdef __linux__

#define BACKLOG		16
#define CLIENTS		5
#define POLL_MS		10
#define POLL_TRIES	2000	/* 20 s in steps of 10 ms: a bound for loaded machines */
#define MAX_KIDS	8

static int failed;
static pid_t kids[MAX_KIDS];
static int nkids;
static char dir[64];
static char upath[128];

static void
ok(int cond, const char *name)
{
	printf("%s - unit-pool: %s\n", cond ? "ok" : "not ok", name);
	if (!cond)
		failed++;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static pid_t
fork_kid(void)
{
	pid_t pid;

	if (nkids == MAX_KIDS)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid > 0)
		kids[nkids++] = pid;
	if (pid == 0)
		/* Should the test die, the child still ends on its own. */
		alarm(120);
	return pid;
}

/* Kills and reaps one child; 1 when it is gone. */
static int
reap(pid_t pid)
{
	int i, st;

	for (i = 0; i < nkids; i++) {
		if (kids[i] != pid)
			continue;
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		kids[i] = kids[--nkids];
		return 1;
	}
	return 0;
}

static void
cleanup(void)
{
	while (nkids > 0)
		reap(kids[0]);
	if (upath[0] != '\0')
		unlink(upath);
	if (dir[0] != '\0')
		rmdir(dir);
}

static int
tcp_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
unix_listener(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
tcp_connect(const struct sockaddr_in *sin)
{
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Polls pool_listen_queue until it reports want waiting (a TCP handshake
 * on loopback completes in softirq context, so the last connection may
 * land a moment after connect() returned). 1 when it did.
 */
static int
queue_reaches(int sock, unsigned want, unsigned *cur, unsigned *max)
{
	int i;

	for (i = 0; i < POLL_TRIES; i++) {
		if (pool_listen_queue(sock, cur, max) == 0 && *cur == want)
			return 1;
		sleep_ms(POLL_MS);
	}
	return 0;
}

static void
test_empty(const char *family, int lfd)
{
	char name[128];
	unsigned cur = 99, max = 99;
	int r;

	r = pool_listen_queue(lfd, &cur, &max);
	snprintf(name, sizeof(name), "%s: empty queue is 0 of %d", family,
	    BACKLOG);
	ok(r == 0 && cur == 0 && max == BACKLOG, name);
	if (r != 0 || cur != 0 || max != BACKLOG)
		printf("# returned %d, cur %u, max %u\n", r, cur, max);
}

static void
test_queue(const char *family, int lfd, int *clients, int nclients)
{
	char name[128];
	unsigned cur = 99, max = 99;
	int c, r;

	r = queue_reaches(lfd, (unsigned)nclients, &cur, &max);
	snprintf(name, sizeof(name), "%s: %d unaccepted connections are "
	    "%d of %d", family, nclients, nclients, BACKLOG);
	ok(r && max == BACKLOG, name);
	if (!r || max != BACKLOG)
		printf("# cur %u, max %u\n", cur, max);

	c = accept(lfd, NULL, NULL);
	r = c != -1 && pool_listen_queue(lfd, &cur, &max) == 0 &&
	    cur == (unsigned)nclients - 1 && max == BACKLOG;
	snprintf(name, sizeof(name), "%s: one accepted, %d left", family,
	    nclients - 1);
	ok(r, name);
	if (!r)
		printf("# accept %d, cur %u, max %u\n", c, cur, max);
	if (c != -1)
		close(c);

	/* A connected socket has no accept queue. */
	cur = max = 99;
	r = pool_listen_queue(clients[0], &cur, &max);
	snprintf(name, sizeof(name), "%s: a connected socket gives -1, 0, 0",
	    family);
	ok(r == -1 && cur == 0 && max == 0, name);
}

static void
test_waiting_empty(int ufd)
{
	uint32_t ino[4];
	unsigned cur = 99;

	ok(pool_listen_waiting(ufd, ino, 4, &cur) == 0 && cur == 0,
	    "unix: no connection waiting, none named");
}

/*
 * The waiting connections by name: the kernel names each by its client's
 * socket inode, oldest first. clients[0] was accepted by test_queue, so
 * clients[1..n-1] wait, in that order.
 */
static void
test_waiting(int ufd, int tfd, const int *clients, int nclients)
{
	uint32_t ino[CLIENTS + 4], want[CLIENTS];
	struct stat st;
	unsigned cur = 99;
	int i, n, r = 1;

	for (i = 1; i < nclients; i++) {
		if (fstat(clients[i], &st) == -1)
			r = 0;
		want[i - 1] = (uint32_t)st.st_ino;
	}
	n = pool_listen_waiting(ufd, ino, CLIENTS + 4, &cur);
	r = r && n == nclients - 1 && cur == (unsigned)nclients - 1;
	for (i = 0; r && i < n; i++)
		r = ino[i] == want[i];
	ok(r, "unix: waiting connections named by their clients' inodes, "
	    "oldest first");
	if (!r)
		printf("# returned %d, cur %u\n", n, cur);

	n = pool_listen_waiting(ufd, ino, 2, &cur);
	ok(n == 2 && cur == (unsigned)nclients - 1 && ino[0] == want[0] &&
	    ino[1] == want[1], "unix: names only as many as asked, counts all");

	cur = 99;
	n = pool_listen_waiting(tfd, ino, CLIENTS + 4, &cur);
	ok(n == -1 && cur == 0, "tcp: connections are not named (-1)");
}

static void
test_queue_other(void)
{
	unsigned cur = 99, max = 99;
	int fd, p[2];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ok(fd != -1 && pool_listen_queue(fd, &cur, &max) == -1 && cur == 0 &&
	    max == 0, "udp socket gives -1");
	if (fd != -1)
		close(fd);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ok(fd != -1 && pool_listen_queue(fd, &cur, &max) == -1,
	    "unix datagram socket gives -1");
	if (fd != -1)
		close(fd);
	/* Unbound and not listening: sock_diag knows it, not as a listener. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok(fd != -1 && pool_listen_queue(fd, &cur, &max) == -1,
	    "unix stream socket not listening gives -1");
	if (fd != -1)
		close(fd);
	ok(pipe(p) == 0 && pool_listen_queue(p[0], &cur, &max) == -1,
	    "pipe gives -1");
	close(p[0]);
	close(p[1]);
	ok(pool_listen_queue(-1, &cur, &max) == -1 && cur == 0 && max == 0,
	    "bad descriptor gives -1");
}

static void
test_queue_ipv6(void)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	unsigned cur = 99, max = 99;
	int lfd, c = -1, r;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&sin6,
	    sizeof(sin6)) == -1) {
		printf("skip - unit-pool: tcp6: no ::1 (%s)\n",
		    strerror(errno));
		if (lfd != -1)
			close(lfd);
		return;
	}
	if (listen(lfd, BACKLOG) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin6, &len) == -1 ||
	    (c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		ok(0, "tcp6: listen and connect on ::1");
	} else {
		r = queue_reaches(lfd, 1, &cur, &max);
		ok(r && max == BACKLOG,
		    "tcp6: 1 unaccepted connection is 1 of 16");
	}
	if (c != -1)
		close(c);
	close(lfd);
}

/*
 * The first field of /proc/PID/syscall, or -2: to know the child got as
 * far as the system call a test means, not merely that it was running.
 */
static long
syscall_nr(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -2;
	buf[n] = '\0';
	if (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))
		return -2;
	return strtol(buf, NULL, 10);
}

/* Polls pool_in_accept until it gives want; 1 when it did. */
static int
in_accept_becomes(pid_t pid, int fd, int want)
{
	int i;

	for (i = 0; i < POLL_TRIES; i++) {
		if (pool_in_accept(pid, fd) == want)
			return 1;
		sleep_ms(POLL_MS);
	}
	return 0;
}

/*
 * Makes the calling process give up the CPU to a sibling a few hundred
 * times while still runnable, which the kernel counts as nonvoluntary
 * switches: both are pinned to one CPU and take turns in sched_yield().
 */
static void
yield_with_sibling(void)
{
	cpu_set_t set;
	pid_t g;
	int i, cpu, st;

	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
			;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if ((g = fork()) == 0) {
		for (i = 0; i < 500; i++)
			sched_yield();
		_exit(0);
	}
	for (i = 0; i < 500; i++)
		sched_yield();
	if (g > 0)
		while (waitpid(g, &st, 0) == -1 && errno == EINTR)
			;
}

/*
 * Both counts from /proc/PID/status, read the plain way, to check
 * pool_switches against. 0 when both were found.
 */
static int
status_counts(pid_t pid, long long *vol, long long *nonvol)
{
	char path[64], line[512];
	FILE *f;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %lld", vol) == 1)
			seen |= 1;
		if (sscanf(line, "nonvoluntary_ctxt_switches: %lld",
		    nonvol) == 1)
			seen |= 2;
	}
	fclose(f);
	return seen == 3 ? 0 : -1;
}

/*
 * The child: the listener on descriptor at (as spawn's children have it
 * on 0), accept() or accept4() on it, a byte back on the connection, then
 * read() until the peer closes.
 */
static void
accept_child(int lfd, int at, int four)
{
	char b;
	int c;

	if (lfd != at && dup2(lfd, at) == -1)
		_exit(1);
	yield_with_sibling();
	c = four ? accept4(at, NULL, NULL, SOCK_CLOEXEC) :
	    accept(at, NULL, NULL);
	if (c == -1 || write(c, "x", 1) != 1)
		_exit(1);
	while (read(c, &b, 1) > 0)
		;
	_exit(0);
}

static void
test_accept(const char *family, int lfd, int at, int four,
    const struct sockaddr_in *sin)
{
	char name[160], b;
	struct pollfd pfd;
	long long s1, s2, vol = -1, nonvol = -1;
	pid_t pid;
	int c, r, i;

	if ((pid = fork_kid()) == -1) {
		ok(0, "fork");
		return;
	}
	if (pid == 0)
		accept_child(lfd, at, four);

	r = in_accept_becomes(pid, at, 1);
	snprintf(name, sizeof(name), "%s: child in %s on fd %d is in accept",
	    family, four ? "accept4()" : "accept()", at);
	ok(r, name);
	snprintf(name, sizeof(name), "%s: same child, fd %d: not in accept",
	    family, at + 1);
	ok(pool_in_accept(pid, at + 1) == 0, name);

	s1 = pool_switches(pid);
	sleep_ms(1000);
	s2 = pool_switches(pid);
	snprintf(name, sizeof(name), "%s: switches stay put over 1 s in "
	    "accept", family);
	ok(s1 >= 0 && s1 == s2, name);
	if (s1 < 0 || s1 != s2)
		printf("# %lld then %lld\n", s1, s2);
	r = status_counts(pid, &vol, &nonvol) == 0;
	snprintf(name, sizeof(name), "%s: switches are voluntary plus "
	    "nonvoluntary", family);
	ok(r && s2 == vol + nonvol && nonvol > 0, name);
	if (!r || s2 != vol + nonvol || nonvol <= 0)
		printf("# pool_switches %lld, status %lld + %lld\n", s2, vol,
		    nonvol);

	c = sin != NULL ? tcp_connect(sin) : unix_connect(upath);
	pfd.fd = c;
	pfd.events = POLLIN;
	r = c != -1 && poll(&pfd, 1, POLL_TRIES * POLL_MS) == 1 &&
	    read(c, &b, 1) == 1 && b == 'x';
	snprintf(name, sizeof(name), "%s: child accepted a connection",
	    family);
	ok(r, name);
	for (i = 0; i < POLL_TRIES; i++) {
		if ((s2 = pool_switches(pid)) != s1)
			break;
		sleep_ms(POLL_MS);
	}
	snprintf(name, sizeof(name), "%s: switches moved after the accept",
	    family);
	ok(s2 > s1, name);
	if (s2 <= s1)
		printf("# %lld then %lld\n", s1, s2);
	/* Now it waits in read(): no longer accept. */
	for (i = 0; i < POLL_TRIES && syscall_nr(pid) < 0; i++)
		sleep_ms(POLL_MS);
	snprintf(name, sizeof(name), "%s: child in read() is not in accept",
	    family);
	ok(pool_in_accept(pid, at) == 0, name);
	if (c != -1)
		close(c);
	reap(pid);
}

static void
test_not_accept(void)
{
	struct timespec ts;
	siginfo_t si;
	long long s;
	pid_t pid;
	long nr = -2;
	int i, r, st;

	if ((pid = fork_kid()) == -1) {
		ok(0, "fork");
		return;
	}
	if (pid == 0) {
		ts.tv_sec = 30;
		ts.tv_nsec = 0;
		nanosleep(&ts, NULL);
		_exit(0);
	}
	/* Until the child is in its sleep, whatever number that has. */
	for (i = 0; i < POLL_TRIES; i++) {
		if ((nr = syscall_nr(pid)) >= 0)
			break;
		sleep_ms(POLL_MS);
	}
	r = pool_in_accept(pid, 0);
	ok(nr >= 0 && r == 0, "child in nanosleep() is not in accept");
	if (nr < 0 || r != 0)
		printf("# syscall %ld, pool_in_accept %d\n", nr, r);
	ok(pool_switches(pid) >= 0, "switches of a sleeping child are known");

	/* A zombie: dead, not yet reaped. */
	kill(pid, SIGKILL);
	for (i = 0; i < POLL_TRIES; i++) {
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0)
			break;
		sleep_ms(POLL_MS);
	}
	r = pool_in_accept(pid, 0);
	ok(r == -1, "zombie gives -1");
	if (r != -1)
		printf("# pool_in_accept %d\n", r);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	for (i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--nkids];
	/* Reaped: gone. Its number is unlikely to be reused this soon. */
	r = pool_in_accept(pid, 0);
	s = pool_switches(pid);
	ok(r == -1 && s == -1, "reaped child gives -1");
	if (r != -1 || s != -1)
		printf("# pool_in_accept %d, pool_switches %lld\n", r, s);
}

static void
test_bad_args(void)
{
	ok(pool_in_accept(0, 0) == -1 && pool_in_accept(-1, 0) == -1,
	    "pid 0 and -1 give -1");
	ok(pool_in_accept(getpid(), -1) == -1, "fd -1 gives -1");
	ok(pool_switches(0) == -1 && pool_switches(-1) == -1,
	    "switches of pid 0 and -1 give -1");
	/* Reading its own file, a process is running, not in accept. */
	ok(pool_in_accept(getpid(), 0) == 0, "self is not in accept");
	ok(pool_switches(getpid()) > 0, "switches of self are known");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_in sin, sin2;
	int tfd, ufd, tfd2, ufd2, i;
	int tc[CLIENTS], uc[CLIENTS];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access("/proc/self/syscall", R_OK) == -1) {
		printf("skip - unit-pool: no /proc/self/syscall (%s)\n",
		    strerror(errno));
		return 0;
	}
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/unit-pool.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		printf("not ok - unit-pool: mkdtemp %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	snprintf(upath, sizeof(upath), "%s/s", dir);

	tfd = tcp_listener(&sin);
	ufd = unix_listener(upath);
	ok(tfd != -1 && ufd != -1, "listeners on 127.0.0.1 and unix");
	if (tfd == -1 || ufd == -1) {
		cleanup();
		return 1;
	}
	test_empty("tcp", tfd);
	test_empty("unix", ufd);
	test_waiting_empty(ufd);
	for (i = 0; i < CLIENTS; i++) {
		tc[i] = tcp_connect(&sin);
		uc[i] = unix_connect(upath);
	}
	for (i = 0; i < CLIENTS && tc[i] != -1 && uc[i] != -1; i++)
		;
	ok(i == CLIENTS, "clients connected");
	if (i == CLIENTS) {
		test_queue("tcp", tfd, tc, CLIENTS);
		test_queue("unix", ufd, uc, CLIENTS);
		test_waiting(ufd, tfd, uc, CLIENTS);
	}
	for (i = 0; i < CLIENTS; i++) {
		if (tc[i] != -1)
			close(tc[i]);
		if (uc[i] != -1)
			close(uc[i]);
	}
	close(tfd);
	close(ufd);
	unlink(upath);
	test_queue_ipv6();
	test_queue_other();

	/* Fresh listeners: nothing queued, so the children block. */
	tfd2 = tcp_listener(&sin2);
	ufd2 = unix_listener(upath);
	ok(tfd2 != -1 && ufd2 != -1, "listeners for the accept children");
	if (tfd2 != -1 && ufd2 != -1) {
		test_accept("tcp", tfd2, 0, 0, &sin2);
		test_accept("unix", ufd2, ufd2, 1, NULL);
	}
	if (tfd2 != -1)
		close(tfd2);
	if (ufd2 != -1)
		close(ufd2);
	test_not_accept();
	test_bad_args();

	cleanup();
	return failed != 0;
}

#else /* !__linux__ */

int
main(void)
{
	uint32_t ino[4];
	unsigned cur = 99, max = 99, wcur = 99;
	int failed;

	/* Elsewhere the system does not tell: every answer is -1. */
	failed = pool_listen_queue(0, &cur, &max) != -1 || cur != 0 ||
	    max != 0 || pool_listen_waiting(0, ino, 4, &wcur) != -1 ||
	    wcur != 0 || pool_in_accept(getpid(), 0) != -1 ||
	    pool_switches(getpid()) != -1;
	printf("%s - unit-pool: not Linux: every function gives -1\n",
	    failed ? "not ok" : "ok");
	return failed;
}

#endif /* __linux__ */
