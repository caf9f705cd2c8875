/*
 * rackboot-lldp: the LLDP neighbour of each NIC, for the inspection report (inspect.sh).
 *
 *   rackboot-lldp [-w SECONDS] IFACE...   listen on every IFACE at once for at most SECONDS
 *                                         (default 5); print "IFACE<TAB>{json}" per neighbour
 *   rackboot-lldp -p                      parse mode (tests): stdin holds records of a 2-byte
 *                                         big-endian length and an LLDPDU; one line per record,
 *                                         the JSON object or null
 *
 * The listener stops early once every interface whose link is up has a neighbour (and at least
 * one has): a switch sends every 30 s by default, so a machine without a neighbour pays the full
 * wait and one with neighbours usually much less. It only receives; it never sends.
 *
 * JSON fields (absent when the LLDPDU has no such TLV): chassisId, portId, systemName,
 * portDescription, managementAddress. Every value is at most 255 characters of printable UTF-8
 * (anything else becomes '?'), so the report's bounds hold whatever a neighbour sends.
 *
 * TLV layout from IEEE 802.1AB-2016 §8: 7-bit type, 9-bit length, then the information string.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_LLDP 0x88cc /* §7.2 */
#define MAX_IFACES 64
#define FIELD 256 /* 255 characters and the NUL */
#define MAX_WAIT 600

/* TLV types, §8.4 and §8.5. */
enum { TLV_END = 0, TLV_CHASSIS_ID = 1, TLV_PORT_ID = 2, TLV_TTL = 3, TLV_PORT_DESC = 4, TLV_SYS_NAME = 5, TLV_MGMT_ADDR = 8 };

/* One neighbour as printable strings; an empty string is an absent field. */
struct neighbour {
  char chassis_id[FIELD];
  char port_id[FIELD];
  char system_name[FIELD];
  char port_description[FIELD];
  char management_address[FIELD];
};

/* utf8_len: length of the valid UTF-8 sequence (no overlongs, no surrogates) at p, or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
  size_t len;
  uint8_t lo = 0x80, hi = 0xbf;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) len = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef) { len = 3; if (p[0] == 0xe0) lo = 0xa0; if (p[0] == 0xed) hi = 0x9f; }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) { len = 4; if (p[0] == 0xf0) lo = 0x90; if (p[0] == 0xf4) hi = 0x8f; }
  else return 0;
  if (len > n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; i++) if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return len;
}

/* put_text: the bytes as printable UTF-8 ('?' for control characters and invalid bytes);
 * trailing NULs and spaces (some vendors pad their strings) are left out. */
static void put_text(char *out, const uint8_t *p, size_t n)
{
  size_t o = 0;
  while (n > 0 && (p[n - 1] == 0 || p[n - 1] == ' ')) n--;
  for (size_t i = 0; i < n && o < FIELD - 1;) {
    size_t u = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;
    if (u > 0 && o + u < FIELD) { memcpy(out + o, p + i, u); o += u; i += u; continue; }
    out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    i += u > 0 ? u : 1;
  }
  out[o] = 0;
}

/* put_hex: the bytes in lowercase hex, as many as fit. */
static void put_hex(char *out, const uint8_t *p, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n && o + 2 < FIELD; i++) o += (size_t)snprintf(out + o, FIELD - o, "%02x", p[i]);
  out[o] = 0;
}

/* put_mac: aa:bb:cc:dd:ee:ff, or hex when it is not 6 bytes. */
static void put_mac(char *out, const uint8_t *p, size_t n)
{
  if (n != 6) { put_hex(out, p, n); return; }
  snprintf(out, FIELD, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

/* put_address: an IANA address family number (1 IPv4, 2 IPv6) and the address; hex otherwise. */
static void put_address(char *out, const uint8_t *p, size_t n)
{
  if (n == 5 && p[0] == 1 && inet_ntop(AF_INET, p + 1, out, FIELD)) return;
  if (n == 17 && p[0] == 2 && inet_ntop(AF_INET6, p + 1, out, FIELD)) return;
  put_hex(out, p, n);
}

/* put_id: a Chassis ID (§8.5.2) or Port ID (§8.5.3) by its subtype; p[0] is the subtype. */
static void put_id(char *out, const uint8_t *p, size_t n, int is_port)
{
  unsigned sub = p[0];
  const uint8_t *v = p + 1;
  size_t len = n - 1;
  if ((!is_port && sub == 4) || (is_port && sub == 3)) put_mac(out, v, len);
  else if ((!is_port && sub == 5) || (is_port && sub == 4)) put_address(out, v, len);
  else if (sub >= 1 && sub <= 7) put_text(out, v, len);
  else put_hex(out, v, len);
}

/* put_management: the first Management Address TLV (§8.5.9): address string length (subtype
 * and address, 2..32), subtype, address, interface numbering subtype, number (4), OID length,
 * OID. A TLV whose lengths do not add up is ignored. */
static void put_management(char *out, const uint8_t *p, size_t n)
{
  if (out[0] || n < 1) return;
  size_t alen = p[0];
  if (alen < 2 || alen > 32 || n < 1 + alen + 6 || n != 1 + alen + 6 + p[1 + alen + 5]) return;
  put_address(out, p + 1, alen);
}

/* parse_lldpdu: the neighbour an LLDPDU (the frame after its Ethernet header) announces.
 * Returns 1 when it is a valid LLDPDU with a TTL above 0, else 0 (nb is then meaningless):
 * Chassis ID, Port ID and TTL first and once (§8.2), no TLV past the end of the frame. A TTL of
 * 0 is a shutdown LLDPDU (§9.2.7.7.1): the neighbour is going away, so it is not reported. */
static int parse_lldpdu(const uint8_t *p, size_t n, struct neighbour *nb)
{
  size_t off = 0;
  unsigned count = 0, ttl = 0;
  memset(nb, 0, sizeof *nb);
  while (n - off >= 2) {
    unsigned type = p[off] >> 1;
    size_t len = (size_t)(p[off] & 1) << 8 | p[off + 1];
    const uint8_t *v = p + off + 2;
    if (len > n - off - 2) return 0;
    off += 2 + len;
    if (type == TLV_END) break;
    if (count < 3 ? type != (unsigned)(count + 1) : type <= TLV_TTL) return 0;
    count++;
    switch (type) {
    case TLV_CHASSIS_ID:
    case TLV_PORT_ID:
      if (len < 2 || len > 256) return 0;
      put_id(type == TLV_CHASSIS_ID ? nb->chassis_id : nb->port_id, v, len, type == TLV_PORT_ID);
      break;
    case TLV_TTL:
      if (len < 2) return 0;
      ttl = (unsigned)v[0] << 8 | v[1];
      break;
    case TLV_PORT_DESC: put_text(nb->port_description, v, len); break;
    case TLV_SYS_NAME: put_text(nb->system_name, v, len); break;
    case TLV_MGMT_ADDR: put_management(nb->management_address, v, len); break;
    default: break; /* system description, capabilities, organizationally specific: not reported */
    }
  }
  return count >= 3 && ttl > 0;
}

/* print_json_string: s (already printable UTF-8) as a JSON string. */
static void print_json_string(const char *s)
{
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar(*s);
  }
  putchar('"');
}

static void print_neighbour(const struct neighbour *nb)
{
  const char *names[] = { "chassisId", "portId", "systemName", "portDescription", "managementAddress" };
  const char *values[] = { nb->chassis_id, nb->port_id, nb->system_name, nb->port_description, nb->management_address };
  int first = 1;
  putchar('{');
  for (int i = 0; i < 5; i++) {
    if (!values[i][0]) continue;
    printf("%s\"%s\":", first ? "" : ",", names[i]);
    print_json_string(values[i]);
    first = 0;
  }
  puts("}");
}

/* parse_stdin: the -p mode. Exit status 1 when the input ends inside a record. */
static int parse_stdin(void)
{
  static uint8_t buf[2 + 65535];
  struct neighbour nb;
  for (;;) {
    size_t got = fread(buf, 1, 2, stdin);
    if (got == 0) return 0;
    size_t len = got == 2 ? (size_t)buf[0] << 8 | buf[1] : 0;
    if (got != 2 || fread(buf + 2, 1, len, stdin) != len) { fprintf(stderr, "rackboot-lldp: input ends inside a record\n"); return 1; }
    if (parse_lldpdu(buf + 2, len, &nb)) print_neighbour(&nb);
    else puts("null");
  }
}

struct iface {
  const char *name;
  int fd;
  int heard;
  struct neighbour nb;
};

/* open_iface: a packet socket for LLDP frames on one interface, with the three LLDP group
 * addresses (§7.1: nearest bridge, nearest non-TPMR bridge, nearest customer bridge) added to
 * its receive filter (a NIC drops multicast it was not asked for). -1 when that fails. */
static int open_iface(const char *name)
{
  static const uint8_t groups[3][6] = { { 0x01, 0x80, 0xc2, 0, 0, 0x0e }, { 0x01, 0x80, 0xc2, 0, 0, 0x03 }, { 0x01, 0x80, 0xc2, 0, 0, 0x00 } };
  unsigned idx = if_nametoindex(name);
  if (idx == 0) { fprintf(stderr, "rackboot-lldp: no interface %s\n", name); return -1; }
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETHERTYPE_LLDP));
  if (fd < 0) { perror("rackboot-lldp: socket"); return -1; }
  struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_LLDP), .sll_ifindex = (int)idx };
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("rackboot-lldp: bind"); close(fd); return -1; }
  for (int i = 0; i < 3; i++) {
    struct packet_mreq mr = { .mr_ifindex = (int)idx, .mr_type = PACKET_MR_MULTICAST, .mr_alen = 6 };
    memcpy(mr.mr_address, groups[i], 6);
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) perror("rackboot-lldp: PACKET_ADD_MEMBERSHIP");
  }
  return fd;
}

/* link_up: the interface's operational state is up (IFF_RUNNING: carrier and admin up). */
static int link_up(int ctl, const char *name)
{
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  return ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING);
}

/* all_heard: every interface with link has a neighbour, and at least one has. */
static int all_heard(int ctl, const struct iface *ifs, int n)
{
  int any = 0;
  for (int i = 0; i < n; i++) {
    if (ifs[i].heard) any = 1;
    else if (ifs[i].fd >= 0 && link_up(ctl, ifs[i].name)) return 0;
  }
  return any;
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* receive: reads one frame from an interface's socket; our own transmissions are skipped. */
static void receive(struct iface *f)
{
  uint8_t frame[9216];
  struct sockaddr_ll from;
  socklen_t fl = sizeof from;
  struct neighbour nb;
  ssize_t got = recvfrom(f->fd, frame, sizeof frame, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  if (got <= 0 || from.sll_pkttype == PACKET_OUTGOING) return;
  if (parse_lldpdu(frame, (size_t)got, &nb)) { f->nb = nb; f->heard = 1; }
}

static int listen_ifaces(int wait_s, char **names, int n)
{
  static struct iface ifs[MAX_IFACES];
  struct pollfd pfd[MAX_IFACES];
  int opened = 0, ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (int i = 0; i < n; i++) {
    ifs[i].name = names[i];
    ifs[i].fd = open_iface(names[i]);
    if (ifs[i].fd >= 0) opened++;
    pfd[i].fd = ifs[i].fd;
    pfd[i].events = POLLIN;
  }
  if (opened == 0) return 1;
  long long deadline = now_ms() + (long long)wait_s * 1000;
  for (long long left; (left = deadline - now_ms()) > 0 && !all_heard(ctl, ifs, n);) {
    if (poll(pfd, (nfds_t)n, left < 250 ? (int)left : 250) <= 0) continue;
    for (int i = 0; i < n; i++) {
      if (pfd[i].revents & POLLIN) receive(&ifs[i]);
      else if (pfd[i].revents) pfd[i].fd = -1; /* the interface went away: stop polling it */
    }
  }
  for (int i = 0; i < n; i++) {
    if (!ifs[i].heard) continue;
    printf("%s\t", ifs[i].name);
    print_neighbour(&ifs[i].nb);
  }
  return 0;
}

int main(int argc, char **argv)
{
  int wait_s = 5, opt;
  while ((opt = getopt(argc, argv, "pw:")) != -1) {
    if (opt == 'p') return parse_stdin();
    if (opt != 'w') goto usage;
    char *end;
    long w = strtol(optarg, &end, 10);
    if (*optarg == 0 || *end != 0 || w < 0 || w > MAX_WAIT) goto usage;
    wait_s = (int)w;
  }
  if (optind >= argc || argc - optind > MAX_IFACES) goto usage;
  return listen_ifaces(wait_s, argv + optind, argc - optind);
usage:
  fprintf(stderr, "usage: rackboot-lldp [-w SECONDS (0-%d)] IFACE... (at most %d) | rackboot-lldp -p\n", MAX_WAIT, MAX_IFACES);
  return 2;
}
