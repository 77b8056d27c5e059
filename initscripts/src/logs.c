/* logs.c: `umlctl logs [-n N] [-f] NAME`: the instance's console log
 * (STATE/NAME/console.log, which the supervisor appends to and rotates to
 * console.log.1 past LOG_MAX).
 *
 * What a guest prints reaches the reader's terminal, and a guest is not
 * trusted: the bytes go through the journal's filter (journal.c), which
 * drops escape sequences and control characters, so a guest cannot set
 * the terminal's title, move its cursor or answer back through it.
 *
 * -f follows like tail -F: it polls (a quarter second; inotify would need
 * the folder watched as well to see the rotation, for no gain a person
 * could see), reads the old file to its end when the log is rotated, then
 * the new one, and starts again from the top of a file that shrank. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

#define CHUNK 65536

/* The offset where the last `lines` lines of fd start (whole file when
 * there are fewer).  A last line without '\n' counts as a line. */
static off_t tail_start(int fd, off_t size, long lines)
{
	static char buf[CHUNK];
	off_t pos = size;
	long seen = 0;
	bool last = true;   /* the byte at size - 1 */

	if (lines == 0)
		return size;
	while (pos > 0) {
		size_t n = pos > CHUNK ? CHUNK : (size_t)pos;
		ssize_t r = pread(fd, buf, n, pos - (off_t)n);

		if (r != (ssize_t)n)
			return 0;
		for (size_t i = n; i-- > 0;) {
			/* a newline ends the line before it, except the
			 * file's final one (no empty line after it) */
			if (buf[i] == '\n' && !(last && i == n - 1) && ++seen == lines)
				return pos - (off_t)n + (off_t)i + 1;
			last = false;
		}
		pos -= (off_t)n;
	}
	return 0;
}

/* Copies fd from *pos to its end through the filter. */
static int copy(int fd, off_t *pos, struct jstream *out)
{
	static char buf[CHUNK];

	for (;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), *pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		journal_feed(out, buf, (size_t)r);
		*pos += r;
	}
}

int instance_logs(const char *name, long lines, bool follow)
{
	char path[PATH_LEN];
	struct jstream out;
	struct stat st, now;
	off_t pos;
	int fd;

	if (state_file(name, "console.log", path, sizeof(path)) < 0)
		return EX_FAIL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("logs: %s: %s: %s%s", name, path, strerror(errno),
		    errno == ENOENT ? " (the instance has not run yet)" : "");
		return errno == EACCES ? EX_FAIL : EX_NOTRUNNING;
	}
	if (fstat(fd, &st) < 0) {
		err("logs: %s: %s: %s", name, path, strerror(errno));
		close(fd);
		return EX_FAIL;
	}
	memset(&out, 0, sizeof(out));
	out.fd = STDOUT_FILENO;
	pos = lines < 0 ? 0 : tail_start(fd, st.st_size, lines);
	if (copy(fd, &pos, &out) < 0) {
		err("logs: %s: %s: %s", name, path, strerror(errno));
		close(fd);
		return EX_FAIL;
	}
	while (follow) {
		sleep_ms(250);
		if (stat(path, &now) == 0 && (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			if (nfd < 0)
				continue;   /* between the rename and the new file */
			copy(fd, &pos, &out);   /* the rest of the rotated file */
			close(fd);
			fd = nfd;
			fstat(fd, &st);
			pos = 0;
		} else if (fstat(fd, &now) == 0 && now.st_size < pos) {
			pos = 0;   /* truncated */
		}
		if (copy(fd, &pos, &out) < 0) {
			err("logs: %s: %s: %s", name, path, strerror(errno));
			close(fd);
			return EX_FAIL;
		}
	}
	journal_flush(&out);
	close(fd);
	return EX_OK;
}
