/* Shared by tests/probe.c and tests/fcgiclient.c; see tool.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "fcgi.h"
#include "tool.h"

void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *p;

		while (cap - b->len < n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", tool_name);
			exit(1);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void
add_records(struct buf *out, int type, int id, const void *data, size_t n)
{
	unsigned char h[FCGI_HEADER_LEN];
	const unsigned char *p = data;
	size_t chunk;

	do {
		chunk = n < FCGI_MAX_CONTENT ? n : FCGI_MAX_CONTENT;
		fcgi_encode_header(h, type, id, (int)chunk, 0);
		buf_add(out, h, sizeof(h));
		if (chunk > 0) {
			buf_add(out, p, chunk);
			p += chunk;
			n -= chunk;
		}
	} while (n > 0);
}

void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", tool_usage);
	exit(2);
}
