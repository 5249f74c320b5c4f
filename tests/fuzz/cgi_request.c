/*
 * Fuzzes the bridge's request assembly: cgi.c's record parser
 * (parse_input, content, record_done, begin_request, add_params,
 * params_done, get_values, ABORT_REQUEST...) with the input as what a web
 * server sends on one connection.
 *
 * cgi.c is included whole (cgi_whole.h), so that its static functions and
 * state are reachable. The worker is set up with --cgi-dir naming a
 * directory that does not exist: every complete request is answered 404
 * or 403 by find_script, and no script can ever start. To make sure of
 * that, fork, execve, kill and waitpid are replaced by functions that
 * abort.
 *
 * Input: byte 0 picks how the rest is cut into chunks on the wire, byte 1
 * how the connection ends (client EOF, --cgi-timeout, drain, or the
 * worker closing it) and --cgi-max; the rest is the byte stream. The
 * connection comes through accept_conns() on a listening socket at fd 0,
 * as in a worker. Each chunk is sent by the client end, then the body of
 * cgi_worker's loop runs for the connection (deadlines, leftover input,
 * poll without waiting, write_conn on POLLOUT, read_conn on POLLIN or
 * POLLHUP).
 *
 * What comes back is checked as a record stream: FastCGI version 1,
 * padded to 8, only the types a worker sends, END_REQUEST after an empty
 * STDOUT, a 403/404 header block or nothing as the body, GET_VALUES_RESULT
 * with the configured values. A model of the protocol (below) walks the
 * same input and says which END_REQUEST, GET_VALUES_RESULT and
 * UNKNOWN_TYPE records must come back, in order, whatever the chunking.
 * Every log line must be one line with no control characters. After the
 * connection closes, every counter is back where it started and nothing
 * is left allocated or open.
 */
#include "cgi_whole.h"

#define NO_DIR "/nonexistent-fuzz-dir"

/*
 * The answers that matter, in order: END_REQUEST (id, protocolStatus),
 * GET_VALUES_RESULT, UNKNOWN_TYPE (the type). STDOUT is checked apart.
 */
#define MAX_EVENTS 4096
#define EV_END(id, proto) (((long)(id) << 8) | (proto))
#define EV_VALUES (-1L)
#define EV_UNKNOWN(type) (-2L - (type))

struct events {
	long ev[MAX_EVENTS];
	int n, overflow;
};

static void
add_event(struct events *e, long ev)
{
	if (e->n == MAX_EVENTS)
		e->overflow = 1;
	else
		e->ev[e->n++] = ev;
}

/*
 * The model: what a correct bridge answers to this byte stream when no
 * script can run (every complete request gets 403/404), record by record
 * as cgi.c's comments and spawn(1) describe the protocol. It stops where
 * the bridge must close the connection: a malformed record (its queued
 * answers may be lost), or the end of a request without KEEP_CONN.
 */
enum stop { GOING, BAD, NO_KEEP };

struct model {
	struct events want;
	enum stop stop;
	int truncated;          /* the stream ends inside a record */
	int tail;               /* bytes follow the NO_KEEP stop */
	int busy, params_open, id, keep, in_open, in_id;
	size_t plen, pscan;
	unsigned char *params;
};

static int
model_params(struct model *m, const unsigned char *p, size_t n)
{
	size_t hl, nl, vl;
	unsigned char *np;

	if (n > CGI_PARAMS_MAX - m->plen)
		return -1;
	if ((np = realloc(m->params, m->plen + n + 1)) == NULL)
		abort();
	m->params = np;
	memcpy(m->params + m->plen, p, n);
	m->plen += n;
	while ((hl = fcgi_pair_lengths(m->params + m->pscan, m->plen - m->pscan,
	    &nl, &vl)) != 0) {
		if (nl > CGI_PARAMS_MAX || vl > CGI_PARAMS_MAX ||
		    m->pscan + hl + nl + vl > CGI_PARAMS_MAX)
			return -1;
		if (m->pscan + hl + nl + vl > m->plen)
			break;
		m->pscan += hl + nl + vl;
	}
	return 0;
}

static void
model_end(struct model *m)
{
	add_event(&m->want, EV_END(m->id, FCGI_REQUEST_COMPLETE));
	m->busy = m->params_open = 0;
	if (!m->keep)
		m->stop = NO_KEEP;
}

static void
model_run(struct model *m, const unsigned char *in, size_t len)
{
	struct fcgi_header h;
	const unsigned char *c;
	size_t off = 0, clen, total;
	int mine;

	memset(m, 0, sizeof(*m));
	while (off < len && m->stop == GOING) {
		if (len - off < FCGI_HEADER_LEN) {
			m->truncated = 1;
			break;
		}
		if (fcgi_decode_header(in + off, &h) < 0) {
			m->stop = BAD;
			break;
		}
		clen = (size_t)h.content_length;
		total = FCGI_HEADER_LEN + clen + (size_t)h.padding_length;
		c = in + off + FCGI_HEADER_LEN;
		mine = m->busy && h.request_id == m->id;
		if (len - off < total) {
			/* Claims in a PARAMS record's first bytes count at once. */
			if (h.type == FCGI_PARAMS && mine && m->params_open &&
			    model_params(m, c, len - off - FCGI_HEADER_LEN < clen ?
			    len - off - FCGI_HEADER_LEN : clen) < 0)
				m->stop = BAD;
			m->truncated = 1;
			break;
		}
		off += total;
		switch (h.type) {
		case FCGI_BEGIN_REQUEST:
			if (clen != 8 || h.request_id == 0) {
				m->stop = BAD;
				break;
			}
			if (m->busy) {
				add_event(&m->want, EV_END(h.request_id,
				    FCGI_CANT_MPX_CONN));
				break;
			}
			m->id = h.request_id;
			m->keep = c[2] & FCGI_KEEP_CONN;
			if (((c[0] << 8) | c[1]) != FCGI_RESPONDER) {
				add_event(&m->want, EV_END(h.request_id,
				    FCGI_UNKNOWN_ROLE));
				if (!m->keep)
					m->stop = NO_KEEP;
				break;
			}
			m->busy = m->params_open = m->in_open = 1;
			m->in_id = m->id;
			m->plen = m->pscan = 0;
			break;
		case FCGI_PARAMS:
			if (!mine || !m->params_open)
				break;
			if (model_params(m, c, clen) < 0) {
				m->stop = BAD;
				break;
			}
			if (clen > 0)
				break;
			if (m->pscan != m->plen) {
				m->stop = BAD;
				break;
			}
			/* find_script answers 403/404; the body decides the end. */
			m->params_open = 0;
			if (!m->in_open)
				model_end(m);
			break;
		case FCGI_STDIN:
			if (h.request_id != m->in_id || clen != 0 || !m->in_open)
				break;
			m->in_open = 0;
			if (mine && !m->params_open)
				model_end(m);
			break;
		case FCGI_ABORT_REQUEST:
			if (!mine)
				break;
			m->in_open = 0;
			model_end(m);
			break;
		case FCGI_GET_VALUES:
			add_event(&m->want, EV_VALUES);
			break;
		case FCGI_DATA:
			break;
		default:
			add_event(&m->want, EV_UNKNOWN(h.type));
			break;
		}
	}
	m->tail = m->stop == NO_KEEP && off < len;
	free(m->params);
	m->params = NULL;
}

/* The records that come back, checked as they arrive. */
struct out {
	unsigned char *buf;
	size_t len, cap;
	int have_req;            /* a STDOUT for req_id was seen */
	int req_id, stdout_ended;
	char body[512];
	size_t blen;
	struct events got;
};

static void
check_body(struct out *o)
{
	long end;
	size_t newlen;
	char *copy;

	if (o->blen == 0)
		return;
	/* Our own answers only: a 403 or 404 header block and its text. */
	CHECK(o->blen < sizeof(o->body), "own answer is short");
	CHECK(o->blen > 11 && (memcmp(o->body, "Status: 404", 11) == 0 ||
	    memcmp(o->body, "Status: 403", 11) == 0), "answer is 403 or 404");
	end = cgi_header_end(o->body, o->blen, CGI_HEADER_MAX);
	CHECK(end > 0, "answer has a header block");
	if ((copy = malloc((size_t)end)) == NULL)
		abort();
	memcpy(copy, o->body, (size_t)end);
	CHECK(cgi_check_header(copy, (size_t)end, &newlen) == NULL,
	    "answer's header block is valid");
	free(copy);
}

static void
check_pairs(const unsigned char *p, size_t n)
{
	const unsigned char *name, *value;
	size_t off, k, nlen, vlen;
	char want[16];
	int v;

	for (off = 0; off < n; off += k) {
		k = fcgi_decode_pair(p + off, n - off, &name, &nlen, &value, &vlen);
		CHECK(k > 0, "GET_VALUES_RESULT pairs decode");
		if (nlen == 14 && memcmp(name, "FCGI_MAX_CONNS", 14) == 0)
			v = maxconns < cfg->max ? maxconns : cfg->max;
		else if (nlen == 13 && memcmp(name, "FCGI_MAX_REQS", 13) == 0)
			v = cfg->max;
		else if (nlen == 15 && memcmp(name, "FCGI_MPXS_CONNS", 15) == 0)
			v = 0;
		else
			v = -1;
		CHECK(v >= 0, "only the three known names are answered");
		snprintf(want, sizeof(want), "%d", v);
		CHECK(vlen == strlen(want) && memcmp(value, want, vlen) == 0,
		    "GET_VALUES_RESULT value is the configured one");
	}
}

static void
check_records(struct out *o)
{
	struct fcgi_header h;
	const unsigned char *c;
	size_t off = 0, total;
	int app, proto;

	while (o->len - off >= FCGI_HEADER_LEN) {
		CHECK(fcgi_decode_header(o->buf + off, &h) == 0, "version 1");
		total = FCGI_HEADER_LEN + (size_t)h.content_length +
		    (size_t)h.padding_length;
		if (o->len - off < total)
			break;
		CHECK(total % 8 == 0 && h.padding_length < 8, "padded to 8");
		c = o->buf + off + FCGI_HEADER_LEN;
		if (verbose)
			fprintf(stderr, "out: type %d id %d length %d padding %d\n",
			    h.type, h.request_id, h.content_length, h.padding_length);
		switch (h.type) {
		case FCGI_STDOUT:
			CHECK(h.request_id != 0, "STDOUT has a request id");
			if (!o->have_req || o->req_id != h.request_id) {
				CHECK(!o->have_req || o->stdout_ended,
				    "one request at a time");
				o->have_req = 1;
				o->req_id = h.request_id;
				o->stdout_ended = 0;
				o->blen = 0;
			}
			CHECK(!o->stdout_ended, "no STDOUT after its end");
			if (h.content_length == 0) {
				o->stdout_ended = 1;
				break;
			}
			if (o->blen + (size_t)h.content_length < sizeof(o->body)) {
				memcpy(o->body + o->blen, c, (size_t)h.content_length);
				o->blen += (size_t)h.content_length;
			} else {
				o->blen = sizeof(o->body);
			}
			break;
		case FCGI_END_REQUEST:
			CHECK(h.content_length == 8, "END_REQUEST body is 8 bytes");
			CHECK(h.request_id != 0, "END_REQUEST has a request id");
			app = (c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3];
			proto = c[4];
			CHECK(app == 0, "no script ran: appStatus 0");
			CHECK(proto == FCGI_REQUEST_COMPLETE ||
			    proto == FCGI_CANT_MPX_CONN || proto == FCGI_UNKNOWN_ROLE,
			    "protocolStatus");
			add_event(&o->got, EV_END(h.request_id, proto));
			if (proto != FCGI_REQUEST_COMPLETE)
				break;
			CHECK(o->have_req && o->req_id == h.request_id &&
			    o->stdout_ended, "END_REQUEST after an empty STDOUT");
			check_body(o);
			o->have_req = 0;
			o->blen = 0;
			break;
		case FCGI_GET_VALUES_RESULT:
			CHECK(h.request_id == 0, "management record id 0");
			check_pairs(c, (size_t)h.content_length);
			add_event(&o->got, EV_VALUES);
			break;
		case FCGI_UNKNOWN_TYPE:
			CHECK(h.request_id == 0, "management record id 0");
			CHECK(h.content_length == 8, "UNKNOWN_TYPE body is 8 bytes");
			add_event(&o->got, EV_UNKNOWN(c[0]));
			break;
		default:
			CHECK(0, "only STDOUT, END_REQUEST, GET_VALUES_RESULT, "
			    "UNKNOWN_TYPE (no script: no STDERR)");
		}
		off += total;
	}
	memmove(o->buf, o->buf + off, o->len - off);
	o->len -= off;
}

/* Reads whatever the worker sent; returns how many bytes. */
static size_t
drain(int peer, struct out *o)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		if (o->cap - o->len < 65536) {
			o->cap = o->len + 131072;
			if ((o->buf = realloc(o->buf, o->cap)) == NULL)
				abort();
		}
		n = recv(peer, o->buf + o->len, o->cap - o->len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		o->len += (size_t)n;
		got += (size_t)n;
	}
	check_records(o);
	return got;
}

/*
 * One pass of cgi_worker's loop for this connection: its deadlines, the
 * input left behind, poll() without waiting, then what the loop does for
 * a 'c' entry. Returns whether anything happened.
 */
static int
step(struct conn *c)
{
	struct pollfd pfd;
	size_t before = moved_bytes, ioff = c->ioff, ilen = c->ilen;
	size_t olen = c->olen;

	(void)deadlines(mono_ms());
	if (c->fd < 0)
		return 1;
	if (c->ilen > c->ioff && !c->blocked && c->st != R_QUEUED) {
		parse_input(c);
		if (c->fd >= 0 && c->olen > c->ooff && !held(c))
			write_conn(c);
		if (c->fd < 0)
			return 1;
	}
	pfd.fd = c->fd;
	pfd.events = conn_events(c);
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0 || pfd.revents == 0)
		return moved_bytes != before || c->ioff != ioff ||
		    c->ilen != ilen || c->olen != olen;
	if (pfd.revents & POLLOUT)
		write_conn(c);
	if (c->fd >= 0 && pfd.revents & (POLLIN | POLLHUP | POLLERR))
		read_conn(c);
	if (c->fd >= 0 && pfd.revents & (POLLHUP | POLLERR) &&
	    !(pfd.revents & POLLIN))
		conn_close(c);
	if (c->fd >= 0 && c->olen > c->ooff && !held(c))
		write_conn(c);
	/* Woken, yet nothing moved: the real loop would spin. */
	CHECK(c->fd < 0 || moved_bytes != before, "a wake-up makes progress");
	return 1;
}

static unsigned int rnd;

static size_t
next_chunk(int mode)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	if (mode < 0x40)
		return (size_t)-1;
	if (mode < 0x80)
		return 1 + rnd % 8;
	if (mode < 0xc0)
		return 1 + rnd % 64;
	return 1 + rnd % 4096;
}

static struct cgi_config fcfg;
static char *no_env[] = { NULL };
static struct sockaddr_un addr;
static socklen_t addr_len;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct stat st;
	int fd;

	(void)argc, (void)argv;
	/* The guarantee that no request can reach a script. */
	if (stat(NO_DIR, &st) == 0 || errno != ENOENT) {
		fprintf(stderr, "cgi_request: %s must not exist\n", NO_DIR);
		abort();
	}
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The worker's listening socket is fd 0: an abstract unix socket
	 * (no file), named after this process.
	 */
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
	    "spawn-fuzz-cgi-%ld", (long)getpid());
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(addr.sun_path + 1));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, addr_len) < 0 ||
	    listen(fd, 16) < 0 || dup2(fd, 0) < 0 || set_flags(0) < 0) {
		perror("cgi_request: listening socket");
		abort();
	}
	close(fd);
	fcfg.path = NULL;
	fcfg.argv = NULL;
	fcfg.dir = NO_DIR;
	fcfg.env = no_env;
	fcfg.timeout = SPAWN_DEFAULT_CGI_TIMEOUT;
	fcfg.drain_signal = SIGTERM;
	fcfg.drain_ms = 10000;
	fcfg.allow = NULL;
	return 0;
}

/* Every static of cgi.c back to what cgi_worker starts with. */
static void
reset_worker(int max)
{
	fcfg.max = max;
	cfg = &fcfg;
	conns = NULL;
	nconns = 0;
	maxconns = max * 4 > 64 ? max * 4 : 64;
	nprocs = 0;
	draining = 0;
	drain_deadline = 0;
	accept_paused_until = 0;
	listening = 1;
	nofile = 1024;
	open_fds = 5;
	nallowed = 0;
	self = getpid();
	if ((procs = calloc((size_t)max, sizeof(*procs))) == NULL)
		abort();
}

/* What came back against what the model says must. */
static void
compare(const struct model *m, const struct out *o, int settled_open)
{
	int i, exact;

	if (m->want.overflow || o->got.overflow)
		return;
	/* Past a NO_KEEP stop the bridge may still parse what it has read. */
	if (m->stop == NO_KEEP && m->tail)
		return;
	/* A request whose body is still open holds the output (by design). */
	exact = m->stop != BAD && !m->in_open;
	CHECK(o->got.n <= m->want.n, "no more answers than the model");
	for (i = 0; i < o->got.n; i++)
		CHECK(o->got.ev[i] == m->want.ev[i],
		    "answers in the model's order");
	if (exact)
		CHECK(o->got.n == m->want.n, "every answer the model expects");
	if (m->stop == BAD)
		CHECK(!settled_open, "closed after a malformed record");
	else if (m->stop == NO_KEEP)
		CHECK(!settled_open, "closed after a request without KEEP_CONN");
	else if (m->stop == GOING)
		CHECK(settled_open, "kept open while the client behaves");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct conn *c;
	struct out o;
	const uint8_t *in;
	size_t inlen, sent = 0, chunk, iter, bound;
	ssize_t n;
	int client, mode, end, fd, i, moved, settled_open;

	if (size < 2)
		return 0;
	mode = data[0];
	end = data[1] & 3;
	in = data + 2;
	inlen = size - 2;
	rnd = 0x9e3779b9u ^ ((unsigned int)mode * 0x01000193u);
	memset(&o, 0, sizeof(o));
	log_lines = 0;
	model_run(&m, in, inlen);
	reset_worker(1 + (data[1] >> 2) % 8);

	/* A client connects; the worker accepts it as it always does. */
	if ((client = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(client, (struct sockaddr *)&addr, addr_len) < 0)
		abort();
	accept_conns();
	c = conns;
	CHECK(c != NULL && c->fd >= 0 && c->next == NULL && nconns == 1,
	    "one connection accepted");
	fd = c->fd;

	bound = 256 + 4 * inlen;
	for (iter = 0; iter < bound && c->fd >= 0; iter++) {
		moved = 0;
		if (sent < inlen) {
			chunk = next_chunk(mode);
			if (chunk > inlen - sent)
				chunk = inlen - sent;
			n = send(client, in + sent, chunk,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				sent += (size_t)n;
				moved = 1;
			}
		}
		moved |= step(c);
		moved |= drain(client, &o) > 0;
		if (!moved && sent == inlen)
			break;
	}
	CHECK(iter < bound, "the connection settles");
	settled_open = c->fd >= 0;
	compare(&m, &o, settled_open);

	/* How it ends. */
	switch (c->fd < 0 ? -1 : end) {
	case 0:
		/* The web server closes its end (nginx's only abort). */
		shutdown(client, SHUT_WR);
		for (i = 0; i < 64 && c->fd >= 0; i++) {
			step(c);
			drain(client, &o);
		}
		break;
	case 1:
		/* --cgi-timeout passes with no progress. */
		deadlines(mono_ms() + (long long)fcfg.timeout * 1000 + 1);
		CHECK(c->fd < 0, "timeout closes the connection");
		break;
	case 2:
		/* SIGTERM: drain, then the drain deadline. */
		begin_drain();
		for (i = 0; i < 64 && c->fd >= 0; i++)
			if (!(step(c) | (drain(client, &o) > 0)))
				break;
		if (c->fd >= 0)
			deadlines(drain_deadline + 1);
		CHECK(c->fd < 0, "drain deadline closes the connection");
		break;
	default:
		break;
	}
	if (c->fd >= 0)
		conn_close(c);
	drain(client, &o);

	/* Nothing left: no descriptor, no buffer, no count. */
	CHECK(c->fd == -1 && c->in_fd == -1 && c->out_fd == -1 &&
	    c->err_fd == -1, "descriptors closed");
	CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "socket closed");
	CHECK(c->obuf == NULL && c->params == NULL && c->hbuf == NULL,
	    "buffers freed");
	CHECK(nconns == 0 && nprocs == 0 && open_fds == 5,
	    "counters back to zero");
	CHECK(o.len == 0, "output ends on a record boundary");

	close(client);
	free(o.buf);
	free(c);
	free(procs);
	procs = NULL;
	conns = NULL;
	return 0;
}
