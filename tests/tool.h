/*
 * What the two test tools, probe and fcgiclient, share: a growing byte
 * buffer, FastCGI records appended to it (encoded by fcgi.c, which the
 * product uses too) and the usage error. Each tool sets tool_name and
 * tool_usage for the messages.
 */
#ifndef TOOL_H
#define TOOL_H

#include <stddef.h>

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
void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
