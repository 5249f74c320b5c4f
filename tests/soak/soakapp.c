/*
 * soakapp: the FastCGI application of the launcher soak (tests/soak/run.sh).
 *
 * usage: soakapp LIFE_MS CALMFILE [LIFELOG]
 *
 * It serves RESPONDER requests on the listening socket spawn gives it on
 * fd 0, one connection at a time, and leaves on its own after LIFE_MS, so
 * that spawn -r has to start the next one. It only ever leaves between
 * requests: a connection it has accepted is always answered, and one it has
 * not accepted stays in the socket's backlog for another child. A correct
 * supervisor therefore never makes a client request fail, and any failure
 * the load sees is the launcher's.
 *
 * SIGTERM (a reload, or the end of the run) is honoured the same way: the
 * request in progress is finished first. While CALMFILE exists the child
 * does not leave on its own, so that the run can count children and
 * measure spawn in a quiet moment; it looks again every LIFE_MS.
 *
 * With LIFELOG it appends "PID START_MS END_MS" (CLOCK_MONOTONIC) to that
 * file as it leaves, so that the run can hold what spawn says about a
 * child's life against what the child saw.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

#define IO_TIMEOUT_S 5
#define BODY "Content-Type: text/plain\r\n\r\nsoak\n"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
read_full(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
write_full(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Reads one request up to its empty STDIN record and answers it. A client
 * that breaks off is simply dropped: that is the client's failure, and the
 * load counts it.
 */
static void
serve(int fd)
{
	unsigned char hdr[FCGI_HEADER_LEN], content[65535 + 255];
	unsigned char out[256];
	struct fcgi_header h;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int id = 1, params_done = 0, stdin_done = 0;
	size_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (!params_done || !stdin_done) {
		if (read_full(fd, hdr, sizeof(hdr)) < 0 ||
		    fcgi_decode_header(hdr, &h) < 0 ||
		    read_full(fd, content, (size_t)h.content_length +
		    (size_t)h.padding_length) < 0)
			return;
		if (h.type == FCGI_BEGIN_REQUEST)
			id = h.request_id;
		else if (h.type == FCGI_PARAMS && h.content_length == 0)
			params_done = 1;
		else if (h.type == FCGI_STDIN && h.content_length == 0)
			stdin_done = 1;
	}
	n = fcgi_record(out, sizeof(out), FCGI_STDOUT, id, BODY,
	    sizeof(BODY) - 1);
	n += fcgi_record(out + n, sizeof(out) - n, FCGI_STDOUT, id, NULL, 0);
	n += fcgi_end_request(out + n, id, 0, FCGI_REQUEST_COMPLETE);
	(void)write_full(fd, out, n);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct pollfd pfd;
	long long life, deadline, now, born = now_ms();
	char *end, line[96];
	int fd, len;

	if ((argc != 3 && argc != 4) || (life = strtol(argv[1], &end, 10)) <= 0 ||
	    life > 3600000 || *end != '\0')
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() must return when SIGTERM comes. */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Every child waits in poll(), and the one that loses the race to
	 * accept() must not then block in it past its deadline or a SIGTERM.
	 * All processes on this socket are soakapps, so the shared flag is
	 * ours to set.
	 */
	if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) < 0)
		return 1;
	deadline = now_ms() + life;
	while (!stop) {
		now = now_ms();
		if (now >= deadline) {
			if (access(argv[2], F_OK) != 0)
				break;
			deadline = now + life;
		}
		pfd.fd = 0;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		if ((fd = accept(0, NULL, NULL)) < 0)
			continue;
		serve(fd);
		close(fd);
	}
	/* One write with O_APPEND: lines from many children never mix. */
	if (argc == 4 && (fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT,
	    0644)) >= 0) {
		len = snprintf(line, sizeof(line), "%ld %lld %lld\n",
		    (long)getpid(), born, now_ms());
		(void)!write(fd, line, (size_t)len);
		close(fd);
	}
	return 0;
}
