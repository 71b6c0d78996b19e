/*
 * tunstack-packetdrill-driver: plays a short TCP conversation through the shim the way
 * packetdrill does (dlopen, packetdrill_interface_init, then only the table), without
 * packetdrill: a passive open, data both ways with a blocking read on a second thread, a close
 * from each side, and the errno of calls that must fail. It builds its IPv4/TCP packets itself
 * and checks every packet the stack sends (addresses, ports, flags, sequence and
 * acknowledgment numbers, payload, both checksums).
 *
 *   tunstack-packetdrill-driver PATH/libtunstack-packetdrill.so [SO_FLAGS]
 *
 * Exit status 0 when every step passed; otherwise 1, after a line saying which step failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packetdrill_interface.h"

#define STACK_ADDRESS "192.168.0.1"
#define PEER_ADDRESS "192.0.2.1"
#define STACK_PORT 8080
#define PEER_PORT 40000
#define PEER_ISN 1000u

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static struct packetdrill_interface table;
static int step;

static void fail(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	fprintf(stderr, "driver: step %d failed: ", step);
	vfprintf(stderr, format, arguments);
	fprintf(stderr, "\n");
	va_end(arguments);
	exit(1);
}

static void begin(const char *what)
{
	step++;
	printf("driver: step %d: %s\n", step, what);
	fflush(stdout);
}

/* ---- packets ---------------------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *data, size_t length, uint32_t sum)
{
	for (size_t i = 0; i + 1 < length; i += 2)
		sum += (uint32_t)(data[i] << 8 | data[i + 1]);
	if (length & 1)
		sum += (uint32_t)(data[length - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum over the IPv4 pseudo-header (RFC 9293 3.1) of the segment at ip + 20. */
static uint16_t tcp_checksum(const uint8_t *ip, size_t total)
{
	size_t header = (size_t)(ip[0] & 0x0f) * 4;
	size_t segment = total - header;
	uint32_t sum = sum16(ip + 12, 8, 0); /* source and destination addresses */
	sum += 6;                            /* protocol */
	sum += (uint32_t)segment;
	return fold(sum16(ip + header, segment, sum));
}

static void put16(uint8_t *p, uint16_t value)
{
	p[0] = (uint8_t)(value >> 8);
	p[1] = (uint8_t)value;
}

static void put32(uint8_t *p, uint32_t value)
{
	put16(p, (uint16_t)(value >> 16));
	put16(p + 2, (uint16_t)value);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* An IPv4 datagram carrying one TCP segment from the peer to the stack; returns its length. */
static size_t build(uint8_t *packet, uint8_t flags, uint32_t seq, uint32_t ack, const void *payload, size_t length)
{
	size_t options = (flags & SYN) ? 4 : 0; /* MSS 1460 on a SYN */
	size_t tcp_length = 20 + options;
	size_t total = 20 + tcp_length + length;
	memset(packet, 0, total);
	packet[0] = 0x45;
	put16(packet + 2, (uint16_t)total);
	put16(packet + 4, (uint16_t)(seq & 0xffff));
	packet[8] = 64;
	packet[9] = 6;
	inet_pton(AF_INET, PEER_ADDRESS, packet + 12);
	inet_pton(AF_INET, STACK_ADDRESS, packet + 16);
	put16(packet + 10, fold(sum16(packet, 20, 0)));

	uint8_t *tcp = packet + 20;
	put16(tcp, PEER_PORT);
	put16(tcp + 2, STACK_PORT);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((tcp_length / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (options) {
		tcp[20] = 2;
		tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	if (length)
		memcpy(tcp + tcp_length, payload, length);
	put16(tcp + 16, tcp_checksum(packet, total));
	return total;
}

static void inject(uint8_t flags, uint32_t seq, uint32_t ack, const void *payload, size_t length)
{
	uint8_t packet[1600];
	size_t total = build(packet, flags, seq, ack, payload, length);
	if (table.netdev_send(table.userdata, packet, total) != 0)
		fail("netdev_send returned an error: %s", strerror(errno));
}

struct segment {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t window;
	const uint8_t *payload;
	size_t length;
	long long time_usecs;
	uint8_t bytes[65536];
};

/* The next packet the stack sends, checked as an IPv4 datagram with a valid TCP segment of our connection. */
static void sniff(struct segment *out)
{
	size_t count = sizeof(out->bytes);
	if (table.netdev_receive(table.userdata, out->bytes, &count, &out->time_usecs) != 0)
		fail("netdev_receive returned an error: %s", strerror(errno));
	if (count == 0)
		fail("the stack sent no packet");
	const uint8_t *ip = out->bytes;
	if (count < 40 || ip[0] != 0x45)
		fail("not an IPv4 datagram without options (%zu bytes, first byte 0x%02x)", count, ip[0]);
	if (get16(ip + 2) != count)
		fail("IPv4 total length %u, but %zu bytes came", get16(ip + 2), count);
	if (fold(sum16(ip, 20, 0)) != 0)
		fail("bad IPv4 header checksum");
	if (ip[9] != 6)
		fail("protocol %u, not TCP", ip[9]);
	char source[INET_ADDRSTRLEN], destination[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, ip + 12, source, sizeof(source));
	inet_ntop(AF_INET, ip + 16, destination, sizeof(destination));
	if (strcmp(source, STACK_ADDRESS) != 0 || strcmp(destination, PEER_ADDRESS) != 0)
		fail("packet from %s to %s", source, destination);
	if (tcp_checksum(ip, count) != 0)
		fail("bad TCP checksum");
	const uint8_t *tcp = ip + 20;
	if (get16(tcp) != STACK_PORT || get16(tcp + 2) != PEER_PORT)
		fail("segment from port %u to port %u", get16(tcp), get16(tcp + 2));
	size_t header = (size_t)(tcp[12] >> 4) * 4;
	if (header < 20 || 20 + header > count)
		fail("bad TCP data offset %zu", header);
	out->flags = tcp[13];
	out->seq = get32(tcp + 4);
	out->ack = get32(tcp + 8);
	out->window = get16(tcp + 14);
	out->payload = tcp + header;
	out->length = count - 20 - header;
}

static void expect(const struct segment *s, uint8_t flags, uint32_t seq, uint32_t ack, const char *payload)
{
	size_t length = payload ? strlen(payload) : 0;
	if ((s->flags & ~PSH) != flags)
		fail("flags 0x%02x, expected 0x%02x", s->flags, flags);
	if (s->seq != seq)
		fail("seq %u, expected %u", s->seq, seq);
	if ((flags & ACK) && s->ack != ack)
		fail("ack %u, expected %u", s->ack, ack);
	if (s->length != length || (length && memcmp(s->payload, payload, length) != 0))
		fail("payload of %zu bytes, expected \"%s\"", s->length, payload ? payload : "");
}

/* ---- calls ------------------------------------------------------------------------------ */

static long long now_usecs(void)
{
	struct timeval now;
	if (table.gettimeofday(table.userdata, &now, NULL) != 0)
		fail("gettimeofday: %s", strerror(errno));
	return (long long)now.tv_sec * 1000000 + now.tv_usec;
}

static void expect_errno(int result, int expected, const char *call)
{
	if (result != -1 || errno != expected)
		fail("%s returned %d (errno %d), expected -1 with errno %d", call, result, errno, expected);
}

struct blocked_read {
	int fd;
	char buffer[64];
	ssize_t result;
	int error;
};

static void *read_blocking(void *argument)
{
	struct blocked_read *read = argument;
	read->result = table.read(table.userdata, read->fd, read->buffer, sizeof(read->buffer));
	read->error = errno;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/libtunstack-packetdrill.so [SO_FLAGS]\n", argv[0]);
		return 2;
	}

	begin("dlopen the shim as packetdrill does and fill the table");
	void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | RTLD_DEEPBIND);
	if (!handle)
		fail("dlopen: %s", dlerror());
	packetdrill_interface_init_function init = (packetdrill_interface_init_function)dlsym(handle, "packetdrill_interface_init");
	if (!init)
		fail("no packetdrill_interface_init: %s", dlerror());
	init(argc > 2 ? argv[2] : "", &table);
	if (!table.socket || !table.netdev_receive || !table.free)
		fail("the table was not filled");

	begin("the virtual clock: usleep moves it by exactly that much");
	long long start = now_usecs();
	if (table.usleep(table.userdata, 250000) != 0)
		fail("usleep: %s", strerror(errno));
	long long slept = now_usecs() - start;
	if (slept < 250000 || slept > 250010)
		fail("usleep(250000) moved the clock by %lld us", slept);

	begin("socket, SO_REUSEADDR, bind 192.168.0.1:8080, listen");
	int listener = table.socket(table.userdata, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (listener < 0)
		fail("socket: %s", strerror(errno));
	int one = 1;
	if (table.setsockopt(table.userdata, listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		fail("setsockopt SO_REUSEADDR: %s", strerror(errno));
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(STACK_PORT) };
	inet_pton(AF_INET, STACK_ADDRESS, &local.sin_addr);
	if (table.bind(table.userdata, listener, (struct sockaddr *)&local, sizeof(local)) != 0)
		fail("bind: %s", strerror(errno));
	if (table.listen(table.userdata, listener, 1) != 0)
		fail("listen: %s", strerror(errno));

	begin("a nonblocking accept with nothing queued is EAGAIN");
	if (table.fcntl(table.userdata, listener, F_SETFL, O_NONBLOCK) != 0)
		fail("fcntl F_SETFL: %s", strerror(errno));
	if ((table.fcntl(table.userdata, listener, F_GETFL) & O_NONBLOCK) == 0)
		fail("F_GETFL does not show O_NONBLOCK");
	expect_errno(table.accept(table.userdata, listener, NULL, NULL), EAGAIN, "accept");
	if (table.fcntl(table.userdata, listener, F_SETFL, 0) != 0)
		fail("fcntl F_SETFL: %s", strerror(errno));

	begin("SYN in, SYN-ACK out");
	inject(SYN, PEER_ISN, 0, NULL, 0);
	struct segment *s = malloc(sizeof(*s));
	sniff(s);
	expect(s, SYN | ACK, s->seq, PEER_ISN + 1, NULL);
	uint32_t isn = s->seq;

	begin("ACK in, accept returns the connection from 192.0.2.1:40000");
	inject(ACK, PEER_ISN + 1, isn + 1, NULL, 0);
	struct sockaddr_in peer;
	socklen_t peer_length = sizeof(peer);
	int connection = table.accept(table.userdata, listener, (struct sockaddr *)&peer, &peer_length);
	if (connection < 0)
		fail("accept: %s", strerror(errno));
	char peer_text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &peer.sin_addr, peer_text, sizeof(peer_text));
	if (peer_length != sizeof(peer) || peer.sin_family != AF_INET || strcmp(peer_text, PEER_ADDRESS) != 0 ||
	    ntohs(peer.sin_port) != PEER_PORT)
		fail("accept gave %s:%u", peer_text, ntohs(peer.sin_port));

	begin("a read blocked on another thread returns the data injected 20 ms later");
	struct blocked_read reader = { .fd = connection };
	pthread_t thread;
	if (pthread_create(&thread, NULL, read_blocking, &reader) != 0)
		fail("pthread_create");
	table.usleep(table.userdata, 20000);
	inject(ACK | PSH, PEER_ISN + 1, isn + 1, "hello", 5);
	pthread_join(thread, NULL);
	if (reader.result != 5 || memcmp(reader.buffer, "hello", 5) != 0)
		fail("the blocked read returned %zd (errno %d)", reader.result, reader.error);

	begin("the stack acknowledges the data");
	sniff(s);
	expect(s, ACK, isn + 1, PEER_ISN + 6, NULL);

	begin("write goes out as one segment, which the peer acknowledges");
	if (table.write(table.userdata, connection, "world", 5) != 5)
		fail("write: %s", strerror(errno));
	sniff(s);
	expect(s, ACK, isn + 1, PEER_ISN + 6, "world");
	inject(ACK, PEER_ISN + 6, isn + 6, NULL, 0);

	begin("getsockopt TCP_MAXSEG is the MSS the peer offered; TCP_NODELAY round-trips");
	int value = 0;
	socklen_t value_length = sizeof(value);
	if (table.getsockopt(table.userdata, connection, IPPROTO_TCP, TCP_MAXSEG, &value, &value_length) != 0 || value != 1460)
		fail("TCP_MAXSEG %d (%s)", value, strerror(errno));
	if (table.setsockopt(table.userdata, connection, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		fail("setsockopt TCP_NODELAY: %s", strerror(errno));
	value = 0;
	if (table.getsockopt(table.userdata, connection, IPPROTO_TCP, TCP_NODELAY, &value, &value_length) != 0 || value != 1)
		fail("TCP_NODELAY reads %d", value);

	begin("SO_ZEROCOPY round-trips; a send with MSG_ZEROCOPY goes out as a copy");
	if (table.setsockopt(table.userdata, connection, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) != 0)
		fail("setsockopt SO_ZEROCOPY: %s", strerror(errno));
	value = 0;
	if (table.getsockopt(table.userdata, connection, SOL_SOCKET, SO_ZEROCOPY, &value, &value_length) != 0 || value != 1)
		fail("SO_ZEROCOPY reads %d", value);
	if (table.send(table.userdata, connection, "again", 5, MSG_ZEROCOPY) != 5)
		fail("send MSG_ZEROCOPY: %s", strerror(errno));
	sniff(s);
	expect(s, ACK, isn + 6, PEER_ISN + 6, "again");
	inject(ACK, PEER_ISN + 6, isn + 11, NULL, 0);

	begin("code events: the C library's getsockopt(TCP_INFO) on the descriptor reaches the session when the shim is preloaded, else ENOTSOCK");
	{
		unsigned char info[256];
		socklen_t info_length = sizeof(info);
		memset(info, 0xff, sizeof(info));
		const char *preload = getenv("LD_PRELOAD");
		int result = getsockopt(connection, IPPROTO_TCP, TCP_INFO, info, &info_length);
		if (preload && strstr(preload, "packetdrill")) {
			/* Linux's TCP_ESTABLISHED is 1; the fields the shim has no value for read as zero. */
			if (result != 0 || info[0] != 1 || info_length != sizeof(info) || info[sizeof(info) - 1] != 0)
				fail("preloaded getsockopt TCP_INFO: %d, state %d, length %u (%s)", result, info[0],
				     (unsigned)info_length, strerror(errno));
		} else if (result == 0 || errno != ENOTSOCK) {
			fail("getsockopt TCP_INFO without the preload: %d (%s), not ENOTSOCK", result, strerror(errno));
		}
	}

	begin("the peer's FIN is acknowledged and read returns 0");
	inject(FIN | ACK, PEER_ISN + 6, isn + 11, NULL, 0);
	sniff(s);
	expect(s, ACK, isn + 11, PEER_ISN + 7, NULL);
	char buffer[16];
	if (table.read(table.userdata, connection, buffer, sizeof(buffer)) != 0)
		fail("read after FIN did not return 0");

	begin("close sends our FIN; the peer's ACK ends the connection");
	if (table.close(table.userdata, connection) != 0)
		fail("close: %s", strerror(errno));
	sniff(s);
	expect(s, FIN | ACK, isn + 11, PEER_ISN + 7, NULL);
	inject(ACK, PEER_ISN + 7, isn + 12, NULL, 0);

	begin("with nothing to send, netdev_receive gives up on the virtual clock with an empty packet");
	start = now_usecs();
	size_t count = sizeof(s->bytes);
	long long sent = 0;
	if (table.netdev_receive(table.userdata, s->bytes, &count, &sent) != 0 || count != 0)
		fail("netdev_receive returned %zu bytes", count);
	if (now_usecs() - start < 5000000)
		fail("the clock moved only %lld us while waiting", now_usecs() - start);

	begin("a segment for the closed connection draws a RST");
	inject(ACK, PEER_ISN + 7, isn + 12, NULL, 0);
	sniff(s);
	expect(s, RST, isn + 12, 0, NULL);

	begin("calls that must fail set errno");
	expect_errno((int)table.read(table.userdata, connection, buffer, sizeof(buffer)), EBADF, "read of a closed descriptor");
	expect_errno(table.socket(table.userdata, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT, "socket(AF_UNIX)");
	int pipe_fds[2];
	expect_errno(table.pipe(table.userdata, pipe_fds), ENOSYS, "pipe");
	expect_errno(table.getsockopt(table.userdata, listener, SOL_SOCKET, SO_PEERCRED, &value, &value_length), ENOPROTOOPT,
		     "getsockopt SO_PEERCRED");

	begin("epoll: a listener with nothing to accept reports nothing; a second ADD is EEXIST, a closed socket EBADF");
	expect_errno(table.epoll_create(table.userdata, 0), EINVAL, "epoll_create(0)");
	int epoll_fd = table.epoll_create(table.userdata, 1);
	if (epoll_fd < 0)
		fail("epoll_create: %s", strerror(errno));
	struct epoll_event event = { .events = EPOLLIN, .data.u64 = 7 };
	if (table.epoll_ctl(table.userdata, epoll_fd, EPOLL_CTL_ADD, listener, &event) != 0)
		fail("epoll_ctl ADD: %s", strerror(errno));
	expect_errno(table.epoll_ctl(table.userdata, epoll_fd, EPOLL_CTL_ADD, listener, &event), EEXIST, "a second EPOLL_CTL_ADD");
	expect_errno(table.epoll_ctl(table.userdata, epoll_fd, EPOLL_CTL_ADD, connection, &event), EBADF,
		     "EPOLL_CTL_ADD of a closed socket");
	struct epoll_event ready[2];
	int reported = table.epoll_wait(table.userdata, epoll_fd, ready, 2, 0);
	if (reported != 0)
		fail("epoll_wait returned %d, expected 0", reported);
	if (table.close(table.userdata, epoll_fd) != 0)
		fail("close of the epoll descriptor: %s", strerror(errno));

	begin("close the listener and free the table");
	if (table.close(table.userdata, listener) != 0)
		fail("close: %s", strerror(errno));
	table.free(table.userdata);
	free(s);
	printf("driver: all %d steps passed\n", step);
	return 0;
}
