/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A FUSE mount whose file "f" never finishes a read (stall_fuse.c), for
 * tests of what a user-controlled blocking page-in may hold up.
 */
#ifndef SKAS_TESTS_STALL_FUSE_H
#define SKAS_TESTS_STALL_FUSE_H

#include <sys/types.h>

/*
 * Mounts the file system on @dir (as root, allow_other) and starts its
 * server; *seen_fd becomes readable with one byte per stalled READ.
 * Returns the server's pid.
 */
pid_t stall_fuse_mount(const char *dir, int *seen_fd);
/* Kills the server (failing the stalled reads) and unmounts. */
void stall_fuse_unmount(const char *dir, pid_t server);

#endif
