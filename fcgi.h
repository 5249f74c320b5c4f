/*
 * FastCGI 1.0 records, name-value pairs and the management exchange:
 * shared by the launcher (--check, --probe), the CGI bridge (cgi.c) and
 * the test tools. Pure encoding and decoding, plus one client exchange.
 */
#ifndef FCGI_H
#define FCGI_H

#include <stddef.h>

/* Record types, roles, flags and statuses: specification sections 8 and 5. */
#define FCGI_VERSION_1 1
#define FCGI_BEGIN_REQUEST 1
#define FCGI_ABORT_REQUEST 2
#define FCGI_END_REQUEST 3
#define FCGI_PARAMS 4
#define FCGI_STDIN 5
#define FCGI_STDOUT 6
#define FCGI_STDERR 7
#define FCGI_DATA 8
#define FCGI_GET_VALUES 9
#define FCGI_GET_VALUES_RESULT 10
#define FCGI_UNKNOWN_TYPE 11

#define FCGI_RESPONDER 1
#define FCGI_AUTHORIZER 2
#define FCGI_FILTER 3
#define FCGI_KEEP_CONN 1

#define FCGI_REQUEST_COMPLETE 0
#define FCGI_CANT_MPX_CONN 1
#define FCGI_OVERLOADED 2
#define FCGI_UNKNOWN_ROLE 3

#define FCGI_HEADER_LEN 8
#define FCGI_MAX_CONTENT 65535

struct fcgi_header {
	int version, type, request_id, content_length, padding_length;
};

void fcgi_encode_header(unsigned char *buf, int type, int request_id,
    int content_length, int padding_length);
/* 0, or -1 when the version byte is not 1 (h is filled in either way). */
int fcgi_decode_header(const unsigned char *buf, struct fcgi_header *h);
/* Padding that brings content_length to a multiple of 8. */
int fcgi_padding(int content_length);
/*
 * One whole record (header, content, zero padding to 8) at buf; returns
 * its length, or 0 when cap is short or n is over FCGI_MAX_CONTENT.
 */
size_t fcgi_record(unsigned char *buf, size_t cap, int type, int request_id,
    const void *content, size_t n);
/* An END_REQUEST record (16 bytes) at buf. */
size_t fcgi_end_request(unsigned char *buf, int request_id,
    unsigned long app_status, int protocol_status);

/* Appends one name-value pair; returns its length, or 0 if cap is short. */
size_t fcgi_encode_pair(unsigned char *buf, size_t cap, const char *name,
    size_t nlen, const char *value, size_t vlen);
/*
 * The two lengths at the start of a pair: returns how many bytes they take
 * (2 to 8), or 0 when len does not hold them yet. Lets a reader check a
 * claimed length before it has the bytes, or buffers them.
 */
size_t fcgi_pair_lengths(const unsigned char *buf, size_t len, size_t *nlen,
    size_t *vlen);
/*
 * Reads one pair at buf; returns bytes consumed, or 0 when the pair runs
 * past len. Name and value point into buf.
 */
size_t fcgi_decode_pair(const unsigned char *buf, size_t len,
    const unsigned char **name, size_t *nlen, const unsigned char **value,
    size_t *vlen);
/* The whole GET_VALUES query spawn sends; returns its length. */
size_t fcgi_get_values_query(unsigned char *buf, size_t cap);

/* The monotonic clock, in ms, for deadlines. */
long long mono_ms(void);
/* Waits for events on fd until deadline (mono_ms); 1 ready, 0 timed out, -1. */
int fcgi_wait_fd(int fd, short events, long long deadline);
/*
 * The management exchange of section 4.1 over a connected (or connecting,
 * non-blocking) socket: FCGI_GET_VALUES out, FCGI_GET_VALUES_RESULT back.
 * Returns NULL with the values as "NAME=VALUE\n" lines in out, or why not.
 */
const char *fcgi_exchange(int fd, long timeout_ms, char *out, size_t outlen);

#endif
