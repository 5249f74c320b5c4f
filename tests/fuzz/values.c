/*
 * Fuzzes the value parsers of spawn.h with the input as one string:
 * numbers (against a reference written here, for several bound pairs),
 * modes (against a reference), signals (names round-trip through
 * spawn_signal_name), limits, IP literals (printed and parsed back) and
 * --probe targets.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "spawn.h"
#include "fuzz.h"

/*
 * The reference: an optional '-', then decimal digits only; a sign where
 * lo >= 0 is refused; the value must fit a long long and [lo, hi]. Returns
 * 0 with *v, or 1 "not a number", 2 "too small", 3 "too large".
 */
static int
ref_number(const char *s, long long lo, long long hi, long long *v)
{
	const char *p = s;
	int neg = 0, over = 0;
	unsigned long long acc = 0, lim;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0')
		return 1;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 1;
		if (acc > (lim - (unsigned long long)(*p - '0')) / 10)
			over = 1;
		else
			acc = acc * 10 + (unsigned long long)(*p - '0');
	}
	if (neg && lo >= 0)
		return 2;
	if (over)
		return neg ? 2 : 3;
	if (neg)
		*v = acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)acc;
	else
		*v = (long long)acc;
	if (*v < lo)
		return 2;
	if (*v > hi)
		return 3;
	return 0;
}

static void
check_number(const char *s, long long lo, long long hi)
{
	static const char *const names[] = {
		NULL, "not a number", "too small", "too large",
	};
	long long got = 12345, want = 0;
	const char *why = spawn_parse_number(s, lo, hi, &got);
	int r = ref_number(s, lo, hi, &want);

	if (r == 0) {
		CHECK(why == NULL, "number accepted like the reference");
		CHECK(got == want, "number value like the reference");
	} else {
		CHECK(why != NULL && strcmp(why, names[r]) == 0,
		    "number refused for the reference's reason");
		CHECK(got == 12345, "refused number leaves out alone");
	}
}

static void
check_mode(const char *s)
{
	int got = -1, want = 0, ok = *s != '\0' && strlen(s) <= 4;
	const char *p, *why = spawn_parse_mode(s, &got);

	for (p = s; ok && *p; p++) {
		if (*p < '0' || *p > '7')
			ok = 0;
		else
			want = want * 8 + (*p - '0');
	}
	if (want > 0777)
		ok = 0;
	CHECK((why == NULL) == ok, "mode accepted like the reference");
	if (ok)
		CHECK(got == want, "mode value like the reference");
}

static void
check_signal(const char *s)
{
	const char *name, *bare = s, *why;
	long long v;
	int sig = -1;

	why = spawn_parse_signal(s, &sig);
	if (*s >= '0' && *s <= '9') {
		CHECK((why == NULL) == (ref_number(s, 1, NSIG - 1, &v) == 0),
		    "signal number like the reference");
		if (why == NULL)
			CHECK(sig == v, "signal number value");
		return;
	}
	if (why != NULL)
		return;
	CHECK(sig >= 1 && sig < NSIG, "signal in range");
	name = spawn_signal_name(sig);
	CHECK(name != NULL, "a named signal has a name");
	if (strncasecmp(bare, "SIG", 3) == 0 && strcasecmp(bare + 3, name) == 0)
		bare += 3;
	CHECK(strcasecmp(bare, name) == 0, "signal name round-trips");
}

static void
check_limit(const char *s)
{
	struct spawn_limit l = { -1, 0 };
	const char *why = spawn_parse_limit(s, &l), *eq = strchr(s, '=');
	long long v;

	if (why != NULL)
		return;
	CHECK(eq != NULL, "a limit has '='");
	CHECK(l.resource >= 0 && l.resource < RLIM_NLIMITS, "limit resource");
	if (strcmp(eq + 1, "unlimited") == 0 || strcmp(eq + 1, "infinity") == 0)
		CHECK(l.value == RLIM_INFINITY, "unlimited");
	else
		CHECK(ref_number(eq + 1, 0, LLONG_MAX, &v) == 0 &&
		    l.value == (rlim_t)v, "limit value like the reference");
}

static void
check_inet(const char *s, int port)
{
	struct sockaddr_storage ss, back;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char text[INET6_ADDRSTRLEN];
	socklen_t len = 0, blen = 0;

	if (spawn_parse_inet(s, port, &ss, &len) != NULL)
		return;
	if (ss.ss_family == AF_INET) {
		CHECK(len == sizeof(*sin), "v4 length");
		CHECK(ntohs(sin->sin_port) == port, "v4 port");
		CHECK(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)),
		    "v4 prints");
	} else {
		CHECK(ss.ss_family == AF_INET6, "v4 or v6");
		CHECK(len == sizeof(*sin6), "v6 length");
		CHECK(ntohs(sin6->sin6_port) == port, "v6 port");
		CHECK(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)),
		    "v6 prints");
	}
	CHECK(spawn_parse_inet(text, port, &back, &blen) == NULL &&
	    blen == len && memcmp(&back, &ss, len) == 0,
	    "address parses back to the same sockaddr");
}

static void
check_target(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *colon = strrchr(s, ':');
	socklen_t len = 0;
	long long port;
	int got;

	if (spawn_parse_target(s, &ss, &len) != NULL)
		return;
	switch (ss.ss_family) {
	case AF_UNIX:
		CHECK(strcmp(sun->sun_path, s) == 0, "unix path kept");
		CHECK(len == offsetof(struct sockaddr_un, sun_path) + strlen(s) + 1,
		    "unix length");
		break;
	case AF_INET:
	case AF_INET6:
		CHECK(colon != NULL && ref_number(colon + 1, 1, 65535, &port) == 0,
		    "an IP target has a port");
		got = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
		    sin6->sin6_port);
		CHECK(got == port, "target port");
		CHECK(len == (ss.ss_family == AF_INET ? sizeof(*sin) :
		    sizeof(*sin6)), "target length");
		break;
	default:
		CHECK(0, "target family");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long bounds[][2] = {
		{ 1, SPAWN_MAX_CHILDREN }, { 0, SPAWN_MAX_CHILDREN }, { -20, 19 },
		{ 1, 65535 }, { 0, LLONG_MAX }, { LLONG_MIN, LLONG_MAX },
		{ 1, NSIG - 1 }, { -5, -1 },
	};
	char *s;
	size_t i;

	/* Exactly sized: a read past the NUL is a sanitizer report. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		check_number(s, bounds[i][0], bounds[i][1]);
	check_mode(s);
	check_signal(s);
	check_limit(s);
	check_inet(s, 0);
	check_inet(s, 65535);
	check_target(s);
	spawn_signal_name(size > 0 ? data[0] : 0);
	free(s);
	return 0;
}
