/*
 * Fuzzes the bridge's response-header parser: cgi_header_end over the
 * input as a script's stdout (also fed as it grows, the way the worker
 * reads it), then cgi_check_header on a copy of the block it finds. The
 * two must agree on where the block ends; an accepted block, once
 * rewritten, is accepted again unchanged; a non-parsed header becomes a
 * "Status: " line.
 */
#include <string.h>

#include "spawn.h"
#include "fuzz.h"

/* No limit: where the first blank line is, if anywhere. */
#define NOMAX ((size_t)-1)

static void
check_end(const char *buf, size_t len, size_t max)
{
	long r = cgi_header_end(buf, len, max), full, part;
	size_t i, k;

	CHECK(r >= -1 && r <= (long)len, "end within the input");
	full = cgi_header_end(buf, len, NOMAX);
	CHECK(full >= 0, "no -1 without a limit");
	if (r > 0) {
		CHECK(r == full, "the limit does not move the end");
		CHECK(buf[r - 1] == '\n', "a block ends with a newline");
		CHECK(r == 1 || buf[r - 2] == '\n' ||
		    (buf[r - 2] == '\r' && (r == 2 || buf[r - 3] == '\n')),
		    "a block ends with a blank line");
		/* The first blank line: one byte less has none. */
		CHECK(cgi_header_end(buf, (size_t)r - 1, NOMAX) == 0,
		    "the first blank line");
	} else if (r == -1) {
		CHECK(len >= max && full == 0, "-1 only past the limit");
	} else {
		CHECK(len < max && full == 0, "0 only short of the limit");
	}
	/* Read as it arrives: every prefix agrees with the whole. */
	for (i = 1; i <= 8; i++) {
		k = len * i / 8;
		part = cgi_header_end(buf, k, NOMAX);
		if (full > 0 && (size_t)full <= k)
			CHECK(part == full, "a longer prefix finds the same end");
		else
			CHECK(part == 0, "a shorter prefix finds none");
	}
}

static void
check_block(const char *data, size_t len)
{
	char *b, *again;
	const char *why, *why2;
	size_t out = 12345, out2 = 12345;

	/* Exactly sized, so that any overrun is a sanitizer report. */
	if ((b = malloc(len)) == NULL)
		abort();
	memcpy(b, data, len);
	why = cgi_check_header(b, len, &out);
	CHECK(out <= len, "rewrite never grows the block");
	CHECK(why == NULL || strcmp(why, "header block not ended by a blank "
	    "line") != 0, "check agrees with header_end on the blank line");
	if (why != NULL) {
		free(b);
		return;
	}
	if (len > 5 && memcmp(data, "HTTP/", 5) == 0)
		CHECK(out >= 8 && memcmp(b, "Status: ", 8) == 0,
		    "NPH becomes a Status line");
	else
		CHECK(out == len && memcmp(b, data, len) == 0,
		    "a CGI header block is left as it is");
	CHECK(cgi_header_end(b, out, NOMAX) == (long)out,
	    "the rewritten block still ends at its blank line");
	if ((again = malloc(out)) == NULL)
		abort();
	memcpy(again, b, out);
	why2 = cgi_check_header(again, out, &out2);
	CHECK(why2 == NULL && out2 == out && memcmp(again, b, out) == 0,
	    "an accepted block is accepted again, unchanged");
	free(again);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *whole;
	size_t out;
	long r;

	if ((buf = malloc(size)) == NULL && size > 0)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	check_end(buf, size, CGI_HEADER_MAX);
	check_end(buf, size, size);
	check_end(buf, size, size / 2 + 1);
	r = cgi_header_end(buf, size, CGI_HEADER_MAX);
	if (r > 0)
		check_block(buf, (size_t)r);
	/* The whole input as a block too, blank line or not. */
	if (size > 0 && (whole = malloc(size)) != NULL) {
		memcpy(whole, data, size);
		(void)cgi_check_header(whole, size, &out);
		CHECK(out <= size, "rewrite never grows the input");
		free(whole);
	}
	free(buf);
	return 0;
}
