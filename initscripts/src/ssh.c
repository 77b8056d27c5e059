/* ssh.c: `umlctl ssh NAME [COMMAND...]`: ssh to an instance's address,
 * with its host keys checked against those the instance printed on its
 * console at boot.
 *
 * The debian image prints its SSH host keys on the console early at
 * every boot, one block of lines from a root service that runs before
 * sshd: "uml-skas: host key ..." (fingerprints, for people), "uml-skas:
 * host public key TYPE BASE64" (for us) and "uml-skas: host keys end".
 * journald puts the service's name and pid before each line on the
 * console ("ssh-keygen[156]: uml-skas: ..."), and other lines (systemd's
 * "[  OK  ] Finished ...") may come between them.  The console is a
 * channel from the guest to the host that the network cannot touch, so a
 * key read there is the instance's own: ssh gets a known_hosts of just
 * those keys under the alias NAME.uml, with StrictHostKeyChecking=yes.
 * The file is a private temporary one (mkstemp, removed when ssh ends;
 * ssh closes inherited descriptors, so a memfd would not do), which is
 * why umlctl waits for ssh instead of becoming it.  A machine answering on the
 * instance's address with another key is refused, and nothing is asked.
 *
 * Which lines count.  The console log mixes what umlctl writes with what
 * the guest prints, so nothing in it marks the boot: the supervisor
 * records where this boot's output begins (device, inode, offset of
 * console.log) in RUN/NAME/console.start, which is root's.  From there,
 * only the first block counts: the first complete line (ending in a
 * newline) that begins, after an optional "NAME[PID]: " prefix, with
 * "uml-skas: host " opens it and fixes the prefix; lines with that very
 * prefix and mark belong to it (others are skipped) up to its end line.
 * Key lines a guest user prints later (wall to a console where root is
 * logged in, say) come after the end and change nothing.  A log rotated since the start (supervisor.c renames it to
 * console.log.1 at LOG_MAX) is followed into the old file.  A known_hosts
 * line is built from a type of a fixed list and a base64 word, never
 * copied.  The keys are those of the boot umlctl started: a reboot from
 * inside the guest (UML restarts in the same process) prints them again
 * after the block and is not followed; keys are kept in the instance's
 * disk, so they do not change.
 *
 * Without keys (an image that prints none, a caller who may not read the
 * log or RUN), ssh checks the host key the usual way, with the user's
 * known_hosts, and umlctl says so.
 *
 * Right after a start the keys and sshd come after the DHCP address: for
 * an instance started less than BOOT_GRACE seconds ago, umlctl waits up
 * to KEY_WAIT seconds for its key block to end (saying so; an image
 * without the end line gets the keys seen by then), and ssh tries to connect once a second for
 * CONNECT_TRIES seconds (ConnectionAttempts), so that `umlctl start NAME
 * --wait-ip && umlctl ssh NAME` works.  An instance up for longer gets
 * no wait and one try. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define BLOCK_MARK "uml-skas: host "
#define KEY_MARK "uml-skas: host public key "
#define END_MARK "uml-skas: host keys end"
#define PREFIX_LEN 64
#define MAX_KEYS 4
#define KEY_LEN 1024
#define BOOT_GRACE 300
#define KEY_WAIT 120
#define CONNECT_TRIES "60"
#define CONNECT_TIMEOUT "ConnectTimeout=10"

static const char *const key_types[MAX_KEYS] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ssh-rsa",
};

struct host_keys {
	char key[MAX_KEYS][KEY_LEN];
	int n;
	bool in_block, done;      /* the block began; its end line came */
	char prefix[PREFIX_LEN];  /* "ssh-keygen[156]: " or "" */
};

/* The length of a journald prefix "IDENT[PID]: " at the start of line
 * (0: none), or -1 if the line does not have the block's mark after it. */
static int marked(const char *line)
{
	size_t id = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
	size_t n = 0;

	if (!strncmp(line, BLOCK_MARK, strlen(BLOCK_MARK)))
		return 0;
	if (id > 0 && line[id] == '[') {
		size_t pid = strspn(line + id + 1, "0123456789");

		if (pid > 0 && !strncmp(line + id + 1 + pid, "]: ", 3))
			n = id + 1 + pid + 3;
	}
	if (n == 0 || n >= PREFIX_LEN || strncmp(line + n, BLOCK_MARK, strlen(BLOCK_MARK)))
		return -1;
	return (int)n;
}

static bool base64_word(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");

	return n > 16 && n < KEY_LEN - 64 && s[n] == '\0';
}

/* One complete line of this boot's console output (newline removed). */
static void key_line(struct host_keys *hk, char *line)
{
	char t[32], k[KEY_LEN];

	int p;

	if (hk->done)
		return;
	line += strspn(line, "\r");
	line[strcspn(line, "\r")] = '\0';
	p = marked(line);
	if (p < 0)
		return;
	if (!hk->in_block) {
		hk->in_block = true;
		snprintf(hk->prefix, sizeof(hk->prefix), "%.*s", p, line);
	} else if ((size_t)p != strlen(hk->prefix) || strncmp(line, hk->prefix, (size_t)p)) {
		return;		/* not the block's writer */
	}
	line += p;
	if (!strcmp(line, END_MARK)) {
		hk->done = true;
		return;
	}
	if (strncmp(line, KEY_MARK, strlen(KEY_MARK)) ||
	    sscanf(line + strlen(KEY_MARK), "%31s %1023s", t, k) != 2 || !base64_word(k))
		return;
	for (int i = 0; i < MAX_KEYS; i++) {
		if (!strcmp(t, key_types[i]) && !hk->key[i][0]) {
			snprintf(hk->key[i], KEY_LEN, "%s", k);
			hk->n++;
		}
	}
}

/* Feeds the complete lines of path from offset on; false if it cannot be
 * read or is not the file (dev, ino). */
static bool read_from(struct host_keys *hk, const char *path, dev_t dev, ino_t ino,
		      long long offset)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (fstat(fileno(f), &st) < 0 || st.st_dev != dev || st.st_ino != ino ||
	    fseeko(f, offset, SEEK_SET) < 0) {
		fclose(f);
		return false;
	}
	while (!hk->done && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		line[n - 1] = '\0';
		key_line(hk, line);
	}
	free(line);
	fclose(f);
	return true;
}

/* The host keys of the boot umlctl started (see the top of the file).
 * Returns how many, or -1 when the log or the start record is not
 * readable. */
static int boot_host_keys(const char *name, struct host_keys *hk)
{
	char run[PATH_LEN], log[PATH_LEN], old[PATH_LEN + 8], text[128];
	unsigned long long dev, ino;
	long long offset;
	struct stat st;

	memset(hk, 0, sizeof(*hk));
	if (run_dir(run, sizeof(run), name) < 0 ||
	    snprintf_ok(run + strlen(run), sizeof(run) - strlen(run), "/console.start") < 0 ||
	    state_dir(log, sizeof(log), name) < 0 ||
	    snprintf_ok(log + strlen(log), sizeof(log) - strlen(log), "/console.log") < 0 ||
	    read_file(run, text, sizeof(text)) < 0 ||
	    sscanf(text, "%llu %llu %lld", &dev, &ino, &offset) != 3)
		return -1;
	snprintf(old, sizeof(old), "%s.1", log);
	if (stat(log, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
		if (!read_from(hk, log, (dev_t)dev, (ino_t)ino, offset))
			return -1;
	} else if (stat(old, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
		/* rotated since the start: the rest of the old file, then the new */
		if (!read_from(hk, old, (dev_t)dev, (ino_t)ino, offset))
			return -1;
		if (!hk->done && stat(log, &st) == 0)
			read_from(hk, log, st.st_dev, st.st_ino, 0);
	} else {
		return -1;
	}
	return hk->n;
}

int instance_ssh(const struct global_conf *g, const char *name, const char *user,
		 char **words, int nwords)
{
	static struct instance_conf ic;
	static struct host_keys hk;
	char ip[64], alias[NAME_MAX_LEN + 8], alias_opt[NAME_MAX_LEN + 24];
	char known[PATH_LEN + 32], tmp[PATH_LEN];
	const char *tmpdir = getenv("TMPDIR");
	char *argv[32 + 64];
	int argc = 0, nkeys, fd = -1, st, rc;
	pid_t pid;
	struct inst_info info;
	bool booting;

	if (config_load_instance(g, name, &ic) < 0)
		return EX_CONFIG;
	if (!ic.nets[0].used) {
		err("ssh: %s: has no network interface", name);
		return EX_FAIL;
	}
	instance_info(name, &info);
	if (info.state != INST_RUNNING) {
		err("ssh: %s: not running (umlctl start %s --wait-ip)", name, name);
		return EX_NOTRUNNING;
	}
	if (!net_lease_address(&ic.nets[0], ip, sizeof(ip))) {
		err("ssh: %s: no DHCP address yet (umlctl status %s)", name, name);
		return EX_NOTRUNNING;
	}
	if (nwords > 64) {
		err("ssh: too many words in the command");
		return EX_USAGE;
	}
	snprintf(alias, sizeof(alias), "%s.uml", name);
	snprintf(alias_opt, sizeof(alias_opt), "HostKeyAlias=%s", alias);

	/* Right after a start: wait until the whole key block is there. */
	booting = time(NULL) - info.started <= BOOT_GRACE;
	nkeys = boot_host_keys(name, &hk);
	for (int waited = 0; booting && nkeys >= 0 && !hk.done && waited < KEY_WAIT; waited++) {
		if (waited == 3)
			err("ssh: %s: waiting for its host keys on its console (it is booting)", name);
		sleep(1);
		nkeys = boot_host_keys(name, &hk);
	}
	if (nkeys > 0) {
		if (!tmpdir || tmpdir[0] != '/' ||
		    snprintf_ok(tmp, sizeof(tmp), "%s/umlctl-known-hosts.XXXXXX", tmpdir) < 0)
			snprintf(tmp, sizeof(tmp), "/tmp/umlctl-known-hosts.XXXXXX");
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			err("ssh: %s: %s", tmp, strerror(errno));
			return EX_FAIL;
		}
		for (int i = 0; i < MAX_KEYS; i++) {
			if (!hk.key[i][0])
				continue;
			if (dprintf(fd, "%s %s %s\n", alias, key_types[i], hk.key[i]) < 0) {
				err("ssh: %s: %s", tmp, strerror(errno));
				close(fd);
				unlink(tmp);
				return EX_FAIL;
			}
		}
		close(fd);
		snprintf(known, sizeof(known), "UserKnownHostsFile=%s", tmp);
	} else {
		err("ssh: %s: %s; ssh checks the host key the usual way (your known_hosts)", name,
		    nkeys < 0 ? "its console log is not readable here" :
		    "it printed no host keys on its console at this boot (an image without them?)");
	}

	argv[argc++] = "ssh";
	argv[argc++] = "-l";
	argv[argc++] = (char *)user;
	if (fd >= 0) {
		argv[argc++] = "-o";
		argv[argc++] = known;
		argv[argc++] = "-o";
		argv[argc++] = "GlobalKnownHostsFile=/dev/null";
		argv[argc++] = "-o";
		argv[argc++] = "StrictHostKeyChecking=yes";
		argv[argc++] = "-o";
		argv[argc++] = "CheckHostIP=no";
	}
	argv[argc++] = "-o";
	argv[argc++] = alias_opt;
	argv[argc++] = "-o";
	argv[argc++] = booting ? "ConnectionAttempts=" CONNECT_TRIES : "ConnectionAttempts=1";
	argv[argc++] = "-o";
	argv[argc++] = CONNECT_TIMEOUT;
	argv[argc++] = "--";
	argv[argc++] = ip;
	for (int i = 0; i < nwords; i++)
		argv[argc++] = words[i];
	argv[argc] = NULL;
	fflush(NULL);
	close_held_locks();
	/* Like system(): Ctrl-C and Ctrl-\ are ssh's, umlctl only waits. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp("ssh", argv);
		err("ssh: cannot run ssh: %s%s", strerror(errno),
		    errno == ENOENT ? " (install openssh-client)" : "");
		_exit(127);
	}
	if (pid < 0) {
		err("ssh: fork: %s", strerror(errno));
		rc = EX_FAIL;
	} else {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (fd >= 0)
		unlink(tmp);
	return rc;
}
