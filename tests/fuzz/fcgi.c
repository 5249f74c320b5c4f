/*
 * Fuzzes fcgi.c's decoding: the input is walked as a record stream
 * (fcgi_decode_header, each record rebuilt with fcgi_encode_header and
 * fcgi_record), the content of its PARAMS records is walked as one
 * name-value stream, and so is the raw input itself. Every decoded pair
 * is encoded again with fcgi_encode_pair and decoded back: same name, same
 * value, and the same bytes when the sender used the shortest lengths.
 */
#include <string.h>

#include "spawn.h"
#include "fcgi.h"
#include "fuzz.h"

/* Bytes a length takes when written the short way. */
static size_t
len_size(size_t n)
{
	return n < 128 ? 1 : 4;
}

static void
walk_pairs(const unsigned char *buf, size_t len)
{
	const unsigned char *name, *value, *dname, *dvalue;
	unsigned char *enc;
	size_t off = 0, k, h, nlen, vlen, hn, hv, need, got, dn, dv;

	while (off < len) {
		h = fcgi_pair_lengths(buf + off, len - off, &hn, &hv);
		k = fcgi_decode_pair(buf + off, len - off, &name, &nlen, &value,
		    &vlen);
		if (h == 0) {
			/* The lengths themselves are cut off. */
			CHECK(k == 0, "no pair without its lengths");
			CHECK(len - off < 8, "lengths take at most 8 bytes");
			return;
		}
		CHECK(h >= 2 && h <= 8 && h <= len - off, "length bytes 2..8");
		CHECK(hn <= 0x7fffffff && hv <= 0x7fffffff, "31-bit lengths");
		if (k == 0) {
			/* Claimed lengths run past the end. */
			CHECK(hn + hv > len - off - h, "refused only when short");
			return;
		}
		CHECK(nlen == hn && vlen == hv, "decode agrees with lengths");
		CHECK(k == h + nlen + vlen && k <= len - off, "pair size");
		CHECK(name == buf + off + h && value == name + nlen,
		    "name and value point into the pair");
		/* What the bridge would do with the name: only a verdict. */
		(void)cgi_param_allowed((const char *)name, nlen);

		need = len_size(nlen) + len_size(vlen) + nlen + vlen;
		/* Exactly sized: an overrun is a sanitizer report. */
		if ((enc = malloc(need)) == NULL)
			abort();
		CHECK(fcgi_encode_pair(enc, need - 1, (const char *)name, nlen,
		    (const char *)value, vlen) == 0, "refuses a short buffer");
		got = fcgi_encode_pair(enc, need, (const char *)name, nlen,
		    (const char *)value, vlen);
		CHECK(got == need, "encoded size");
		CHECK(fcgi_decode_pair(enc, got, &dname, &dn, &dvalue, &dv) == got,
		    "re-encoded pair decodes whole");
		CHECK(dn == nlen && dv == vlen && memcmp(dname, name, nlen) == 0 &&
		    memcmp(dvalue, value, vlen) == 0, "pair round-trips");
		if (h == len_size(nlen) + len_size(vlen))
			CHECK(memcmp(enc, buf + off, got) == 0,
			    "shortest encoding round-trips byte for byte");
		free(enc);
		off += k;
	}
}

static void
check_record(const unsigned char *p, const struct fcgi_header *h,
    const unsigned char *content, size_t n)
{
	unsigned char hdr[FCGI_HEADER_LEN], *rec;
	struct fcgi_header back;
	size_t cap = FCGI_HEADER_LEN + n + 7, total;
	int pad = fcgi_padding((int)n);

	/* The header re-encodes to the same bytes (the reserved byte aside). */
	fcgi_encode_header(hdr, h->type, h->request_id, h->content_length,
	    h->padding_length);
	CHECK(memcmp(hdr, p, 7) == 0, "header round-trips");

	CHECK(pad >= 0 && pad < 8 && (n + (size_t)pad) % 8 == 0, "padding");
	if ((rec = malloc(cap)) == NULL)
		abort();
	total = fcgi_record(rec, cap, h->type, h->request_id, content, n);
	CHECK(total == FCGI_HEADER_LEN + n + (size_t)pad, "record size");
	CHECK(total % 8 == 0, "our records are padded to 8");
	CHECK(fcgi_decode_header(rec, &back) == 0 && back.type == h->type &&
	    back.request_id == h->request_id &&
	    back.content_length == (int)n && back.padding_length == pad,
	    "record header decodes back");
	CHECK(memcmp(rec + FCGI_HEADER_LEN, content, n) == 0, "record content");
	for (; pad > 0; pad--)
		CHECK(rec[total - (size_t)pad] == 0, "padding is zero");
	if (n > 0)
		CHECK(fcgi_record(rec, total - 1, h->type, h->request_id, content,
		    n) == 0, "record refuses a short buffer");
	if (h->type == FCGI_END_REQUEST && n >= 8) {
		unsigned long app = ((unsigned long)content[0] << 24) |
		    ((unsigned long)content[1] << 16) |
		    ((unsigned long)content[2] << 8) | content[3];

		CHECK(fcgi_end_request(rec, h->request_id, app, content[4]) == 16 &&
		    memcmp(rec + FCGI_HEADER_LEN, content, 5) == 0,
		    "END_REQUEST round-trips");
	}
	free(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcgi_header h;
	unsigned char *params = NULL, *np;
	size_t off = 0, n, plen = 0;
	int v;

	walk_pairs(data, size);
	while (size - off >= FCGI_HEADER_LEN) {
		v = fcgi_decode_header(data + off, &h);
		CHECK((v == 0) == (data[off] == FCGI_VERSION_1), "version check");
		CHECK(h.content_length >= 0 && h.content_length <= FCGI_MAX_CONTENT &&
		    h.padding_length >= 0 && h.padding_length <= 255 &&
		    h.request_id >= 0 && h.request_id <= 65535, "field ranges");
		if (v < 0)
			break;
		off += FCGI_HEADER_LEN;
		/* A record cut short is taken as far as it goes. */
		n = (size_t)h.content_length < size - off ?
		    (size_t)h.content_length : size - off;
		check_record(data + off - FCGI_HEADER_LEN, &h, data + off, n);
		if (h.type == FCGI_PARAMS && n > 0) {
			if ((np = realloc(params, plen + n)) == NULL)
				abort();
			params = np;
			memcpy(params + plen, data + off, n);
			plen += n;
		}
		off += n;
		off += (size_t)h.padding_length < size - off ?
		    (size_t)h.padding_length : size - off;
	}
	if (plen > 0)
		walk_pairs(params, plen);
	free(params);
	return 0;
}
