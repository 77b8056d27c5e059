/* machine.c: the instance as a machine of systemd-machined.
 *
 * When the supervisor runs in the instance's unit, it registers itself
 * with machined (RegisterMachineWithNetwork on the system bus): a machine
 * of class "vm" named after the instance, with its TAP devices as its
 * network interfaces.  `machinectl list` and `machinectl status NAME` then
 * show the instance.  machined keeps to the unit the leader runs in (it
 * creates no scope), so the unit stays the one thing that starts and stops
 * the instance.
 *
 * The leader is the supervisor, not UML: machined signals the leader for
 * `machinectl poweroff` (SIGRTMIN+4) and `reboot` (SIGINT), which the
 * supervisor turns into a clean shutdown of the guest, where UML itself
 * would die at once.
 *
 * Registration is a convenience, never a condition.  Without machined
 * (systemd-container not installed) or without a system bus the instance
 * runs unregistered and its console log says why.  The bus calls run in
 * a child of the supervisor with a time limit (MACHINE_CALL_LIMIT, three
 * times as long to register: a call that times out while machined is
 * being activated at boot is tried again), so a slow bus never stalls the
 * console or a stop.  A call cut off by that
 * limit may still be carried out: the supervisor unregisters at the end
 * whenever it tried to register, and a registration that finds a machine
 * of our own unit left from before removes it and tries again once.
 * Only a machine whose unit is the instance's is ever unregistered.  A
 * registration still queued on the bus when the supervisor gives up can
 * come after its unregistration: machined drops that machine when the
 * unit stops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "umlctl.h"

#define BUS_TIMEOUT_USEC (15ULL * 1000 * 1000)
/* Registrations at boot meet machined while D-Bus still activates it,
 * which under emulation took longer than one call's time (seen in the
 * e2e VM with two instances starting at once): a timed-out call is
 * tried again, within the helper's limit. */
#define REGISTER_TRIES 3
#define SYSTEM_BUS "unix:path=/run/dbus/system_bus_socket"

static const char machined[] = "org.freedesktop.machine1";
static const char machined_path[] = "/org/freedesktop/machine1";
static const char machined_manager[] = "org.freedesktop.machine1.Manager";

bool machine_registration_wanted(void)
{
	const char *root = getenv("UMLSKAS_ROOT");

	return !(root && root[0]) && systemd_inside_unit();
}

static void describe(int r, const sd_bus_error *error, char *why, size_t len)
{
	if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN))
		snprintf(why, len, "systemd-machined is not available (install systemd-container)");
	else if (sd_bus_error_is_set(error) && error->message)
		snprintf(why, len, "%s", error->message);
	else
		snprintf(why, len, "%s", strerror(-r));
}

/* A connection to the system bus whose every wait, the Hello included,
 * is bounded by BUS_TIMEOUT_USEC (sd_bus_open_system would send Hello
 * before a timeout can be set).  resolved.c uses it too. */
sd_bus *system_bus_open(char *why, size_t len)
{
	const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	sd_bus *bus = NULL;
	int r = sd_bus_new(&bus);

	if (r >= 0)
		r = sd_bus_set_address(bus, address && address[0] ? address : SYSTEM_BUS);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		snprintf(why, len, "no system bus: %s", strerror(-r));
		sd_bus_unref(bus);
		return NULL;
	}
	return bus;
}

static int call_register(sd_bus *bus, const struct instance_conf *ic,
			 pid_t leader, sd_bus_error *error)
{
	sd_bus_message *call = NULL, *reply = NULL;
	int32_t ifindex[MAX_NETS];
	int n = 0, r;

	/* TAP devices are named after their [netN] section. */
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];
		unsigned int idx;

		if (!ic->nets[i].used)
			continue;
		tap_name(ic->name, i, tap);
		idx = if_nametoindex(tap);
		if (idx > 0 && idx <= INT32_MAX)
			ifindex[n++] = (int32_t)idx;
	}
	/* name, id (none: machined has no use for one here), service,
	 * class, leader, root directory (none for a VM), interfaces. */
	r = sd_bus_message_new_method_call(bus, &call, machined, machined_path,
					   machined_manager,
					   "RegisterMachineWithNetwork");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", ic->name);
	if (r >= 0)
		r = sd_bus_message_append_array(call, 'y', NULL, 0);
	if (r >= 0)
		r = sd_bus_message_append(call, "ssus", "uml-skas", "vm",
					  (uint32_t)leader, "");
	if (r >= 0)
		r = sd_bus_message_append_array(call, 'i', ifindex,
						(size_t)n * sizeof(ifindex[0]));
	if (r >= 0)
		r = sd_bus_call(bus, call, 0, error, &reply);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(call);
	return r;
}

/* Whether machine NAME belongs to NAME's unit: a registration of ours
 * that outlived its supervisor, which may go. */
static bool ours(sd_bus *bus, const char *name)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char unit[UNIT_LEN], *have = NULL;
	const char *path;
	bool mine = false;

	systemd_unit_name(name, unit);
	if (sd_bus_call_method(bus, machined, machined_path, machined_manager,
			       "GetMachine", &error, &reply, "s", name) >= 0 &&
	    sd_bus_message_read(reply, "o", &path) >= 0 &&
	    sd_bus_get_property_string(bus, machined, path,
				       "org.freedesktop.machine1.Machine",
				       "Unit", NULL, &have) >= 0)
		mine = !strcmp(have, unit);
	free(have);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	return mine;
}

static int call_unregister(sd_bus *bus, const char *name, sd_bus_error *error)
{
	int r = sd_bus_call_method(bus, machined, machined_path, machined_manager,
				   "UnregisterMachine", error, NULL, "s", name);

	/* Gone already: machined saw its unit or its leader end. */
	if (r < 0 && sd_bus_error_has_name(error, "org.freedesktop.machine1.NoSuchMachine")) {
		sd_bus_error_free(error);
		r = 0;
	}
	return r;
}

int machine_register(const struct instance_conf *ic, pid_t leader, char *why,
		     size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus = system_bus_open(why, len);
	int r;

	if (!bus)
		return -1;
	for (int i = 0; i < REGISTER_TRIES; i++) {
		sd_bus_error_free(&error);
		r = call_register(bus, ic, leader, &error);
		if (r != -ETIMEDOUT)
			break;
	}
	if (r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.machine1.MachineExists") &&
	    ours(bus, ic->name)) {
		sd_bus_error_free(&error);
		r = call_unregister(bus, ic->name, &error);
		if (r >= 0)
			r = call_register(bus, ic, leader, &error);
	}
	if (r < 0)
		describe(r, &error, why, len);
	sd_bus_error_free(&error);
	sd_bus_close_unref(bus);
	return r < 0 ? -1 : 0;
}

int machine_unregister(const char *name, char *why, size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus = system_bus_open(why, len);
	int r = 0;

	if (!bus)
		return -1;
	/* Never another's machine of the same name (a container "web"). */
	if (ours(bus, name))
		r = call_unregister(bus, name, &error);
	if (r < 0)
		describe(r, &error, why, len);
	sd_bus_error_free(&error);
	sd_bus_close_unref(bus);
	return r < 0 ? -1 : 0;
}
