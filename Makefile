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
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = $(WARNINGS) -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS)
TOOLS = tests/probe tests/fcgiclient tests/unit

all: spawn

spawn: spawn.c spawn.h
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ spawn.c

tests/libspawn.o: spawn.c spawn.h
	$(CC) $(ALL_CFLAGS) -DSPAWN_NO_MAIN -c -o $@ spawn.c

tests/probe: tests/probe.c tests/tool.c tests/tool.h tests/libspawn.o spawn.h
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ tests/probe.c tests/tool.c tests/libspawn.o

tests/fcgiclient: tests/fcgiclient.c tests/tool.c tests/tool.h tests/libspawn.o spawn.h
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ tests/fcgiclient.c tests/tool.c tests/libspawn.o

tests/unit: tests/unit.c tests/libspawn.o spawn.h
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ tests/unit.c tests/libspawn.o

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
	rm -f spawn tests/libspawn.o $(TOOLS)

.PHONY: all tools check bench demo install uninstall clean
