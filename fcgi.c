/*
 * FastCGI 1.0 (Open Market, 1996): records (section 3.3), name-value pairs
 * (section 3.4) and the management exchange (section 4.1). See fcgi.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"

void
fcgi_encode_header(unsigned char *buf, int type, int request_id,
    int content_length, int padding_length)
{
	buf[0] = FCGI_VERSION_1;
	buf[1] = (unsigned char)type;
	buf[2] = (unsigned char)(request_id >> 8);
	buf[3] = (unsigned char)request_id;
	buf[4] = (unsigned char)(content_length >> 8);
	buf[5] = (unsigned char)content_length;
	buf[6] = (unsigned char)padding_length;
	buf[7] = 0;
}

int
fcgi_decode_header(const unsigned char *buf, struct fcgi_header *h)
{
	h->version = buf[0];
	h->type = buf[1];
	h->request_id = (buf[2] << 8) | buf[3];
	h->content_length = (buf[4] << 8) | buf[5];
	h->padding_length = buf[6];
	return h->version == FCGI_VERSION_1 ? 0 : -1;
}

int
fcgi_padding(int content_length)
{
	return (8 - (content_length & 7)) & 7;
}

size_t
fcgi_record(unsigned char *buf, size_t cap, int type, int request_id,
    const void *content, size_t n)
{
	int pad = fcgi_padding((int)(n & 0xffff));
	size_t total = FCGI_HEADER_LEN + n + (size_t)pad;

	if (n > FCGI_MAX_CONTENT || total > cap)
		return 0;
	fcgi_encode_header(buf, type, request_id, (int)n, pad);
	if (n > 0)
		memmove(buf + FCGI_HEADER_LEN, content, n);
	memset(buf + FCGI_HEADER_LEN + n, 0, (size_t)pad);
	return total;
}

size_t
fcgi_end_request(unsigned char *buf, int request_id, unsigned long app_status,
    int protocol_status)
{
	unsigned char body[8];

	body[0] = (unsigned char)(app_status >> 24);
	body[1] = (unsigned char)(app_status >> 16);
	body[2] = (unsigned char)(app_status >> 8);
	body[3] = (unsigned char)app_status;
	body[4] = (unsigned char)protocol_status;
	body[5] = body[6] = body[7] = 0;
	return fcgi_record(buf, FCGI_HEADER_LEN + 8, FCGI_END_REQUEST,
	    request_id, body, sizeof(body));
}

static size_t
encode_length(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = (unsigned char)((n >> 24) | 0x80);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 4;
}

size_t
fcgi_encode_pair(unsigned char *buf, size_t cap, const char *name,
    size_t nlen, const char *value, size_t vlen)
{
	size_t need = (nlen < 128 ? 1 : 4) + (vlen < 128 ? 1 : 4) + nlen + vlen;
	size_t off;

	if (need > cap || nlen > 0x7fffffff || vlen > 0x7fffffff)
		return 0;
	off = encode_length(buf, nlen);
	off += encode_length(buf + off, vlen);
	memcpy(buf + off, name, nlen);
	memcpy(buf + off + nlen, value, vlen);
	return need;
}

static size_t
decode_length(const unsigned char *p, size_t len, size_t *n)
{
	if (len < 1)
		return 0;
	if (!(p[0] & 0x80)) {
		*n = p[0];
		return 1;
	}
	if (len < 4)
		return 0;
	*n = ((size_t)(p[0] & 0x7f) << 24) | ((size_t)p[1] << 16) |
	    ((size_t)p[2] << 8) | p[3];
	return 4;
}

size_t
fcgi_pair_lengths(const unsigned char *buf, size_t len, size_t *nlen,
    size_t *vlen)
{
	size_t a, b;

	if ((a = decode_length(buf, len, nlen)) == 0)
		return 0;
	if ((b = decode_length(buf + a, len - a, vlen)) == 0)
		return 0;
	return a + b;
}

size_t
fcgi_decode_pair(const unsigned char *buf, size_t len,
    const unsigned char **name, size_t *nlen, const unsigned char **value,
    size_t *vlen)
{
	size_t h;

	if ((h = fcgi_pair_lengths(buf, len, nlen, vlen)) == 0)
		return 0;
	if (*nlen > len - h || *vlen > len - h - *nlen)
		return 0;
	*name = buf + h;
	*value = *name + *nlen;
	return h + *nlen + *vlen;
}

static const char *const get_values_names[] = {
	"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS",
};

size_t
fcgi_get_values_query(unsigned char *buf, size_t cap)
{
	size_t off = FCGI_HEADER_LEN, i, n;

	if (cap < FCGI_HEADER_LEN)
		return 0;
	for (i = 0; i < 3; i++) {
		n = fcgi_encode_pair(buf + off, cap - off, get_values_names[i],
		    strlen(get_values_names[i]), "", 0);
		if (n == 0)
			return 0;
		off += n;
	}
	fcgi_encode_header(buf, FCGI_GET_VALUES, 0,
	    (int)(off - FCGI_HEADER_LEN), 0);
	return off;
}

long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
fcgi_wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long ms;
	int rc;

	for (;;) {
		ms = deadline - mono_ms();
		if (ms < 0)
			ms = 0;
		pfd.fd = fd;
		pfd.events = events;
		rc = poll(&pfd, 1, (int)ms);
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

const char *
fcgi_exchange(int fd, long timeout, char *out, size_t outlen)
{
	static char why[128];
	unsigned char q[128], buf[FCGI_HEADER_LEN + 65535 + 255];
	const unsigned char *name, *value;
	size_t qlen, have = 0, need = FCGI_HEADER_LEN, off, k, nlen, vlen, used = 0;
	long long deadline = mono_ms() + timeout;
	struct fcgi_header h = { 0, 0, 0, 0, 0 };
	socklen_t elen = sizeof(int);
	ssize_t n;
	int e = 0;

	*out = '\0';
	if ((n = fcgi_wait_fd(fd, POLLOUT, deadline)) <= 0) {
		if (n < 0)
			return strerror(errno);
		goto timeout;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e != 0)
		return strerror(e);
	qlen = fcgi_get_values_query(q, sizeof(q));
	/*
	 * libfcgi (fcgiwrap, and every app built on it) acts on a management
	 * record only once it has read the header of the next one, so a lone
	 * query is never answered. An empty FCGI_GET_VALUES after it makes
	 * libfcgi answer the first; php-cgi answers the first and closes.
	 */
	fcgi_encode_header(q + qlen, FCGI_GET_VALUES, 0, 0, 0);
	qlen += FCGI_HEADER_LEN;
	if ((n = send(fd, q, qlen, MSG_NOSIGNAL)) != (ssize_t)qlen)
		return n < 0 ? strerror(errno) : "short write";
	while (have < need) {
		if ((n = fcgi_wait_fd(fd, POLLIN, deadline)) <= 0) {
			if (n < 0)
				return strerror(errno);
			goto timeout;
		}
		n = recv(fd, buf + have, need - have, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return strerror(errno);
		if (n == 0)
			return have == 0 ? "connection closed without an answer" :
			    "not FastCGI (short record)";
		have += (size_t)n;
		if (have == FCGI_HEADER_LEN && need == FCGI_HEADER_LEN) {
			if (fcgi_decode_header(buf, &h) < 0 ||
			    h.type != FCGI_GET_VALUES_RESULT || h.request_id != 0) {
				if (h.version == FCGI_VERSION_1 &&
				    h.type == FCGI_UNKNOWN_TYPE)
					return "answered FCGI_UNKNOWN_TYPE to FCGI_GET_VALUES";
				return "not FastCGI (no FCGI_GET_VALUES_RESULT)";
			}
			need += (size_t)h.content_length + h.padding_length;
		}
	}
	for (off = FCGI_HEADER_LEN; off < FCGI_HEADER_LEN + (size_t)h.content_length;
	    off += k) {
		k = fcgi_decode_pair(buf + off,
		    FCGI_HEADER_LEN + h.content_length - off, &name, &nlen, &value,
		    &vlen);
		if (k == 0)
			return "not FastCGI (bad name-value pair)";
		if (used + nlen + vlen + 2 < outlen) {
			used += (size_t)snprintf(out + used, outlen - used,
			    "%.*s=%.*s\n", (int)nlen, (const char *)name, (int)vlen,
			    (const char *)value);
		}
	}
	return NULL;
timeout:
	snprintf(why, sizeof(why), "no answer within %ld ms", timeout);
	return why;
}
