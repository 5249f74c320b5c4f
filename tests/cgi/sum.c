/*
 * A CGI program for tests/t-cgi-peers.sh: it reads its whole request body
 * and answers with the request's method, query string and length, and the
 * body's POSIX cksum(1) CRC and byte count, so that the test compares them
 * with cksum(1) of what it sent.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint32_t table[256];

static void
make_table(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i << 24;
		for (k = 0; k < 8; k++)
			c = (c & 0x80000000U) ? (c << 1) ^ 0x04c11db7U : c << 1;
		table[i] = c;
	}
}

static uint32_t
crc_byte(uint32_t crc, unsigned char b)
{
	return (crc << 8) ^ table[((crc >> 24) ^ b) & 0xff];
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? v : "";
}

int
main(void)
{
	unsigned char buf[8192];
	unsigned long long len, n;
	uint32_t crc = 0;
	ssize_t r, i;

	make_table();
	len = 0;
	for (;;) {
		r = read(0, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r < 0) {
			perror("sum.cgi: read");
			return 1;
		}
		for (i = 0; i < r; i++)
			crc = crc_byte(crc, buf[i]);
		len += (unsigned long long)r;
	}
	/* cksum(1) ends with the length, least significant byte first. */
	for (n = len; n != 0; n >>= 8)
		crc = crc_byte(crc, (unsigned char)(n & 0xff));
	crc = ~crc;
	printf("Content-Type: text/plain\r\n\r\n");
	printf("method=%s\n", env("REQUEST_METHOD"));
	printf("query=%s\n", env("QUERY_STRING"));
	printf("content_length=%s\n", env("CONTENT_LENGTH"));
	printf("cksum=%lu %llu\n", (unsigned long)crc, len);
	printf("pgid_is_pid=%s\n", getpgrp() == getpid() ? "yes" : "no");
	return fflush(stdout) == 0 ? 0 : 1;
}
