/*
 * What the two test tools, probe and fcgiclient, share: a growing byte
 * buffer, FastCGI records appended to it, a monotonic clock and the usage
 * error. Each tool sets tool_name and tool_usage for the messages.
 */
#ifndef TOOL_H
#define TOOL_H

#include <stddef.h>

#define FCGI_MAX_CONTENT 65535

struct buf {
	unsigned char *p;
	size_t len, cap;
};

extern const char *tool_name;
extern const char *tool_usage;

void buf_add(struct buf *b, const void *data, size_t n);
/* Appends data as records of one type, split at the 16-bit length. */
void add_records(struct buf *out, int type, int id, const void *data,
    size_t n);
long long now_ms(void);
void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
