/* resolved.c: the host resolves NAME.DOMAIN (web1.uml) when
 * systemd-resolved runs.
 *
 * A network's dnsmasq answers for its domain on the bridge address
 * (hostnet.c).  When the network comes up, the bridge is given to
 * resolved as a link of its own (the calls networkd or `resolvectl dns`
 * would make): that address as its DNS server, "~DOMAIN" as a routing-only
 * domain, never the default route, and DOMAIN as a DNSSEC negative trust
 * anchor (dnsmasq signs nothing, and a validating host would refuse its
 * answers).  So the host asks dnsmasq for names under DOMAIN only, and
 * everything else goes where it went before.  resolved keeps a link's
 * settings across its own restarts and forgets them with the bridge.
 *
 * Only for a network whose host_dns is on (the default network's is, a
 * named network's only when its file says so: its domain is its name,
 * which may be a real top-level domain), on a bridge umlctl made (never
 * the host's own br0), and never for "local" (mDNS) or "arpa" (reverse
 * lookups).  A marker file (RUN/.../resolved) says the link was set, so
 * that turning host_dns or DHCP off reverts it, and only then.
 *
 * Convenience, never a condition: without a system bus, or with resolved
 * not running (the calls do not start it), nothing is done and `network
 * up` says how to reach the names.  Each call waits at most
 * RESOLVED_TIMEOUT_USEC (it runs under the network lock).  Not under
 * --root or UMLSKAS_ROOT (the tests' networks are in namespaces of their
 * own).  The names come from the instance files alone: dnsmasq ignores
 * the host names guests send (--dhcp-ignore-names), so no guest can
 * claim another's name. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "umlctl.h"

#define RESOLVED_TIMEOUT_USEC (2ULL * 1000 * 1000)

static const char resolve1[] = "org.freedesktop.resolve1";
static const char resolve1_path[] = "/org/freedesktop/resolve1";
static const char resolve1_manager[] = "org.freedesktop.resolve1.Manager";

static bool wanted(void)
{
	const char *root = getenv("UMLSKAS_ROOT");

	return !(root && root[0]) && geteuid() == 0;
}

/* A call to resolved's manager that does not start resolved. */
static int call(sd_bus *bus, sd_bus_message *m, sd_bus_error *error)
{
	int r = sd_bus_message_set_auto_start(m, 0);

	if (r >= 0)
		r = sd_bus_call(bus, m, 0, error, NULL);
	return r;
}

static int new_call(sd_bus *bus, sd_bus_message **m, const char *method, int32_t ifindex)
{
	int r = sd_bus_message_new_method_call(bus, m, resolve1, resolve1_path,
					       resolve1_manager, method);

	if (r >= 0)
		r = sd_bus_message_append(*m, "i", ifindex);
	return r;
}

static int set_dns(sd_bus *bus, int32_t ifindex, const struct in_addr *addr,
		   sd_bus_error *error)
{
	sd_bus_message *m = NULL;
	int r = new_call(bus, &m, "SetLinkDNS", ifindex);

	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(iay)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "iay");
	if (r >= 0)
		r = sd_bus_message_append(m, "i", (int32_t)AF_INET);
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', addr, sizeof(*addr));
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = call(bus, m, error);
	sd_bus_message_unref(m);
	return r;
}

static int set_domain(sd_bus *bus, int32_t ifindex, const char *domain,
		      sd_bus_error *error)
{
	sd_bus_message *m = NULL;
	int r = new_call(bus, &m, "SetLinkDomains", ifindex);

	/* (name, routing only) */
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sb)", 1, domain, 1);
	if (r >= 0)
		r = call(bus, m, error);
	sd_bus_message_unref(m);
	return r;
}

static int set_no_default_route(sd_bus *bus, int32_t ifindex, sd_bus_error *error)
{
	sd_bus_message *m = NULL;
	int r = new_call(bus, &m, "SetLinkDefaultRoute", ifindex);

	if (r >= 0)
		r = sd_bus_message_append(m, "b", 0);
	if (r >= 0)
		r = call(bus, m, error);
	sd_bus_message_unref(m);
	return r;
}

static int set_trust_anchor(sd_bus *bus, int32_t ifindex, const char *domain,
			    sd_bus_error *error)
{
	sd_bus_message *m = NULL;
	int r = new_call(bus, &m, "SetLinkDNSSECNegativeTrustAnchors", ifindex);

	if (r >= 0)
		r = sd_bus_message_append(m, "as", 1, domain);
	if (r >= 0)
		r = call(bus, m, error);
	sd_bus_message_unref(m);
	return r;
}

static int revert(sd_bus *bus, int32_t ifindex, sd_bus_error *error)
{
	sd_bus_message *m = NULL;
	int r = new_call(bus, &m, "RevertLink", ifindex);

	if (r >= 0)
		r = call(bus, m, error);
	sd_bus_message_unref(m);
	return r;
}

/* "local" and "arpa" and the names under them are the host's own. */
static bool special_domain(const char *d)
{
	static const char *const own[] = { "local", "arpa" };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		size_t dl = strlen(d), ol = strlen(own[i]);

		if (!strcasecmp(d, own[i]) ||
		    (dl > ol && d[dl - ol - 1] == '.' && !strcasecmp(d + dl - ol, own[i])))
			return true;
	}
	return false;
}

static void why_not(int r, const sd_bus_error *error, char *why, size_t len)
{
	if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
		snprintf(why, len, "systemd-resolved is not running");
	else if (sd_bus_error_is_set(error) && error->message)
		snprintf(why, len, "systemd-resolved: %s", error->message);
	else
		snprintf(why, len, "systemd-resolved: %s", strerror(-r));
}

/* True when resolved now sends queries for n's domain to IP on n's
 * bridge (which umlctl made; the caller knows); false (with the reason
 * said) when it does not.  MARKER is written when it does. */
bool resolved_link_up(const struct network *n, const char *ip, const char *marker)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char why[256] = "";
	struct in_addr addr;
	unsigned int idx;
	sd_bus *bus;
	int r;

	if (!wanted() || !n->dhcp || !n->host_dns || !ip[0] || !n->domain[0])
		return false;
	if (special_domain(n->domain)) {
		msg("network %s: names .%s not resolved on this host: that domain is the host's own (set another domain in %s)",
		    n->name, n->domain, n->file);
		return false;
	}
	idx = if_nametoindex(n->bridge);
	if (!idx || idx > INT32_MAX || inet_pton(AF_INET, ip, &addr) != 1)
		return false;
	bus = system_bus_open(why, sizeof(why));
	if (!bus) {
		msg("network %s: names .%s not resolved on this host (%s); ask %s for them",
		    n->name, n->domain, why, ip);
		return false;
	}
	sd_bus_set_method_call_timeout(bus, RESOLVED_TIMEOUT_USEC);
	r = set_dns(bus, (int32_t)idx, &addr, &error);
	if (r >= 0)
		r = set_domain(bus, (int32_t)idx, n->domain, &error);
	if (r >= 0)
		r = set_no_default_route(bus, (int32_t)idx, &error);
	if (r >= 0)
		r = set_trust_anchor(bus, (int32_t)idx, n->domain, &error);
	if (r < 0) {
		sd_bus_error undo = SD_BUS_ERROR_NULL;

		why_not(r, &error, why, sizeof(why));
		msg("network %s: names .%s not resolved on this host (%s); ask %s for them",
		    n->name, n->domain, why, ip);
		/* No half-made link: a DNS server without its routing-only
		 * domain could take every query of the host. */
		revert(bus, (int32_t)idx, &undo);
		sd_bus_error_free(&undo);
	} else if (write_file(marker, "", 0644) < 0) {
		err("network %s: cannot write %s", n->name, marker);
	}
	sd_bus_error_free(&error);
	sd_bus_close_unref(bus);
	return r >= 0;
}

/* The link's settings of resolved_link_up undone, where MARKER says
 * they were made (host_dns or DHCP turned off since). */
void resolved_link_down(const struct network *n, const char *marker)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char why[256];
	unsigned int idx;
	sd_bus *bus;

	if (!wanted() || access(marker, F_OK) < 0)
		return;
	idx = if_nametoindex(n->bridge);
	bus = idx && idx <= INT32_MAX ? system_bus_open(why, sizeof(why)) : NULL;
	if (bus) {
		sd_bus_set_method_call_timeout(bus, RESOLVED_TIMEOUT_USEC);
		revert(bus, (int32_t)idx, &error);
		sd_bus_error_free(&error);
		sd_bus_close_unref(bus);
	}
	unlink(marker);
}
