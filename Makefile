# spawn: a FastCGI launcher. Plain make (GNU make and BSD make alike);
# see README.md.
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
CC = cc
CFLAGS = -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-overlength-strings
# make WERROR=1: warnings are errors (CI). make SAN=1: spawn and the unit
# tests under ASan and UBSan. The test tools (probe, fcgiclient) stay
# plain: they are the instruments, not the subject, and a sanitizer's own
# exit-time work in them only adds noise to timings. No conditionals: the
# flag's value picks a variable, which both makes understand.
WERROR_1 = -Werror
SAN_1 = -fsanitize=address,undefined -fno-omit-frame-pointer
SANFLAGS = $(SAN_$(SAN))
ALL_CFLAGS = $(WARNINGS) $(WERROR_$(WERROR)) -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS)
SRC = spawn.c fcgi.c cgi.c pool.c
HDR = spawn.h fcgi.h pool.h
TOOLS = tests/probe tests/fcgiclient tests/unit tests/unit-pool
TOOL_SRC = tests/tool.c spawn.c fcgi.c cgi.c pool.c

all: spawn

spawn: $(SRC) $(HDR)
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $(SRC)

tests/unit: tests/unit.c $(SRC) $(HDR)
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/unit.c $(SRC)

# pool.c against the running kernel: listeners, children in accept().
tests/unit-pool: tests/unit-pool.c pool.c pool.h
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -I. $(LDFLAGS) -o $@ \
		tests/unit-pool.c pool.c

tests/probe: tests/probe.c $(TOOL_SRC) tests/tool.h $(HDR)
	$(CC) $(ALL_CFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/probe.c $(TOOL_SRC)

tests/fcgiclient: tests/fcgiclient.c $(TOOL_SRC) tests/tool.h $(HDR)
	$(CC) $(ALL_CFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/fcgiclient.c $(TOOL_SRC)

# A statically linked spawn, against musl where musl-gcc is installed
# (glibc's static getpwnam needs its shared NSS modules at run time).
static: $(SRC) $(HDR)
	cc=$(CC); if command -v musl-gcc >/dev/null 2>&1; then cc=musl-gcc; fi; \
	$$cc $(ALL_CFLAGS) -static $(LDFLAGS) -o spawn $(SRC)

tools: spawn $(TOOLS)

check: tools
	sh tests/run.sh

bench: tools
	sh tests/bench/run.sh

demo: tools
	sh tests/demo.sh

# Not part of check: 10,000 respawns and 100 reloads under load, and
# 1,000,000 requests through the bridge (SOAK_SHORT=1: a short run).
soak: tools
	sh tests/soak/run.sh

valgrind: tools
	sh tests/valgrind.sh

# libFuzzer harnesses (clang and its runtime, libclang-rt-dev), each run
# for FUZZ_SECONDS (60), FUZZ_JOBS at once; see tests/fuzz/README.md.
FUZZ_CC = clang
fuzz:
	CC=$(FUZZ_CC) sh tests/fuzz/run.sh

install: spawn
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1
	cp -f spawn $(DESTDIR)$(PREFIX)/bin/spawn
	chmod 755 $(DESTDIR)$(PREFIX)/bin/spawn
	cp -f man/spawn.1 $(DESTDIR)$(MANPREFIX)/man1/spawn.1
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/spawn.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/spawn $(DESTDIR)$(MANPREFIX)/man1/spawn.1

clean:
	rm -f spawn $(TOOLS)

.PHONY: all static tools check bench demo soak valgrind fuzz install uninstall clean
