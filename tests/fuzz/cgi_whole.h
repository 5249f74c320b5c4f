/*
 * cgi.c, whole, for the harnesses that reach its static functions and
 * state (cgi_request, cgi_env, cgi_addrs). fork, vfork, execve, kill and
 * waitpid are replaced by functions that abort: no harness may ever start
 * or signal a process. (They are marked unused: which of them cgi.c calls
 * changes as it does.) write is replaced by a check of the worker's log lines (one
 * line, one write, no control characters); recv and send are counted, so
 * that a harness can tell progress from a spin.
 */
#ifndef CGI_WHOLE_H
#define CGI_WHOLE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz.h"

#define UNUSED __attribute__((unused))

static pid_t fuzz_fork(void) UNUSED;
static pid_t fuzz_vfork(void) UNUSED;
static int fuzz_execve(const char *, char *const[], char *const[]) UNUSED;
static int fuzz_kill(pid_t, int) UNUSED;
static pid_t fuzz_waitpid(pid_t, int *, int) UNUSED;
static ssize_t fuzz_write(int, const void *, size_t) UNUSED;
static ssize_t fuzz_recv(int, void *, size_t, int) UNUSED;
static ssize_t fuzz_send(int, const void *, size_t, int) UNUSED;

#define fork fuzz_fork
#define vfork fuzz_vfork
#define execve fuzz_execve
#define kill fuzz_kill
#define waitpid fuzz_waitpid
#define write fuzz_write
#define recv fuzz_recv
#define send fuzz_send
#include "../../cgi.c"
#undef fork
#undef vfork
#undef execve
#undef kill
#undef waitpid
#undef write
#undef recv
#undef send

static int log_lines, verbose;
static size_t moved_bytes;       /* read or written by the worker */

static pid_t
fuzz_fork(void)
{
	CHECK(0, "the bridge must not fork here");
	return -1;
}

static pid_t
fuzz_vfork(void)
{
	CHECK(0, "the bridge must not vfork here");
	return -1;
}

static int
fuzz_execve(const char *path, char *const argv[], char *const envp[])
{
	(void)path, (void)argv, (void)envp;
	CHECK(0, "the bridge must not exec here");
	return -1;
}

static int
fuzz_kill(pid_t pid, int sig)
{
	(void)pid, (void)sig;
	CHECK(0, "the bridge must not signal anything here");
	return -1;
}

static pid_t
fuzz_waitpid(pid_t pid, int *status, int flags)
{
	(void)pid, (void)status, (void)flags;
	CHECK(0, "the bridge has no child to wait for here");
	return -1;
}

/* The worker writes only its log lines: one line each, one write each. */
static ssize_t
fuzz_write(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t i;

	CHECK(fd == 2, "the only descriptor written is stderr");
	CHECK(n > 12 && memcmp(p, "spawn: cgi: ", 12) == 0,
	    "log line starts with spawn: cgi:");
	CHECK(p[n - 1] == '\n', "log line ends with a newline");
	for (i = 0; i < n - 1; i++)
		CHECK(p[i] >= ' ' && p[i] != 127, "log line has no control "
		    "characters");
	log_lines++;
	if (verbose)
		return write(2, buf, n);
	return (ssize_t)n;
}

/* The worker's socket I/O, counted to tell progress from a spin. */
static ssize_t
fuzz_recv(int fd, void *buf, size_t n, int flags)
{
	ssize_t r = recv(fd, buf, n, flags);

	if (r >= 0)
		moved_bytes += (size_t)r + 1;
	return r;
}

static ssize_t
fuzz_send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t r = send(fd, buf, n, flags);

	if (r > 0)
		moved_bytes += (size_t)r;
	return r;
}

#endif
