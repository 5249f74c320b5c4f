# spawn: a FastCGI launcher. Plain make; see README.md.
PREFIX ?= /usr/local
MANPREFIX ?= $(PREFIX)/share/man
CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-overlength-strings
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# make SAN=1: spawn and the unit tests under ASan and UBSan. The test tools
# (probe, fcgiclient) stay plain: they are the instruments, not the subject,
# and a sanitizer's own exit-time work in them only adds noise to timings.
ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer
endif
ALL_CFLAGS = $(WARNINGS) -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS)
TOOLS = tests/probe tests/fcgiclient tests/unit
TOOL_SRC = tests/tool.c spawn.c

all: spawn

spawn: spawn.c spawn.h
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ spawn.c

tests/unit: tests/unit.c spawn.c spawn.h
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/unit.c spawn.c

tests/probe: tests/probe.c $(TOOL_SRC) tests/tool.h spawn.h
	$(CC) $(ALL_CFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/probe.c $(TOOL_SRC)

tests/fcgiclient: tests/fcgiclient.c $(TOOL_SRC) tests/tool.h spawn.h
	$(CC) $(ALL_CFLAGS) -DSPAWN_NO_MAIN -I. $(LDFLAGS) -o $@ \
		tests/fcgiclient.c $(TOOL_SRC)

tools: spawn $(TOOLS)

check: tools
	sh tests/run.sh

bench: tools
	sh tests/bench/run.sh

demo: tools
	sh tests/demo.sh

install: spawn
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1
	cp -f spawn $(DESTDIR)$(PREFIX)/bin/spawn
	chmod 755 $(DESTDIR)$(PREFIX)/bin/spawn
	cp -f spawn.1 $(DESTDIR)$(MANPREFIX)/man1/spawn.1
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/spawn.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/spawn $(DESTDIR)$(MANPREFIX)/man1/spawn.1

clean:
	rm -f spawn $(TOOLS)

.PHONY: all tools check bench demo install uninstall clean
