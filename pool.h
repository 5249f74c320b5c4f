/*
 * pool: what the system tells the supervisor about a dynamic pool: how
 * many connections wait on the listening socket, and whether a child sits
 * idle in accept(). Only Linux tells; elsewhere every function returns -1.
 * Each call reads at most one small /proc file or asks the kernel one
 * question, with no allocation and no stdio, because the supervisor asks
 * often.
 */
#ifndef POOL_H
#define POOL_H

#include <sys/types.h>
#include <stdint.h>

/*
 * Connections waiting in the accept queue of the listening socket sock
 * (TCP over IPv4 or IPv6, or a unix stream socket). Sets *cur to the
 * queue's length and *max to its backlog and returns 0; returns -1, with
 * both set to 0, where the system does not tell (not Linux, another kind
 * of socket, a socket that is not listening, an error). Never blocks
 * for more than 100 ms. A unix socket is looked up through a netlink
 * socket that is opened on first use and then kept (close-on-exec); a
 * child forked without exec inherits it and must leave it alone.
 */
int pool_listen_queue(int sock, unsigned *cur, unsigned *max);

/*
 * A unix listener's waiting connections by name: the inodes of up to nino
 * of them into ino, and how many wait into *cur. Returns how many inodes
 * it filled in, or -1 where the system does not tell (not Linux, not a
 * unix socket). The same inode in two answers is a connection that waited
 * all the time between them.
 */
int pool_listen_waiting(int sock, uint32_t *ino, int nino, unsigned *cur);

/* Closes the netlink socket kept between calls, if one was opened. */
void pool_release(void);

/*
 * 1 when process pid is blocked in accept() or accept4() on its
 * descriptor fd; 0 when it is doing anything else (running, or in another
 * system call); -1 when that cannot be told (not Linux, no /proc, no
 * permission, the process is gone, or an architecture where sockets go
 * through socketcall(2)). Looks at the main thread only.
 */
int pool_in_accept(pid_t pid, int fd);

/*
 * The number of context switches, voluntary and not, of pid's main
 * thread so far, or -1 when that cannot be told. A process that stays
 * blocked in accept() and is never woken keeps the same count.
 */
long long pool_switches(pid_t pid);

#endif
