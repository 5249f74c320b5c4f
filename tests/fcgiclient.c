/*
 * fcgiclient: a small FastCGI client for spawn's tests, demo and load runs.
 *
 * It sends RESPONDER requests (or, with -g, the FCGI_GET_VALUES query) to a
 * socket, each on a new connection, and never waits past its timeout: a
 * test that talks to a broken server fails instead of hanging.
 */
#include "spawn.h"
#include "fcgi.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_ID 1
#define MAX_REASONS 5

#define USAGE \
    "usage: fcgiclient [-gq] [-n count | -d duration_ms] [-t timeout_ms] " \
    "addr\n" \
    "                  [name=value ...]\n"

const char *tool_name = "fcgiclient";
const char *tool_usage = USAGE;

struct client {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	long long count;        /* -n, 0 when not given */
	long long duration_ms;  /* -d, 0 when not given */
	long long timeout_ms;   /* -t */
	int quiet;              /* -q */
	int get_values;         /* -g */
	struct buf request;     /* the bytes every request sends */
};


/* Command line and the request it describes. */

static long long
number(int opt, const char *s, long long lo, long long hi)
{
	const char *why;
	long long v = 0;

	if ((why = spawn_parse_number(s, lo, hi, &v)) != NULL)
		usage_error("-%c \"%s\": %s (%lld..%lld)", opt, s, why, lo, hi);
	return v;
}

static int
given(char **pairs, int npairs, const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = 0; i < npairs; i++)
		if (strncmp(pairs[i], name, len) == 0 && pairs[i][len] == '=')
			return 1;
	return 0;
}

/*
 * PARAMS records carry whole pairs whenever a pair fits in one: PHP's
 * fastcgi.c decodes each record on its own and rejects a pair cut at a
 * record boundary. Only a pair longer than a record is split.
 */
static void
add_param(struct buf *req, struct buf *rec, const char *pair)
{
	const char *eq = strchr(pair, '=');
	size_t nlen = (size_t)(eq - pair), vlen = strlen(eq + 1);
	size_t cap = nlen + vlen + 8, n;
	unsigned char *enc = malloc(cap);

	if (enc == NULL) {
		fputs("fcgiclient: out of memory\n", stderr);
		exit(1);
	}
	n = fcgi_encode_pair(enc, cap, pair, nlen, eq + 1, vlen);
	if (n == 0)
		usage_error("%.*s: value too long", (int)nlen, pair);
	if (rec->len > 0 && rec->len + n > FCGI_MAX_CONTENT) {
		add_records(req, FCGI_PARAMS, REQUEST_ID, rec->p, rec->len);
		rec->len = 0;
	}
	if (n > FCGI_MAX_CONTENT)
		add_records(req, FCGI_PARAMS, REQUEST_ID, enc, n);
	else
		buf_add(rec, enc, n);
	free(enc);
}

static void
build_request(struct client *cl, char **pairs, int npairs)
{
	static const char *const defaults[] = {
		"REQUEST_METHOD=GET", "SERVER_PROTOCOL=HTTP/1.1",
		"GATEWAY_INTERFACE=CGI/1.1", "REQUEST_URI=/",
	};
	unsigned char begin[8] = { 0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
	unsigned char query[256];
	struct buf rec = { NULL, 0, 0 };
	size_t i;
	int p;

	if (cl->get_values) {
		buf_add(&cl->request, query,
		    fcgi_get_values_query(query, sizeof(query)));
		/*
		 * libfcgi (fcgiwrap) answers a management record only once
		 * it has read past it, so a lone query waits forever there;
		 * an empty second query lets it see the first one end.
		 */
		add_records(&cl->request, FCGI_GET_VALUES, 0, NULL, 0);
		return;
	}
	add_records(&cl->request, FCGI_BEGIN_REQUEST, REQUEST_ID, begin,
	    sizeof(begin));
	for (p = 0; p < npairs; p++)
		add_param(&cl->request, &rec, pairs[p]);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%.*s",
		    (int)strcspn(defaults[i], "="), defaults[i]);
		if (!given(pairs, npairs, name))
			add_param(&cl->request, &rec, defaults[i]);
	}
	if (rec.len > 0)
		add_records(&cl->request, FCGI_PARAMS, REQUEST_ID, rec.p,
		    rec.len);
	add_records(&cl->request, FCGI_PARAMS, REQUEST_ID, NULL, 0);
	add_records(&cl->request, FCGI_STDIN, REQUEST_ID, NULL, 0);
	free(rec.p);
}

static void
parse_args(int argc, char **argv, struct client *cl)
{
	const char *why;
	int c, i;

	memset(cl, 0, sizeof(*cl));
	cl->timeout_ms = 5000;
	while ((c = getopt(argc, argv, "+d:gn:qt:")) != -1) {
		switch (c) {
		case 'd':
			cl->duration_ms = number(c, optarg, 1, 86400000);
			break;
		case 'g':
			cl->get_values = 1;
			break;
		case 'n':
			cl->count = number(c, optarg, 1, 1000000000);
			break;
		case 'q':
			cl->quiet = 1;
			break;
		case 't':
			cl->timeout_ms = number(c, optarg, 1, 3600000);
			break;
		default:
			fputs(USAGE, stderr);
			exit(2);
		}
	}
	if (cl->count > 0 && cl->duration_ms > 0)
		usage_error("-n and -d are exclusive");
	if (optind >= argc)
		usage_error("no address");
	if ((why = spawn_parse_target(argv[optind], &cl->addr,
	    &cl->addrlen)) != NULL)
		usage_error("address %s: %s", argv[optind], why);
	for (i = optind + 1; i < argc; i++)
		if (strchr(argv[i], '=') == NULL || argv[i][0] == '=')
			usage_error("not NAME=VALUE: %s", argv[i]);
	if (cl->get_values && optind + 1 < argc)
		usage_error("-g sends no parameters");
	build_request(cl, argv + optind + 1, argc - optind - 1);
}

/* One request. */

/*
 * A blocking connect bounded by SO_SNDTIMEO, not a non-blocking one: for
 * a unix socket whose backlog is full, Linux fails a non-blocking connect
 * at once with EAGAIN, but lets a blocking one wait for room.
 */
static const char *
connect_within(int fd, const struct client *cl, long long deadline,
    char *reason, size_t cap)
{
	long long left = deadline - mono_ms();
	struct timeval tv;

	if (left <= 0)
		return "connect: timed out";
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	    connect(fd, (const struct sockaddr *)&cl->addr, cl->addrlen) == 0)
		return NULL;
	/* Timed out: EINPROGRESS for TCP, EAGAIN for a unix socket. */
	if (errno == EINPROGRESS || errno == EAGAIN || errno == EWOULDBLOCK)
		return "connect: timed out";
	snprintf(reason, cap, "connect: %s", strerror(errno));
	return reason;
}

/* Waits until fd is ready for events; 0, or -1 when the deadline passed. */
static int
wait_for(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
			return -1;
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static const char *
send_within(int fd, const struct buf *b, long long deadline)
{
	size_t off = 0;
	ssize_t w;

	while (off < b->len) {
		/* A server that hung up must fail the request, not kill us. */
		w = send(fd, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return errno == EPIPE || errno == ECONNRESET ?
			    "closed early" : strerror(errno);
		if (wait_for(fd, POLLOUT, deadline) != 0)
			return "timed out";
	}
	return NULL;
}

static const char *
recv_within(int fd, unsigned char *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = recv(fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return "closed early";
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return errno == ECONNRESET ? "closed early" :
			    strerror(errno);
		if (wait_for(fd, POLLIN, deadline) != 0)
			return "timed out";
	}
	return NULL;
}

static void
print_values(const unsigned char *body, size_t len)
{
	const unsigned char *name, *value;
	size_t off = 0, used, nlen, vlen;

	while ((used = fcgi_decode_pair(body + off, len - off, &name, &nlen,
	    &value, &vlen)) > 0) {
		off += used;
		printf("%.*s=%.*s\n", (int)nlen, (const char *)name, (int)vlen,
		    (const char *)value);
	}
}

/* Reads records until the answer is complete; NULL on success. */
static const char *
read_answer(int fd, const struct client *cl, long long deadline,
    char *reason, size_t cap)
{
	static unsigned char body[FCGI_MAX_CONTENT + 255];
	unsigned char hdr[FCGI_HEADER_LEN];
	struct fcgi_header h;
	const char *why;
	size_t len;

	for (;;) {
		if ((why = recv_within(fd, hdr, sizeof(hdr), deadline)) != NULL)
			return why;
		if (fcgi_decode_header(hdr, &h) != 0)
			return "bad record (not FastCGI)";
		len = (size_t)h.content_length;
		if ((why = recv_within(fd, body, len + (size_t)h.padding_length,
		    deadline)) != NULL)
			return why;
		if (h.type == FCGI_STDOUT && h.request_id == REQUEST_ID &&
		    !cl->quiet)
			fwrite(body, 1, len, stdout);
		else if (h.type == FCGI_STDERR && h.request_id == REQUEST_ID)
			fwrite(body, 1, len, stderr);
		else if (h.type == FCGI_END_REQUEST &&
		    h.request_id == REQUEST_ID) {
			if (len < 8)
				return "bad record (short END_REQUEST)";
			if (body[4] == 0)
				return NULL;
			snprintf(reason, cap, "protocol status %d", body[4]);
			return reason;
		} else if (h.type == FCGI_GET_VALUES_RESULT && cl->get_values) {
			if (!cl->quiet)
				print_values(body, len);
			return NULL;
		} else if (h.type == FCGI_UNKNOWN_TYPE && cl->get_values)
			return "GET_VALUES answered with UNKNOWN_TYPE";
	}
}

static const char *
run_one(const struct client *cl, char *reason, size_t cap)
{
	long long deadline = mono_ms() + cl->timeout_ms;
	const char *why;
	int fd;

	fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(reason, cap, "socket: %s", strerror(errno));
		return reason;
	}
	if ((why = connect_within(fd, cl, deadline, reason, cap)) == NULL) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if ((why = send_within(fd, &cl->request, deadline)) == NULL)
			why = read_answer(fd, cl, deadline, reason, cap);
	}
	close(fd);
	return why;
}

int
main(int argc, char **argv)
{
	struct client cl;
	char reason[128];
	const char *why;
	long long runs = 0, failed = 0, end;
	int load;

	parse_args(argc, argv, &cl);
	load = cl.count > 0 || cl.duration_ms > 0;
	end = mono_ms() + cl.duration_ms;
	do {
		why = run_one(&cl, reason, sizeof(reason));
		runs++;
		if (why == NULL)
			continue;
		failed++;
		if (!load)
			fprintf(stderr, "fcgiclient: %s\n", why);
		else if (failed <= MAX_REASONS)
			fprintf(stderr, "fcgiclient: request %lld: %s\n", runs,
			    why);
	} while (cl.duration_ms > 0 ? mono_ms() < end : runs < cl.count);
	fflush(stdout);
	if (load)
		fprintf(stderr, "requests=%lld ok=%lld failed=%lld\n", runs,
		    runs - failed, failed);
	free(cl.request.p);
	return failed == 0 ? 0 : 1;
}
