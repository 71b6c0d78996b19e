/*
 * The table of functions packetdrill's --so_filename mode expects from a shared object, as the
 * shim and its test driver see it. packetdrill dlopen()s the object, looks up the exported
 * packetdrill_interface_init, and calls it once with the --so_flags string and a zeroed table;
 * the object fills every member. From then on packetdrill makes each system call of a script
 * through the table instead of the kernel, passing `userdata` first, injects the script's
 * inbound packets with netdev_send, sniffs the stack's outbound packets with netdev_receive, and
 * reads and advances time with gettimeofday and usleep. Functions return what the system call
 * returns and set errno on failure. netdev_send returns 0 (or -1); netdev_receive returns 0 (or
 * -1, which packetdrill retries) with *count set to the packet's length and *time_usecs to when
 * it was sent. The member order is the ABI: it must not change.
 */
#ifndef TUNSTACK_PACKETDRILL_INTERFACE_H
#define TUNSTACK_PACKETDRILL_INTERFACE_H

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct packetdrill_interface {
	void *userdata;
	void (*free)(void *userdata);
	int (*socket)(void *userdata, int domain, int type, int protocol);
	int (*bind)(void *userdata, int fd, const struct sockaddr *address, socklen_t length);
	int (*listen)(void *userdata, int fd, int backlog);
	int (*accept)(void *userdata, int fd, struct sockaddr *address, socklen_t *length);
	int (*connect)(void *userdata, int fd, const struct sockaddr *address, socklen_t length);
	ssize_t (*read)(void *userdata, int fd, void *buffer, size_t count);
	ssize_t (*readv)(void *userdata, int fd, const struct iovec *vectors, int count);
	ssize_t (*recv)(void *userdata, int fd, void *buffer, size_t length, int flags);
	ssize_t (*recvfrom)(void *userdata, int fd, void *buffer, size_t length, int flags,
			    struct sockaddr *from, socklen_t *from_length);
	ssize_t (*recvmsg)(void *userdata, int fd, struct msghdr *message, int flags);
	ssize_t (*write)(void *userdata, int fd, const void *buffer, size_t count);
	ssize_t (*writev)(void *userdata, int fd, const struct iovec *vectors, int count);
	ssize_t (*send)(void *userdata, int fd, const void *buffer, size_t length, int flags);
	ssize_t (*sendto)(void *userdata, int fd, const void *buffer, size_t length, int flags,
			  const struct sockaddr *to, socklen_t to_length);
	ssize_t (*sendmsg)(void *userdata, int fd, const struct msghdr *message, int flags);
	int (*fcntl)(void *userdata, int fd, int command, ...);
	int (*ioctl)(void *userdata, int fd, unsigned long request, ...);
	int (*close)(void *userdata, int fd);
	int (*shutdown)(void *userdata, int fd, int how);
	int (*getsockopt)(void *userdata, int fd, int level, int name, void *value, socklen_t *length);
	int (*setsockopt)(void *userdata, int fd, int level, int name, const void *value, socklen_t length);
	int (*poll)(void *userdata, struct pollfd *descriptors, nfds_t count, int timeout_ms);
	int (*netdev_send)(void *userdata, const void *packet, size_t count);
	int (*netdev_receive)(void *userdata, void *packet, size_t *count, long long *time_usecs);
	int (*usleep)(void *userdata, useconds_t microseconds);
	int (*gettimeofday)(void *userdata, struct timeval *now, struct timezone *zone);
	int (*epoll_create)(void *userdata, int size);
	int (*epoll_ctl)(void *userdata, int epoll_fd, int operation, int fd, struct epoll_event *event);
	int (*epoll_wait)(void *userdata, int epoll_fd, struct epoll_event *events, int capacity, int timeout_ms);
	int (*pipe)(void *userdata, int fds[2]);
	int (*splice)(void *userdata, int fd_in, loff_t *offset_in, int fd_out, loff_t *offset_out,
		      size_t length, unsigned int flags);
};

/* The one symbol the shared object exports. */
typedef void (*packetdrill_interface_init_function)(const char *flags, struct packetdrill_interface *table);

#endif
