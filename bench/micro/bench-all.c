/*
 * bench-all: runs every microbenchmark of this directory (found next to
 * argv[0]) and passes their RESULT lines through.
 *
 *   bench-all [-t MS] [-r RUNS] [-d DIR] [-m MIB] [NAME...]
 *
 * -t is each program's time budget, -d the directory of file_io, -m the
 * region of pagefault; NAMEs limit the set.  With -r RUNS the whole set runs
 * RUNS times, one round after the other (not each benchmark RUNS times in a
 * row), so that a slow drift of the machine spreads over all benchmarks.
 * A program that fails, or still runs 60 s + 10 times its budget after
 * it started (killed by SIGALRM), gives "FAILED <name> <status>" and exit
 * status 1; the others still run.  Ends with "DONE <failures>".
 */
#include "common.h"
#include <libgen.h>
#include <sys/wait.h>

static const char *const all[] = {
	"syscall", "fork_exit", "fork_exec", "pagefault", "mmap", "mprotect",
	"pipe", "thread_switch", "file_io", "tcp",
};
#define NALL (sizeof(all) / sizeof(all[0]))

static int run_one(const char *dir, const char *name, const char *budget,
		   const char *fdir, const char *mib)
{
	char path[4096];
	char *args[8];
	int n = 0, status;
	pid_t p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	args[n++] = path;
	args[n++] = "-t";
	args[n++] = (char *)budget;
	if (!strcmp(name, "file_io")) {
		args[n++] = "-d";
		args[n++] = (char *)fdir;
	} else if (!strcmp(name, "pagefault")) {
		args[n++] = "-m";
		args[n++] = (char *)mib;
	}
	args[n] = NULL;
	fflush(stdout);
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		/* A benchmark is bounded by its budget; one that hangs is
		 * killed by the alarm (it survives execv) and reported.
		 */
		alarm((unsigned int)(60 + strtol(budget, NULL, 10) / 100));
		execv(path, args);
		fprintf(stderr, "bench-all: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (waitpid(p, &status, 0) < 0)
		die("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	printf("FAILED %s %d\n", name, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 1;
}

int main(int argc, char **argv)
{
	const char *budget = "300", *fdir = "/tmp", *mib = "16";
	long runs = 1;
	char self[4096], *dir;
	int c, failures = 0;

	while ((c = getopt(argc, argv, "t:r:d:m:")) != -1) {
		switch (c) {
		case 't': parse_num(optarg, argv[0]); budget = optarg; break;
		case 'r': runs = parse_num(optarg, argv[0]); break;
		case 'd': fdir = optarg; break;
		case 'm': parse_num(optarg, argv[0]); mib = optarg; break;
		default: usage(argv[0]);
		}
	}
	for (int i = optind; i < argc; i++) {
		size_t k = 0;

		while (k < NALL && strcmp(argv[i], all[k]))
			k++;
		if (k == NALL) {
			fprintf(stderr, "bench-all: unknown benchmark '%s'\n", argv[i]);
			return 2;
		}
	}
	snprintf(self, sizeof(self), "%s", argv[0]);
	dir = dirname(self);
	for (long r = 1; r <= runs; r++) {
		printf("ROUND %ld\n", r);
		if (optind < argc) {
			for (int i = optind; i < argc; i++)
				failures += run_one(dir, argv[i], budget, fdir, mib);
		} else {
			for (size_t k = 0; k < NALL; k++)
				failures += run_one(dir, all[k], budget, fdir, mib);
		}
	}
	printf("DONE %d\n", failures);
	return failures ? 1 : 0;
}
