/*
 * Fuzzes FCGI_WEB_SERVER_ADDRS as the bridge reads it (cgi.c's
 * parse_allowed, then peer_allowed for each address): the input is the
 * variable's value. Checked against a reference split written here: the
 * same addresses are taken (comma-separated, blanks trimmed, at most 32),
 * each of them is then let in (IPv4 also as a v4-mapped IPv6 peer), an
 * address not in the list is refused, a unix peer always passes, and a
 * bad entry's log line stays one line (cgi_whole.h checks it).
 */
#include "cgi_whole.h"

/* The reference: the addresses the list holds, in order. */
static int
ref_split(const char *s, struct sockaddr_storage *out, int max)
{
	char one[INET6_ADDRSTRLEN + 1];
	const char *p = s, *e;
	size_t n;
	int k = 0;

	while (k < max) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			memset(&out[k], 0, sizeof(out[k]));
			if (inet_pton(AF_INET, one,
			    &((struct sockaddr_in *)&out[k])->sin_addr) == 1)
				out[k++].ss_family = AF_INET;
			else if (inet_pton(AF_INET6, one,
			    &((struct sockaddr_in6 *)&out[k])->sin6_addr) == 1)
				out[k++].ss_family = AF_INET6;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return k;
}

static int
is_listed(const struct sockaddr_storage *a, const struct sockaddr_storage *l,
    int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (a->ss_family != l[i].ss_family)
			continue;
		if (a->ss_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)&l[i])->sin_addr, 4) == 0)
			return 1;
		if (a->ss_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)&l[i])->sin6_addr, 16) == 0)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage want[MAX_ADDRS], peer;
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer;
	char name[INET6_ADDRSTRLEN], *s;
	int n, i;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	nallowed = 0;
	parse_allowed(s);
	n = ref_split(s, want, MAX_ADDRS);
	CHECK(nallowed == n, "as many addresses as the reference");
	for (i = 0; i < n; i++) {
		CHECK(allowed[i].ss_family == want[i].ss_family &&
		    is_listed(&allowed[i], want, n), "the reference's addresses");
		CHECK(peer_allowed(&want[i], name, sizeof(name)) == 1 &&
		    name[0] != '\0', "a listed address is let in");
		if (want[i].ss_family == AF_INET) {
			/* The same client on a dual-stack socket. */
			memset(&peer, 0, sizeof(peer));
			peer.ss_family = AF_INET6;
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(sin6->sin6_addr.s6_addr + 12,
			    &((struct sockaddr_in *)&want[i])->sin_addr, 4);
			CHECK(peer_allowed(&peer, name, sizeof(name)) == 1,
			    "a listed IPv4 address is let in v4-mapped");
		}
	}
	/* 192.0.2.x (TEST-NET-1) with x from the input: in the list or not. */
	memset(&peer, 0, sizeof(peer));
	peer.ss_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0xc0000200u | (size > 0 ? data[0] : 0));
	CHECK(peer_allowed(&peer, name, sizeof(name)) ==
	    (n == 0 || is_listed(&peer, want, n)), "others refused");
	memset(&peer, 0, sizeof(peer));
	peer.ss_family = AF_UNIX;
	CHECK(peer_allowed(&peer, name, sizeof(name)) == 1,
	    "a unix peer always passes");
	nallowed = 0;
	free(s);
	return 0;
}
