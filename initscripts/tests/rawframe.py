#!/usr/bin/python3
"""rawframe: frames a hostile guest would send, for check-initscripts'
guard tests (tests/run).  Run inside the network namespace of a fake
guest whose interface is on the bridge as an instance's TAP would be.

  rawframe.py release IFACE SRCMAC SRCIP SERVERIP CHADDR CIADDR
      a DHCPRELEASE from SRCMAC/SRCIP that names client CHADDR, CIADDR
  rawframe.py offer IFACE SRCMAC SRCIP
      a DHCPOFFER broadcast from port 67 to port 68 (a server of its own)
  rawframe.py lldp IFACE SRCMAC
      a frame to the LLDP group address with source SRCMAC
  rawframe.py ra IFACE PREFIX
      an IPv6 router advertisement to all nodes from IFACE's link-local
      address: a default router, and PREFIX/64 for addresses (SLAAC)
  rawframe.py ra-lldp IFACE PREFIX
      the router advertisement of "ra", sent in a frame to the LLDP group
      address 01:80:c2:00:00:0e (the bridge hands such frames up the
      host's stack on the port itself, past its netfilter hooks)
  rawframe.py echo-lldp IFACE SRCIP DSTIP
      an ICMP echo request from SRCIP to DSTIP in a frame to the LLDP
      group address
  rawframe.py na IFACE TARGET
      an unsolicited IPv6 neighbour advertisement to all nodes from
      IFACE's link-local address: TARGET is at IFACE's MAC (override)
  rawframe.py listen IFACE SECONDS
      prints "ready" once it listens, then "got" when a UDP datagram to
      port 68 arrives within SECONDS, else "nothing"
  rawframe.py ra-listen IFACE SECONDS
      prints "ready" once it listens, then for the first router
      advertisement on IFACE within SECONDS "ra from ADDR lifetime N
      options T,T,..." (its router lifetime and option types), else
      "nothing"
"""
import socket
import struct
import sys
import time


def mac_bytes(text):
    return bytes(int(b, 16) for b in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload):
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def dhcp(op, msg_type, chaddr, ciaddr="0.0.0.0", server=None):
    body = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 0, 0x5a5a5a5a, 0, 0,
                       socket.inet_aton(ciaddr), b"\0" * 4, b"\0" * 4, b"\0" * 4,
                       chaddr + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    opts = b"\x63\x82\x53\x63" + bytes([53, 1, msg_type])
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    return body + opts + b"\xff"


LLDP_GROUP = b"\x01\x80\xc2\x00\x00\x0e"


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return f.read().strip()


def link_local(mac):
    b = bytearray(mac_bytes(mac))
    b[0] ^= 2
    return b"\xfe\x80" + b"\0" * 6 + bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])


def ra_body(prefix):
    # type 134, code, checksum, hop limit, flags, router lifetime 1800 s,
    # reachable, retrans; then a prefix information option: on-link and
    # autonomous, /64
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    return ra + struct.pack("!BBBBIII16s", 3, 4, 64, 0xC0, 86400, 14400, 0,
                            socket.inet_pton(socket.AF_INET6, prefix))


def send(iface, frame):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(frame)
    s.close()


def main(argv):
    cmd = argv[1]
    if cmd == "release":
        iface, src_mac, src_ip, server, chaddr, ciaddr = argv[2:8]
        payload = dhcp(1, 7, mac_bytes(chaddr), ciaddr, server)
        frame = udp_frame(mac_bytes(src_mac), b"\xff" * 6, src_ip, server, 68, 67, payload)
        for _ in range(3):
            send(iface, frame)
            time.sleep(0.2)
    elif cmd == "offer":
        iface, src_mac, src_ip = argv[2:5]
        payload = dhcp(2, 2, b"\x02\0\0\0\0\x01", server=src_ip)
        frame = udp_frame(mac_bytes(src_mac), b"\xff" * 6, src_ip, "255.255.255.255",
                          67, 68, payload)
        for _ in range(3):
            send(iface, frame)
            time.sleep(0.2)
    elif cmd == "lldp":
        iface, src_mac = argv[2:4]
        frame = b"\x01\x80\xc2\x00\x00\x0e" + mac_bytes(src_mac) + b"\x88\xcc" + b"\0" * 46
        for _ in range(3):
            send(iface, frame)
            time.sleep(0.2)
    elif cmd == "ra-lldp":
        iface, prefix = argv[2:4]
        mac = iface_mac(iface)
        src, dst = link_local(mac), socket.inet_pton(socket.AF_INET6, "ff02::1")
        ra = ra_body(prefix)
        pseudo = src + dst + struct.pack("!I3xB", len(ra), 58)
        ra = ra[:2] + struct.pack("!H", checksum(pseudo + ra)) + ra[4:]
        ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(ra), 58, 255, src, dst)
        frame = LLDP_GROUP + mac_bytes(mac) + b"\x86\xdd" + ip6 + ra
        for _ in range(3):
            send(iface, frame)
            time.sleep(0.2)
    elif cmd == "echo-lldp":
        iface, src_ip, dst_ip = argv[2:5]
        icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5a5a, 1) + b"uml-skas" * 4
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frame = LLDP_GROUP + mac_bytes(iface_mac(iface)) + b"\x08\x00" + ip + icmp
        for _ in range(3):
            send(iface, frame)
            time.sleep(0.2)
    elif cmd == "ra":
        iface, prefix = argv[2:4]
        # (the kernel computes the checksum)
        ra = ra_body(prefix)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        # not to the sender itself: it would take the prefix
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        for _ in range(3):
            s.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex(iface)))
            time.sleep(0.2)
    elif cmd == "na":
        iface, target = argv[2:4]
        mac = iface_mac(iface)
        # type 136, code, checksum (the kernel's), flags: override; the
        # target; a target link-layer address option with IFACE's MAC
        na = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000,
                         socket.inet_pton(socket.AF_INET6, target))
        na += bytes([2, 1]) + mac_bytes(mac)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        for _ in range(3):
            s.sendto(na, ("ff02::1", 0, 0, socket.if_nametoindex(iface)))
            time.sleep(0.2)
    elif cmd == "listen":
        iface, seconds = argv[2], float(argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        s.bind(("", 68))
        print("ready", flush=True)
        s.settimeout(seconds)
        try:
            s.recvfrom(2048)
            print("got")
        except socket.timeout:
            print("nothing")
    elif cmd == "ra-listen":
        iface, seconds = argv[2], float(argv[3])
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        print("ready", flush=True)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s.settimeout(max(end - time.monotonic(), 0.01))
            try:
                data, addr = s.recvfrom(2048)
            except socket.timeout:
                break
            if len(data) < 16 or data[0] != 134:
                continue
            types, i = [], 16
            while i + 2 <= len(data) and data[i + 1]:
                types.append(str(data[i]))
                i += data[i + 1] * 8
            print("ra from %s lifetime %d options %s"
                  % (addr[0], struct.unpack("!H", data[6:8])[0], ",".join(types)))
            return
        print("nothing")
    else:
        sys.exit("rawframe: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
