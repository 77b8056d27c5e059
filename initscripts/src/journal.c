/* journal.c: the guest's console as journal lines.
 *
 * Run by its systemd unit, umlctl's standard output is a stream to the
 * journal (systemd.exec(5): $JOURNAL_STREAM names its device and inode).
 * The supervisor keeps that stream and copies the console to it, so that
 * `journalctl -u uml-skas@NAME` shows what the guest printed, rotated
 * and rate-limited by journald; STATE/console.log stays as well.
 *
 * The journal keeps a line holding control characters or bad UTF-8 as a
 * blob, so carriage returns, escape sequences (colours, cursor moves,
 * titles) and other control characters are dropped and a byte that is
 * not UTF-8, or a C1 control character, becomes '?'; a line ends at '\n' or at JLINE_MAX bytes.  The
 * unit sets SyslogLevelPrefix=no: a guest printing "<0>" gets no
 * emergency priority.  Writes never block the console (MSG_DONTWAIT): a
 * line the journal cannot take at once is lost, not waited for. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

int journal_open(struct jstream *j)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDOUT_FILENO, &st) < 0 ||
	    (unsigned long long)st.st_dev != dev || (unsigned long long)st.st_ino != ino)
		return -1;
	j->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	return j->fd < 0 ? -1 : 0;
}

/* One whole line or nothing: the stream is shared with nobody, but a
 * short write would glue half a line to the next one. */
static void emit(struct jstream *j)
{
	ssize_t w = send(j->fd, j->line, j->n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0 && errno == ENOTSOCK)   /* a file, in the tests */
		w = write(j->fd, j->line, j->n);
	if (w >= 0 && (size_t)w < j->n &&
	    send(j->fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
	}
}

void journal_flush(struct jstream *j)
{
	if (j->fd < 0 || j->n == 0)
		return;
	j->line[j->n++] = '\n';
	emit(j);
	j->n = 0;
	j->utf8 = 0;
}

static void put(struct jstream *j, char c)
{
	j->line[j->n++] = c;
	if (j->n >= JLINE_MAX - 8)
		journal_flush(j);
}

/* esc: 0 text, 1 after ESC, 2 in a CSI sequence ("ESC [ ... final byte"),
 * 3 in an OSC string ("ESC ] ... BEL" or "... ESC \\"); a newline ends
 * any of them, so no line is swallowed.  utf8: continuation bytes still
 * due, with the sequence so far in u8. */
void journal_feed(struct jstream *j, const char *buf, size_t n)
{
	if (j->fd < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			j->esc = 0;
			if (j->utf8)
				put(j, '?');
			j->utf8 = 0;
			if (j->n)
				journal_flush(j);
			continue;
		}
		if (j->esc == 1) {
			j->esc = c == '[' ? 2 : c == ']' ? 3 : 0;
			continue;
		}
		if (j->esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				j->esc = 0;
			continue;
		}
		if (j->esc == 3) {
			if (c == 0x07)
				j->esc = 0;
			else if (c == 0x1b)
				j->esc = 1;
			continue;
		}
		if (j->utf8) {
			if ((c & 0xc0) == 0x80) {
				j->u8[j->u8n++] = (char)c;
				if (--j->utf8 != 0)
					continue;
				/* U+0080-U+009F: C1 controls (CSI among
				 * them), which some terminals obey */
				if (j->u8n == 2 && (unsigned char)j->u8[0] == 0xc2 &&
				    (unsigned char)j->u8[1] < 0xa0) {
					put(j, '?');
					continue;
				}
				for (int k = 0; k < j->u8n; k++)
					put(j, j->u8[k]);
				continue;
			}
			put(j, '?');   /* cut short: not UTF-8 */
			j->utf8 = 0;
		}
		if (c == 0x1b)
			j->esc = 1;
		else if (c == '\t')
			put(j, ' ');
		else if (c >= 0x20 && c < 0x7f)
			put(j, (char)c);
		else if (c >= 0xc2 && c <= 0xf4) {
			j->utf8 = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
			j->u8[0] = (char)c;
			j->u8n = 1;
		} else if (c >= 0x80) {
			put(j, '?');
		}
	}
}
