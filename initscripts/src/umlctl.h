/* umlctl: shared declarations.  Each .c file has one job:
 *   util.c        paths, messages, running helper programs, small helpers
 *   proc.c        process identity (pid and start time), signals by pidfd
 *   lock.c        per-instance and network locks
 *   ids.c         the user each instance runs as
 *   firewall.c    openings for the bridge in the host's nftables chains
 *   config.c      reading uml-skas.conf and instances/NAME.conf (inih)
 *   mconsole.c    the UML management console protocol
 *   net.c         TAP devices, the DHCP host list, leases
 *   forward.c     port forwards (DNAT) to a running instance
 *   hostnet.c     a host network: bridge, nftables NAT, dnsmasq
 *   guard.c       what guests may send on a network with DHCP (bridge nft)
 *   supervisor.c  the process that runs one UML instance and its console
 *   instance.c    start, stop, kill and the state of one instance
 *   console.c     attaching to an instance's console
 *   create.c      create and destroy (instance files and state)
 *   systemd.c     umlctl where systemd is the init system
 *   journal.c     the console to the unit's journal
 *   logs.c        umlctl logs: the console log, filtered, followed
 *   machine.c     registration with systemd-machined
 *   resolved.c    NAME.DOMAIN resolved on the host by systemd-resolved
 *   json.c        -o json: instances and networks as JSON (json-c)
 *   exec.c        umlctl exec: a command run by the guest's agent
 *   lab.c         Kathará/Netkit lab folders as instances and networks
 *   cow.c         UML's COW disk files: their base image, copies
 *   disk.c        snapshot, revert, clone, destroy --keep-disk
 *   image.c       base images kept for the disks made on them
 *   imagecache.c  images shipped compressed, unpacked on first use
 *   main.c        the command line
 */
#ifndef UMLCTL_H
#define UMLCTL_H

#include <dirent.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/* The build sets it (the Makefile, from kernel-host/VERSION). */
#ifndef UMLCTL_VERSION
#define UMLCTL_VERSION "0"
#endif

/* Names longer than a device name allows get hashed device names
 * (net.c's tap_name, config.c's network_bridge). */
#define NAME_MAX_LEN 32
#define NAME_RULE "1-32 of a-z, 0-9 and '-', starting with a letter, not ending with '-'"
#define MAX_NETS 8        /* [net0]..[net7]; one digit in TAP names */
#define MAX_DISKS 8
#define UML_MAX_VCPUS 16  /* CONFIG_NR_CPUS of uml/config (lint checks) */
#define MAX_FORWARDS 8
#define PATH_LEN 4096
#define MAX_INSTANCES 256
#define DHCP_LEASE_SECONDS 3600  /* what dnsmasq leases for */
#define SYNC_WAIT 3              /* seconds between sysrq s+u and a kill */
/* Instance users: 0x7f000000-0x7f00ffff, between systemd's container
 * range (up to 0x6fffffff) and its foreign range (0x7ffe0000), below 2^31
 * (see ids.c). */
#define ID_FIRST_DEFAULT 2130706432u
#define ID_LAST_DEFAULT 2130771967u

/* Exit statuses (see umlctl(8)); status follows the LSB codes. */
#define EX_OK 0
#define EX_FAIL 1          /* the operation failed; status: dead */
#define EX_USAGE 2
#define EX_STOPPED 3       /* status: not running */
#define EX_CONFIG 6        /* bad or missing configuration */
#define EX_NOTRUNNING 7    /* console/mconsole: the instance is not running */

struct global_conf {
	char file[PATH_LEN];
	char bridge[16];
	char address[64];        /* bridge address, CIDR: 10.77.0.1/24 */
	char address6[64];       /* bridge IPv6 address, CIDR; "": no IPv6 */
	int address6_line, ra_line;   /* where they were set (0: default) */
	bool ra;                 /* dnsmasq announces address6's /64 (SLAAC) */
	bool nat;
	bool host_dns;           /* the host resolves NAME.DOMAIN (resolved.c) */
	bool guard;              /* guard.c checks what its guests send */
	bool dns;                /* dnsmasq answers DNS on the bridge */
	char dhcp_range[128];    /* FIRST,LAST */
	int dhcp_range_line;     /* where it was set (0: default) */
	char domain[64];
	uid_t id_first, id_last; /* instance users (ids.c) */
	char group[64];          /* their extra group: /proc/mm access */
	char kernel[PATH_LEN];
	char image_dir[PATH_LEN];
	char image[PATH_LEN];    /* default image */
	char memory[32];         /* default memory */
	char tmpdir[PATH_LEN];
	int stop_timeout;        /* seconds */
};

/* A host network the instances' interfaces are on: "default" is
 * uml-skas.conf's [network]; any other is networks/NAME.conf (its name
 * follows the instance name rule). */
#define DEFAULT_NETWORK "default"
#define MAX_NETWORKS 256
struct network {
	char name[NAME_MAX_LEN + 1];
	char file[PATH_LEN];
	char bridge[16];
	char address[64];        /* bridge address, CIDR; "": none (L2 only) */
	char address6[64];       /* bridge IPv6 address, CIDR; "": no IPv6 */
	bool ra;                 /* dnsmasq announces address6's /64 (SLAAC) */
	bool nat;                /* masquerade to the host's uplinks */
	bool dhcp;               /* dnsmasq: DHCP (and DNS) on the bridge */
	bool dns;                /* dnsmasq answers DNS too (needs dhcp) */
	bool isolated;           /* no forwarding in or out at all */
	bool host_dns;           /* the host resolves NAME.DOMAIN (resolved.c) */
	bool guard;              /* guard.c checks what its guests send */
	char dhcp_range[128];    /* FIRST,LAST */
	char domain[64];
};

struct net_conf {
	bool used;
	char mac[18];
	char address[64];        /* optional fixed DHCP address */
	int line;                /* line of the mac key (0: generated) */
	char network[NAME_MAX_LEN + 1];   /* DEFAULT_NETWORK unless set */
	int network_line;
	int address_line;
};

struct forward {
	char proto[4];            /* tcp or udp */
	int host_port, guest_port;
	int line;
};

struct instance_conf {
	char name[NAME_MAX_LEN + 1];
	char file[PATH_LEN];
	char image[PATH_LEN];     /* as written */
	char image_path[PATH_LEN];/* resolved */
	char image_zst[PATH_LEN]; /* unpacked into image_path on use; "": none */
	char memory[32];
	int vcpus;                /* virtual CPUs (cpus =), 1 by default */
	char cpu[64];             /* host CPUs to pin to; "": auto */
	bool autostart;
	bool network;             /* false: no interfaces at all */
	char append[1024];
	char ssh_key[PATH_LEN];
	char lab[NAME_MAX_LEN + 1]; /* "": not a lab's node (lab.c) */
	/* Limits of the systemd unit (systemd.c); "" when not set. */
	char memory_max[32];      /* MemoryMax= */
	char tasks_max[16];       /* TasksMax= */
	char allowed_cpus[64];    /* AllowedCPUs= */
	char restart[16];         /* Restart=: no, on-failure, always */
	char disks[MAX_DISKS][PATH_LEN];
	int ndisks;
	struct net_conf nets[MAX_NETS];
	struct forward forwards[MAX_FORWARDS];
	int nforwards;
};

/* util.c */
extern const char *prog;
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int root_path(char *out, size_t len, const char *path);  /* UMLSKAS_ROOT prefix */
int etc_dir(char *out, size_t len);
int state_dir(char *out, size_t len, const char *name);   /* name may be NULL */
int run_dir(char *out, size_t len, const char *name);     /* name may be NULL */
int uml_dir(char *out, size_t len);                        /* RUN/uml */
int instance_uml_dir(char *out, size_t len, const char *name); /* RUN/uml/NAME */
int run_cmd(char *const argv[], bool quiet);
int run_cmd_output(char *const argv[], char *out, size_t len);
int write_all(int fd, const char *buf, size_t n);
int write_all_at(int fd, const char *buf, size_t n, off_t pos);
int run_cmd_input(char *const argv[], const char *input, bool quiet);
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);
DIR *opendir_fd(int fd, const char *where);
int remove_uml_dir(const char *name);
int write_file(const char *path, const char *text, mode_t mode);
int read_file(const char *path, char *buf, size_t len);
bool pid_alive(pid_t pid);
bool valid_name(const char *name);
void name_hash_hex(const char *name, char *out, int digits);
int snprintf_ok(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
double now_s(void);
void sleep_ms(int ms);

/* ids.c */
int instance_id(const struct global_conf *g, const char *name, uid_t *id);
int instance_id_get(const char *name, uid_t *id);
int lab_group_id(const struct global_conf *g, const char *lab, gid_t *gid);
int lab_group_get(const char *lab, gid_t *gid);
int instance_extra_group(const struct global_conf *g, gid_t *gid);

/* proc.c: a process as its pid and start time */
struct proc_id {
	pid_t pid;                /* 0: none */
	unsigned long long start; /* /proc/PID/stat field 22 */
};
int proc_id_of(pid_t pid, struct proc_id *id);
bool proc_id_alive(const struct proc_id *id);
int proc_id_write(const char *path, pid_t pid);
int proc_id_read(const char *path, struct proc_id *id);
int proc_id_signal(const struct proc_id *id, int sig, bool group);
bool proc_id_wait_gone(const struct proc_id *id, int ms);
bool user_has_processes(uid_t uid);
int kill_user(uid_t uid);

/* lock.c: file descriptors of held locks, -1 on failure */
int lock_instance(const char *name);
int lock_network(void);
int lock_ids(void);
int lock_images(void);
int lock_lab(const char *name);
void unlock(int fd);
void close_held_locks(void);

/* config.c */
int config_load_global(struct global_conf *g);
int config_load_instance(const struct global_conf *g, const char *name,
			 struct instance_conf *ic);
int config_load_instance_quiet(const struct global_conf *g, const char *name,
			       struct instance_conf *ic);
int config_load_instance_unit(const struct global_conf *g, const char *name,
			      struct instance_conf *ic);
int config_instance_names(char names[][NAME_MAX_LEN + 1], int max);
int config_report_odd_files(void);
int config_check_all(const struct global_conf *g);
int config_check_macs(const struct global_conf *g,
		      const struct instance_conf *ic);
void config_default_mac(const char *name, int idx, char mac[18]);
void network_default_bridge(const char *name, char out[16]);
bool config_valid_mac(const char *v);
bool config_valid_memory(const char *v);
unsigned long long config_memory_bytes(const char *v);
int config_cpu_list(const char *v, cpu_set_t *set);
int config_max_vcpus(void);
int config_vcpus(const char *v);
int config_load_network(const struct global_conf *g, const char *name,
			struct network *n);
int config_load_network_quiet(const struct global_conf *g, const char *name,
			      struct network *n);
int config_network_names(char names[][NAME_MAX_LEN + 1], int max);
bool config_in_subnet(const char *cidr, const char *ip);
int config_check_networks(const struct global_conf *g);
int config_network_conflicts(const struct global_conf *g, const struct network *n);
/* The IPv6 subnet of a valid address6 ("fd00:1::1/64" -> "fd00:1::/64"). */
void config_subnet6(const char *cidr, char *out, size_t len);
bool config_guarded_network_up(const struct global_conf *g);
bool config_tap_names_taken(const char *name);

/* mconsole.c */
int mconsole_request(const char *name, const char *cmd, char *reply,
		     size_t len);
int mconsole_socket_path(const char *name, char *out, size_t len);
int mconsole_cad_ready(const char *name);

/* net.c */
void tap_name(const char *name, int idx, char out[16]);
bool link_exists(const char *dev);
int net_dev_conf(const char *family, const char *dev, const char *key, const char *v);
bool bridge_exists(const char *bridge);
int net_bridge_exists(const struct global_conf *g);
int net_taps_up(const struct global_conf *g, const struct instance_conf *ic,
		uid_t uid);
void net_taps_down(const char *name);
bool net_taps_left(const char *name);
int net_write_hosts(const struct global_conf *g);
int net_files(const char *network, char *run, char *leases);
long long net_lease_expiry(const struct net_conf *nc);
const char *net_lease_address(const struct net_conf *nc, char *out, size_t len);

void instance_mode_note(const struct instance_conf *ic);

/* ssh.c: exec ssh to the instance (returns only on failure). */
int instance_ssh(const struct global_conf *g, const char *name, const char *user,
		 char **words, int nwords);

/* forward.c */
int forward_up(const struct instance_conf *ic);
void forward_down(const char *name);

/* hostnet.c */
int hostnet_up(const struct global_conf *g, const struct network *n);
int hostnet_down(const struct network *n);
int hostnet_status(const struct network *n);
int hostnet_state(const struct network *n, struct proc_id *dns);
const char *hostnet_kind(const struct network *n);
bool hostnet_is_up(const struct network *n);
void hostnet_leftover(const char *name, struct network *n);
bool hostnet_dnsmasq(const struct network *n, struct proc_id *id);
bool hostnet_dnsmasq_stale(const struct network *n);
void hostnet_table(const struct network *n, char out[64]);
int hostnet_missing_table(const struct network *n, char out[80]);

/* guard.c: the sets of the guard, gathered by net_write_hosts */
struct guard_list {
	FILE *free, *ports, *statics, *dhcp, *lease_files, *v6, *addr6, *nd6;
	char *free_text, *ports_text, *statics_text, *dhcp_text, *lease_files_text;
	char *v6_text, *addr6_text, *nd6_text;
	size_t free_len, ports_len, statics_len, dhcp_len, lease_files_len;
	size_t v6_len, addr6_len, nd6_len;
	int nfree, nports, nstatic, nv6;
	bool guarded;   /* a network with DHCP was listed */
	bool failed;
};
void guard_list_init(struct guard_list *l);
enum guard_kind {
	GUARD_DHCP,     /* its MAC, its leased address */
	GUARD_STATIC,   /* its MAC (a network without DHCP) */
	GUARD_FREE,     /* anything (a lab's collision domain) */
};
void guard_list_add(struct guard_list *l, const char *tap, const char *mac,
		    enum guard_kind kind, const char *address6);
void guard_list_leases(struct guard_list *l, const char *lease_file);
void guard_list_free(struct guard_list *l);
int guard_sync(struct guard_list *l);
int guard_hook_path(char *out);
int guard_lease_hook(int argc, char **argv);
enum { GUARD_MISSING, GUARD_OLD, GUARD_CURRENT };
int guard_state(void);
bool guard_loaded(void);
bool guard_wanted(void);

/* firewall.c */
int firewall_open(const struct network *n);
int firewall_close(const struct network *n);
int firewall_unopened(const struct network *n, char *out, size_t len);

/* doctor.c */
int doctor(const struct global_conf *g);

/* systemd.c */
#define UNIT_LEN (NAME_MAX_LEN + 24)
bool systemd_in_charge(void);
bool systemd_inside_unit(void);
void systemd_unit_name(const char *name, char out[UNIT_LEN]);
bool systemd_unit_active(const char *name);
bool systemd_unit_enabled(const char *name);
bool systemd_network_enabled(void);
int systemd_network_start(const char *network, bool reload_only);
int systemd_enable(const char *name, bool on);
void systemd_forget(const char *name);
int systemd_unit_config(const struct instance_conf *ic, char *out, size_t len);
int systemd_start(const struct instance_conf *ics, int n);
int systemd_stop(char names[][NAME_MAX_LEN + 1], int n);
bool instance_autostart(const struct instance_conf *ic);

/* machine.c */
bool machine_registration_wanted(void);
#define MACHINE_CALL_LIMIT 15   /* seconds for a machined call (machine.c) */
int machine_register(const struct instance_conf *ic, pid_t leader, char *why,
		     size_t len);
int machine_unregister(const char *name, char *why, size_t len);
struct sd_bus;
struct sd_bus *system_bus_open(char *why, size_t len);

/* resolved.c */
bool resolved_link_up(const struct network *n, const char *ip, const char *marker);
void resolved_link_down(const struct network *n, const char *marker);

/* journal.c */
#define JLINE_MAX 2048
struct jstream {
	int fd;                /* -1: not run by systemd */
	int esc;               /* escape sequence state */
	int utf8, u8n;         /* UTF-8 bytes due, bytes held */
	char u8[4];
	size_t n;
	char line[JLINE_MAX];
};
int journal_open(struct jstream *j);
void journal_feed(struct jstream *j, const char *buf, size_t n);
void journal_flush(struct jstream *j);

/* supervisor.c */
#define EXIT_KILLED 75     /* the supervisor's status after umlctl kill */
struct launch {
	const struct global_conf *g;
	const struct instance_conf *ic;
	char cpus[64];     /* host CPUs UML is pinned to, as a list */
	uid_t uid;
	gid_t gid;
	gid_t extra_gid;   /* supplementary group (/proc/mm) */
	bool has_extra;
	gid_t lab_gid;     /* and a lab's node: the lab's group (labshare.c) */
	bool has_lab_gid;
	char hostfs[PATH_LEN]; /* its live /shared for UML's hostfs=, or "" */
	int ready_fd;      /* write "ok\n" or "error: ...\n" here */
	char image[PATH_LEN]; /* ubd0's image: ic's, or a kept copy (image.c) */
};
void supervise(const struct launch *l) __attribute__((noreturn));

/* cow.c: the image a COW file was made on, as it was then */
struct cow_base {
	char path[PATH_LEN];
	unsigned long long size;
	unsigned int mtime;
};
int cow_read_base(int fd, struct cow_base *b);   /* -1: not a COW file */
int cow_check(const struct cow_base *b, const char *image, char *why, size_t len);
int cow_copy(int src, int dst, bool *reflinked);

/* disk.c */
int disk_snapshot(const char *name, const char *snap);  /* snap NULL: dated */
int disk_snapshot_list(const struct global_conf *g, const char *name, bool json);
int disk_snapshot_delete(const char *name, const char *snap);
int disk_revert(const struct global_conf *g, const char *name, const char *snap);
int disk_clone(const struct global_conf *g, const char *from, const char *to);
int disk_keep_only(const char *name);
bool disk_kept(const char *name, char *state, size_t len);
int disk_base_image(const char *name, const char *image, char *use, size_t len);
int disk_bases(const char *name, int (*fn)(const struct cow_base *b, void *arg), void *arg);

/* image.c */
int image_kept_path(const struct cow_base *b, char *out, size_t len);
bool same_image_name(const char *a, const char *b);
int image_keep(char **files, int n);
int image_list(void);
void images_prune(void);

/* imagecache.c */
int image_find(const struct global_conf *g, const char *name, char *path,
	       size_t len, char *zst, size_t zlen);
int image_ready(const char *path, const char *zst);
bool image_current(const char *path, const char *zst);
int image_unpack(const struct global_conf *g, char **names, int n);

/* instance.c */
enum inst_state { INST_STOPPED, INST_RUNNING, INST_DEAD, INST_FAILED };
struct inst_info {
	enum inst_state state;
	struct proc_id sup;    /* the supervisor */
	struct proc_id uml;    /* UML's main process */
	char cpus[64];         /* host CPUs it is pinned to; "" unknown */
	time_t started;
	char version[64];      /* uml-skas that started it; "" unknown */
	char last_exit[160];
};
const char *state_name(enum inst_state s);
void instance_guest_mode(const char *name, char *out, size_t len);
void instance_guest_cpuinfo(const char *name, char *mode, size_t len, int *vcpus);
int state_file(const char *name, const char *file, char *out, size_t len);
void instance_info(const char *name, struct inst_info *info);
int instance_start(const struct global_conf *g, const struct instance_conf *ic,
		   int wait_lease);
int instance_stop_many(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		       int n, int timeout);
int instance_kill(const char *name);
int instance_cleanup(const char *name, const char *why);
int instance_status(const struct global_conf *g, const struct instance_conf *ic);
void instance_list_header(void);
void instance_list_line(const struct global_conf *g, const struct instance_conf *ic);
int instance_wait_lease(const struct instance_conf *ic, int timeout,
			char *ip, size_t len);

/* json.c: each prints one JSON document to standard output */
int json_instances(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		   int n, bool autostart_only);
int json_networks(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		  int n);

/* exec.c: the command's exit status, or 124 (timeout), EX_FAIL,
 * EX_NOTRUNNING */
int instance_exec(const char *name, const char *cmd, int timeout_s, bool quiet);

/* lab.c */
#define MAX_LAB_NODES 64
#define MAX_LAB_DOMAINS 128
#define LAB_DIR_MAX 1024
#define MAX_LAB_META 16
#define MAX_LABS 64
struct lab_iface {
	bool used;
	char domain[NAME_MAX_LEN + 1];      /* as lab.conf names it */
	char network[NAME_MAX_LEN + 1];     /* LAB-domain */
	char mac[18];                       /* "": derived */
	int line;
};
struct lab_node {
	char name[NAME_MAX_LEN + 1];
	char instance[NAME_MAX_LEN + 1];    /* LAB-NODE */
	char image[256];
	char mem[32];
	int vcpus;                          /* 0: the default (1) */
	bool bridged;                       /* a NIC on the default network */
	int bridged_idx;
	int line;
	struct lab_iface ifaces[MAX_NETS];
};
struct lab {
	char name[NAME_MAX_LEN + 1];
	char dir[PATH_LEN];                 /* the folder, resolved */
	struct lab_node nodes[MAX_LAB_NODES];
	int n;
	struct {
		char domain[NAME_MAX_LEN + 1], network[NAME_MAX_LEN + 1];
	} domains[MAX_LAB_DOMAINS];
	int ndomains;
	struct {
		char key[64], value[256];
	} meta[MAX_LAB_META];
	int nmeta;
	/* The folder as lab up found it (labshare.c writes /shared back
	 * there, as its owner, only if it is still that folder), when lab up
	 * ran, and whether the nodes share a live /shared. */
	bool owner_known;
	uid_t owner;
	unsigned long long dir_dev, dir_ino;
	long long up_time;
	bool shared_live;
};
int lab_prepare(const struct global_conf *g, const char *dir, const char *name,
		struct lab *lab);
int lab_load(const char *name, struct lab *lab);
int lab_names(char names[][NAME_MAX_LEN + 1], int max);
int lab_find(const char *dir, struct lab *lab, bool down_ok);
int lab_remove(const struct lab *lab);
bool lab_owns(const struct lab *lab, const char *instance);
struct json_object;
int lab_status(const struct lab *lab, bool json);
struct json_object *lab_status_json(const struct lab *lab);
void printable(char *s);

/* labshare.c */
int labshare_dir(const char *lab, char *out, size_t len);
int labshare_up(const struct global_conf *g, const struct lab *lab, const char *seed);
int labshare_node(const char *lab, const char *instance, gid_t *gid, char *dir, size_t len);
int labshare_budget_check(const struct lab *lab, const char *seed);
int labshare_down(const struct lab *lab);

/* logs.c */
int instance_logs(const char *name, long lines, bool follow);

/* console.c */
int console_attach(const char *name);
int console_run(const char *name, const char *cmd, int timeout);

/* create.c */
struct create_opts {
	const char *image;
	const char *memory;
	const char *vcpus;     /* --cpus */
	const char *cpu;       /* --cpus-pin */
	const char *net;       /* dhcp or none */
	const char *mac;
	const char *ssh_key;
	bool autostart;
	bool reuse_disk;       /* boot a disk destroy --keep-disk kept */
};
int instance_create(const struct global_conf *g, const char *name,
		    const struct create_opts *o);
int instance_destroy(const struct global_conf *g, const char *name, bool keep_disk);
int instance_set_autostart(const char *name, bool on);

#endif
