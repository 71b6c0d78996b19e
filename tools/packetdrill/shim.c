/*
 * libtunstack-packetdrill.so: lets packetdrill (--so_filename) run its scripts against TunStack.
 *
 * packetdrill_interface_init starts the .NET runtime in packetdrill's process through hostfxr,
 * loads TunStack.PacketdrillShim.dll as a component, looks up its [UnmanagedCallersOnly] entry
 * points by name (PacketdrillInterface.*), opens a session and fills packetdrill's table with
 * the functions below. Each forwards one call. The managed side answers a result of zero or more
 * or a negated errno; the functions here set errno on the caller's thread and return -1 for
 * those. Vectors (readv, writev, recvmsg, sendmsg) are gathered into one buffer here. epoll
 * goes to the facade's PollSet; pipe and splice are not supported: ENOSYS.
 *
 * Where the assembly is: the word assembly=PATH in --so_flags, else $TUNSTACK_PACKETDRILL_ASSEMBLY,
 * else TunStack.PacketdrillShim.dll beside this shared object. The runtime is found as nethost
 * finds it (DOTNET_ROOT, the global install), else beside the `dotnet` on PATH.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <unistd.h>

#include <coreclr_delegates.h>
#include <hostfxr.h>
#include <nethost.h>

#include "packetdrill_interface.h"

#define SHIM_TYPE "TunStack.PacketdrillShim.PacketdrillInterface, TunStack.PacketdrillShim"
#define SHIM_ASSEMBLY "TunStack.PacketdrillShim.dll"

/* The managed entry points (PacketdrillInterface), in the order they are looked up. */
struct entry_points {
	intptr_t (*open)(const char *flags);
	void (*free)(intptr_t session);
	int64_t (*socket)(intptr_t session, int domain, int type, int protocol);
	int64_t (*bind)(intptr_t session, int fd, const void *address, uint32_t length);
	int64_t (*listen)(intptr_t session, int fd, int backlog);
	int64_t (*accept)(intptr_t session, int fd, void *address, uint32_t *length);
	int64_t (*connect)(intptr_t session, int fd, const void *address, uint32_t length);
	int64_t (*receive)(intptr_t session, int fd, void *buffer, size_t length, int flags,
			   void *address, uint32_t *address_length);
	int64_t (*send)(intptr_t session, int fd, const void *buffer, size_t length, int flags,
			const void *address, uint32_t address_length);
	int64_t (*fcntl)(intptr_t session, int fd, int command, int64_t argument);
	int64_t (*ioctl)(intptr_t session, int fd, uint64_t request, void *argument);
	int64_t (*close)(intptr_t session, int fd);
	int64_t (*shutdown)(intptr_t session, int fd, int how);
	int64_t (*getsockopt)(intptr_t session, int fd, int level, int name, void *value, uint32_t *length);
	int64_t (*setsockopt)(intptr_t session, int fd, int level, int name, const void *value, uint32_t length);
	int64_t (*poll)(intptr_t session, struct pollfd *descriptors, uint64_t count, int timeout_ms);
	int64_t (*netdev_send)(intptr_t session, const void *packet, size_t length);
	int64_t (*netdev_receive)(intptr_t session, void *packet, size_t *length, int64_t *time_usecs);
	int64_t (*sleep)(intptr_t session, uint32_t microseconds);
	int64_t (*time_of_day)(intptr_t session, int64_t *microseconds);
	int64_t (*receive_queue_hint)(intptr_t session, int fd);
	int64_t (*epoll_create)(intptr_t session, int size);
	int64_t (*epoll_ctl)(intptr_t session, int epoll_fd, int operation, int fd, struct epoll_event *event);
	int64_t (*epoll_wait)(intptr_t session, int epoll_fd, struct epoll_event *events, int capacity, int timeout_ms);
};

static const char *const entry_point_names[] = {
	"Open", "Free", "Socket", "Bind", "Listen", "Accept", "Connect", "Receive", "Send", "Fcntl",
	"Ioctl", "Close", "Shutdown", "GetSocketOption", "SetSocketOption", "Poll", "NetdevSend",
	"NetdevReceive", "Sleep", "TimeOfDay", "ReceiveQueueHint",
	"EpollCreate", "EpollControl", "EpollWait",
};

static struct entry_points managed;
static int managed_loaded;

/* The session that packetdrill's code events read from (see getsockopt below). */
static intptr_t code_event_session;

/* What packetdrill passes back as userdata. */
struct shim {
	intptr_t session; /* 0 when the runtime or the session could not start: every call is ENOSYS */
};

static intptr_t session_of(void *userdata)
{
	return ((struct shim *)userdata)->session;
}

static int64_t unavailable(void)
{
	return -ENOSYS;
}

static int int_result(int64_t result)
{
	if (result < 0) {
		errno = (int)-result;
		return -1;
	}
	return (int)result;
}

static ssize_t size_result(int64_t result)
{
	if (result < 0) {
		errno = (int)-result;
		return -1;
	}
	return (ssize_t)result;
}

/*
 * Whether the caller's [start, start + length) can be read, and with `writable` also written,
 * asked of the kernel through process_vm_readv/writev on this process, one byte per page: a bad
 * pointer in a script (write(4, NULL, 1000)) becomes EFAULT, as from the kernel, and not a crash
 * of the managed side. Where the kernel refuses those calls, the buffer is taken as good.
 */
static int accessible(const void *start, size_t length, int writable)
{
	if (length == 0)
		return 1;
	if (!start)
		return 0;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t first = (uintptr_t)start, last = first + length - 1;
	if (last < first)
		return 0;
	for (uintptr_t at = first;; at = (at | (uintptr_t)(page - 1)) + 1) {
		if (at > last)
			at = last;
		char byte;
		struct iovec local = { &byte, 1 }, remote = { (void *)at, 1 };
		ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EFAULT)
			return 0;
		if (n == 1 && writable && process_vm_writev(getpid(), &local, 1, &remote, 1, 0) < 0 && errno == EFAULT)
			return 0;
		if (n < 0)
			return 1; /* ENOSYS, EPERM: no way to ask */
		if (at == last)
			return 1;
	}
}

/* A socklen_t the caller passes by pointer, and the buffer of that many bytes it describes. */
static int accessible_address(const void *address, const socklen_t *length, int writable)
{
	if (!address && !length)
		return 1;
	return accessible(length, sizeof(*length), writable) && accessible(address, *length, writable);
}

/* ---- starting the runtime ------------------------------------------------------------- */

static void say(const char *message, const char *detail)
{
	fprintf(stderr, "tunstack-packetdrill: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
}

/* The value of KEY=VALUE in the flags (space or comma separated) into out; 0 if absent. */
static int flag_value(const char *flags, const char *key, char *out, size_t size)
{
	size_t key_length = strlen(key);
	const char *p = flags;
	while (p && *p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		const char *end = p + strcspn(p, " ,\t");
		if ((size_t)(end - p) > key_length && strncmp(p, key, key_length) == 0 && p[key_length] == '=') {
			size_t length = (size_t)(end - p) - key_length - 1;
			if (length >= size)
				return 0;
			memcpy(out, p + key_length + 1, length);
			out[length] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

static int find_assembly(const char *flags, char *path, size_t size)
{
	if (flags && flag_value(flags, "assembly", path, size))
		return 1;
	const char *from_environment = getenv("TUNSTACK_PACKETDRILL_ASSEMBLY");
	if (from_environment && *from_environment) {
		snprintf(path, size, "%s", from_environment);
		return 1;
	}
	Dl_info self;
	if (!dladdr((void *)find_assembly, &self) || !self.dli_fname)
		return 0;
	char directory[PATH_MAX];
	snprintf(directory, sizeof(directory), "%s", self.dli_fname);
	char *slash = strrchr(directory, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(directory, sizeof(directory), ".");
	return snprintf(path, size, "%s/%s", directory, SHIM_ASSEMBLY) < (int)size;
}

/* The directory of the `dotnet` found on PATH, symlinks resolved, into root. */
static int dotnet_root_from_path(char *root, size_t size)
{
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t length = strcspn(path, ":");
		char candidate[PATH_MAX];
		if (length > 0 && length < sizeof(candidate) - 8) {
			snprintf(candidate, sizeof(candidate), "%.*s/dotnet", (int)length, path);
			char resolved[PATH_MAX];
			if (access(candidate, X_OK) == 0 && realpath(candidate, resolved)) {
				char *slash = strrchr(resolved, '/');
				if (slash)
					*slash = '\0';
				snprintf(root, size, "%s", resolved);
				return 1;
			}
		}
		path += length;
		if (*path == ':')
			path++;
	}
	return 0;
}

static int load_managed(const char *assembly)
{
	char config[PATH_MAX];
	size_t stem = strlen(assembly);
	if (stem < 4 || strcmp(assembly + stem - 4, ".dll") != 0 || stem + 32 > sizeof(config)) {
		say("the assembly path must end in .dll", assembly);
		return 0;
	}
	snprintf(config, sizeof(config), "%.*s.runtimeconfig.json", (int)(stem - 4), assembly);

	char hostfxr_path[PATH_MAX];
	size_t hostfxr_size = sizeof(hostfxr_path);
	struct get_hostfxr_parameters parameters = { sizeof(parameters), assembly, NULL };
	if (get_hostfxr_path(hostfxr_path, &hostfxr_size, &parameters) != 0) {
		char root[PATH_MAX];
		hostfxr_size = sizeof(hostfxr_path);
		if (!dotnet_root_from_path(root, sizeof(root))) {
			say("no .NET runtime found (set DOTNET_ROOT or put dotnet on PATH)", NULL);
			return 0;
		}
		parameters.dotnet_root = root;
		if (get_hostfxr_path(hostfxr_path, &hostfxr_size, &parameters) != 0) {
			say("no hostfxr under the .NET root", root);
			return 0;
		}
	}

	void *hostfxr = dlopen(hostfxr_path, RTLD_NOW | RTLD_LOCAL);
	if (!hostfxr) {
		say("cannot load hostfxr", dlerror());
		return 0;
	}
	hostfxr_initialize_for_runtime_config_fn initialize =
		(hostfxr_initialize_for_runtime_config_fn)dlsym(hostfxr, "hostfxr_initialize_for_runtime_config");
	hostfxr_get_runtime_delegate_fn get_delegate =
		(hostfxr_get_runtime_delegate_fn)dlsym(hostfxr, "hostfxr_get_runtime_delegate");
	hostfxr_close_fn close_context = (hostfxr_close_fn)dlsym(hostfxr, "hostfxr_close");
	if (!initialize || !get_delegate || !close_context) {
		say("hostfxr lacks the hosting functions", hostfxr_path);
		return 0;
	}

	hostfxr_handle context = NULL;
	int status = initialize(config, NULL, &context);
	if (status < 0 || !context) {
		char detail[PATH_MAX + 32];
		snprintf(detail, sizeof(detail), "%s (status 0x%x)", config, (unsigned)status);
		say("cannot start the .NET runtime", detail);
		if (context)
			close_context(context);
		return 0;
	}
	load_assembly_and_get_function_pointer_fn load = NULL;
	status = get_delegate(context, hdt_load_assembly_and_get_function_pointer, (void **)&load);
	close_context(context);
	if (status != 0 || !load) {
		say("cannot get the component loader", NULL);
		return 0;
	}

	void **slots = (void **)&managed;
	for (size_t i = 0; i < sizeof(entry_point_names) / sizeof(entry_point_names[0]); i++) {
		status = load(assembly, SHIM_TYPE, entry_point_names[i], UNMANAGEDCALLERSONLY_METHOD, NULL, &slots[i]);
		if (status != 0 || !slots[i]) {
			char detail[256];
			snprintf(detail, sizeof(detail), "%s (status 0x%x)", entry_point_names[i], (unsigned)status);
			say("cannot load an entry point of " SHIM_ASSEMBLY, detail);
			return 0;
		}
	}
	return 1;
}

/* ---- the calls ------------------------------------------------------------------------ */

static void shim_free(void *userdata)
{
	struct shim *shim = userdata;
	if (shim->session && shim->session == code_event_session)
		code_event_session = 0;
	if (shim->session)
		managed.free(shim->session);
	free(shim);
}

static int shim_socket(void *userdata, int domain, int type, int protocol)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.socket(session, domain, type, protocol) : unavailable());
}

static int shim_bind(void *userdata, int fd, const struct sockaddr *address, socklen_t length)
{
	intptr_t session = session_of(userdata);
	if (session && !accessible(address, length, 0))
		return int_result(-EFAULT);
	return int_result(session ? managed.bind(session, fd, address, length) : unavailable());
}

static int shim_listen(void *userdata, int fd, int backlog)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.listen(session, fd, backlog) : unavailable());
}

static int shim_accept(void *userdata, int fd, struct sockaddr *address, socklen_t *length)
{
	intptr_t session = session_of(userdata);
	if (session && !accessible_address(address, length, 1))
		return int_result(-EFAULT);
	return int_result(session ? managed.accept(session, fd, address, length) : unavailable());
}

static int shim_connect(void *userdata, int fd, const struct sockaddr *address, socklen_t length)
{
	intptr_t session = session_of(userdata);
	if (session && !accessible(address, length, 0))
		return int_result(-EFAULT);
	return int_result(session ? managed.connect(session, fd, address, length) : unavailable());
}

static ssize_t shim_recvfrom(void *userdata, int fd, void *buffer, size_t length, int flags,
			     struct sockaddr *from, socklen_t *from_length)
{
	intptr_t session = session_of(userdata);
	if (session && (!accessible(buffer, length, 1) || !accessible_address(from, from_length, 1)))
		return size_result(-EFAULT);
	return size_result(session ? managed.receive(session, fd, buffer, length, flags, from, from_length) : unavailable());
}

static ssize_t shim_recv(void *userdata, int fd, void *buffer, size_t length, int flags)
{
	return shim_recvfrom(userdata, fd, buffer, length, flags, NULL, NULL);
}

static ssize_t shim_read(void *userdata, int fd, void *buffer, size_t count)
{
	return shim_recvfrom(userdata, fd, buffer, count, 0, NULL, NULL);
}

static ssize_t shim_sendto(void *userdata, int fd, const void *buffer, size_t length, int flags,
			   const struct sockaddr *to, socklen_t to_length)
{
	intptr_t session = session_of(userdata);
	if (session && (!accessible(buffer, length, 0) || !accessible(to, to ? to_length : 0, 0)))
		return size_result(-EFAULT);
	return size_result(session ? managed.send(session, fd, buffer, length, flags, to, to_length) : unavailable());
}

static ssize_t shim_send(void *userdata, int fd, const void *buffer, size_t length, int flags)
{
	return shim_sendto(userdata, fd, buffer, length, flags, NULL, 0);
}

static ssize_t shim_write(void *userdata, int fd, const void *buffer, size_t count)
{
	return shim_sendto(userdata, fd, buffer, count, 0, NULL, 0);
}

static size_t vector_length(const struct iovec *vectors, int count)
{
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += vectors[i].iov_len;
	return total;
}

static int vectors_accessible(const struct iovec *vectors, int count, int writable)
{
	if (!accessible(vectors, (size_t)count * sizeof(*vectors), 0))
		return 0;
	for (int i = 0; i < count; i++)
		if (!accessible(vectors[i].iov_base, vectors[i].iov_len, writable))
			return 0;
	return 1;
}

/* One buffer the size of all the vectors, after checking them; NULL with errno set. */
static char *vector_buffer(const struct iovec *vectors, int count, int writable, size_t *total)
{
	if (count < 0 || (count > 0 && !vectors)) {
		errno = EINVAL;
		return NULL;
	}
	if (!vectors_accessible(vectors, count, writable)) {
		errno = EFAULT;
		return NULL;
	}
	*total = vector_length(vectors, count);
	char *buffer = malloc(*total ? *total : 1);
	if (!buffer)
		errno = ENOMEM;
	return buffer;
}

/* Receives into one buffer, then scatters it over the vectors. */
static ssize_t receive_vectors(void *userdata, int fd, const struct iovec *vectors, int count, int flags,
			       struct sockaddr *from, socklen_t *from_length)
{
	size_t total;
	char *buffer = vector_buffer(vectors, count, 1, &total);
	if (!buffer)
		return -1;
	ssize_t received = shim_recvfrom(userdata, fd, buffer, total, flags, from, from_length);
	int saved = errno;
	size_t offset = 0;
	for (int i = 0; i < count && received > 0 && offset < (size_t)received; i++) {
		size_t n = vectors[i].iov_len;
		if (n > (size_t)received - offset)
			n = (size_t)received - offset;
		memcpy(vectors[i].iov_base, buffer + offset, n);
		offset += n;
	}
	free(buffer);
	errno = saved;
	return received;
}

/* Gathers the vectors into one buffer, then sends it. */
static ssize_t send_vectors(void *userdata, int fd, const struct iovec *vectors, int count, int flags,
			    const struct sockaddr *to, socklen_t to_length)
{
	size_t total;
	char *buffer = vector_buffer(vectors, count, 0, &total);
	if (!buffer)
		return -1;
	size_t offset = 0;
	for (int i = 0; i < count; i++) {
		memcpy(buffer + offset, vectors[i].iov_base, vectors[i].iov_len);
		offset += vectors[i].iov_len;
	}
	ssize_t sent = shim_sendto(userdata, fd, buffer, total, flags, to, to_length);
	int saved = errno;
	free(buffer);
	errno = saved;
	return sent;
}

static ssize_t shim_readv(void *userdata, int fd, const struct iovec *vectors, int count)
{
	return receive_vectors(userdata, fd, vectors, count, 0, NULL, NULL);
}

static ssize_t shim_writev(void *userdata, int fd, const struct iovec *vectors, int count)
{
	return send_vectors(userdata, fd, vectors, count, 0, NULL, 0);
}

/*
 * TCP_INQ (Linux tcp_recvmsg): with the option on, a TCP_CM_INQ control message carries the
 * bytes left to read (1 at the end of the stream); MSG_CTRUNC when msg_control has no room.
 * Otherwise there is no ancillary data.
 */
static void control_receive_queue_hint(void *userdata, int fd, struct msghdr *message)
{
	intptr_t session = session_of(userdata);
	int64_t hint = session ? managed.receive_queue_hint(session, fd) : -ENOSYS;
	size_t room = message->msg_control ? message->msg_controllen : 0;
	message->msg_controllen = 0;
	if (hint < 0)
		return;
	if (room < CMSG_SPACE(sizeof(int)) || !accessible(message->msg_control, CMSG_SPACE(sizeof(int)), 1)) {
		message->msg_flags |= MSG_CTRUNC;
		return;
	}
	struct cmsghdr *control = (struct cmsghdr *)message->msg_control;
	int value = (int)hint;
	control->cmsg_level = SOL_TCP;
	control->cmsg_type = TCP_CM_INQ;
	control->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(control), &value, sizeof(value));
	message->msg_controllen = CMSG_SPACE(sizeof(int));
}

static ssize_t shim_recvmsg(void *userdata, int fd, struct msghdr *message, int flags)
{
	if (!accessible(message, sizeof(*message), 1)) {
		errno = EFAULT;
		return -1;
	}
	socklen_t name_length = message->msg_name ? message->msg_namelen : 0;
	ssize_t received = receive_vectors(userdata, fd, message->msg_iov, (int)message->msg_iovlen, flags,
					   message->msg_name, message->msg_name ? &name_length : NULL);
	if (received >= 0) {
		if (message->msg_name)
			message->msg_namelen = name_length;
		message->msg_flags = 0;
		control_receive_queue_hint(userdata, fd, message);
	}
	return received;
}

static ssize_t shim_sendmsg(void *userdata, int fd, const struct msghdr *message, int flags)
{
	if (!accessible(message, sizeof(*message), 0)) {
		errno = EFAULT;
		return -1;
	}
	if (message->msg_controllen > 0) {
		errno = EOPNOTSUPP; /* ancillary data */
		return -1;
	}
	return send_vectors(userdata, fd, message->msg_iov, (int)message->msg_iovlen, flags,
			    message->msg_name, message->msg_namelen);
}

static int shim_fcntl(void *userdata, int fd, int command, ...)
{
	va_list arguments;
	va_start(arguments, command);
	long argument = va_arg(arguments, long); /* as libc's fcntl, read whether passed or not */
	va_end(arguments);
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.fcntl(session, fd, command, argument) : unavailable());
}

static int shim_ioctl(void *userdata, int fd, unsigned long request, ...)
{
	va_list arguments;
	va_start(arguments, request);
	void *argument = va_arg(arguments, void *);
	va_end(arguments);
	intptr_t session = session_of(userdata);
	if (session && !accessible(argument, sizeof(int), 1))
		return int_result(-EFAULT);
	return int_result(session ? managed.ioctl(session, fd, request, argument) : unavailable());
}

static int shim_close(void *userdata, int fd)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.close(session, fd) : unavailable());
}

static int shim_shutdown(void *userdata, int fd, int how)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.shutdown(session, fd, how) : unavailable());
}

static int shim_getsockopt(void *userdata, int fd, int level, int name, void *value, socklen_t *length)
{
	intptr_t session = session_of(userdata);
	if (session && !accessible_address(value, length, 1))
		return int_result(-EFAULT);
	return int_result(session ? managed.getsockopt(session, fd, level, name, value, length) : unavailable());
}

static int shim_setsockopt(void *userdata, int fd, int level, int name, const void *value, socklen_t length)
{
	intptr_t session = session_of(userdata);
	if (session && !accessible(value, length, 0))
		return int_result(-EFAULT);
	return int_result(session ? managed.setsockopt(session, fd, level, name, value, length) : unavailable());
}

static int shim_poll(void *userdata, struct pollfd *descriptors, nfds_t count, int timeout_ms)
{
	intptr_t session = session_of(userdata);
	if (session && (count > 1024 * 1024 || !accessible(descriptors, count * sizeof(*descriptors), 1)))
		return int_result(count > 1024 * 1024 ? -EINVAL : -EFAULT);
	return int_result(session ? managed.poll(session, descriptors, count, timeout_ms) : unavailable());
}

static int shim_netdev_send(void *userdata, const void *packet, size_t count)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.netdev_send(session, packet, count) : unavailable());
}

static int shim_netdev_receive(void *userdata, void *packet, size_t *count, long long *time_usecs)
{
	intptr_t session = session_of(userdata);
	if (!session) {
		*count = 0; /* nothing will ever come: packetdrill reports an empty packet */
		return 0;
	}
	int64_t sent = 0;
	int result = int_result(managed.netdev_receive(session, packet, count, &sent));
	*time_usecs = sent;
	return result;
}

static int shim_usleep(void *userdata, useconds_t microseconds)
{
	intptr_t session = session_of(userdata);
	if (!session)
		return usleep(microseconds);
	return int_result(managed.sleep(session, microseconds));
}

static int shim_gettimeofday(void *userdata, struct timeval *now, struct timezone *zone)
{
	intptr_t session = session_of(userdata);
	if (!session)
		return gettimeofday(now, zone);
	int64_t microseconds = 0;
	int result = int_result(managed.time_of_day(session, &microseconds));
	if (result == 0 && now) {
		now->tv_sec = microseconds / 1000000;
		now->tv_usec = microseconds % 1000000;
	}
	if (zone)
		memset(zone, 0, sizeof(*zone));
	return result;
}

static int shim_epoll_create(void *userdata, int size)
{
	intptr_t session = session_of(userdata);
	return int_result(session ? managed.epoll_create(session, size) : unavailable());
}

static int shim_epoll_ctl(void *userdata, int epoll_fd, int operation, int fd, struct epoll_event *event)
{
	intptr_t session = session_of(userdata);
	if (session && operation != EPOLL_CTL_DEL && !accessible(event, sizeof(*event), 0))
		return int_result(-EFAULT);
	return int_result(session ? managed.epoll_ctl(session, epoll_fd, operation, fd, event) : unavailable());
}

static int shim_epoll_wait(void *userdata, int epoll_fd, struct epoll_event *events, int capacity, int timeout_ms)
{
	intptr_t session = session_of(userdata);
	if (session && capacity > 0 &&
	    (capacity > 1024 * 1024 || !accessible(events, (size_t)capacity * sizeof(*events), 1)))
		return int_result(capacity > 1024 * 1024 ? -EINVAL : -EFAULT);
	return int_result(session ? managed.epoll_wait(session, epoll_fd, events, capacity, timeout_ms) : unavailable());
}

static int shim_pipe(void *userdata, int fds[2])
{
	(void)userdata;
	(void)fds;
	errno = ENOSYS;
	return -1;
}

static int shim_splice(void *userdata, int fd_in, loff_t *offset_in, int fd_out, loff_t *offset_out,
		       size_t length, unsigned int flags)
{
	(void)userdata;
	(void)fd_in;
	(void)offset_in;
	(void)fd_out;
	(void)offset_out;
	(void)length;
	(void)flags;
	errno = ENOSYS;
	return -1;
}

/*
 * packetdrill's code events (%{ assert tcpi_snd_cwnd == 10 }%) read TCP_INFO, TCP_CC_INFO and
 * SO_MEMINFO with the C library's getsockopt on the script's descriptor, not through the table,
 * and the kernel has no socket there. When this object is also preloaded (LD_PRELOAD, as
 * run-in-netns.sh does), this getsockopt comes first: it asks the kernel, and only when the kernel
 * says the descriptor is no socket (ENOTSOCK, the shim's /dev/null descriptors) and the option is
 * one of those three does it answer from the session. Loaded only by dlopen, it interposes on
 * nothing and code events fail as without it.
 */
typedef int (*getsockopt_function)(int fd, int level, int name, void *value, socklen_t *length);

static int code_event_option(int level, int name)
{
	return (level == 6 && (name == 11 || name == 26)) /* SOL_TCP: TCP_INFO, TCP_CC_INFO */
		|| (level == 1 && name == 55);              /* SOL_SOCKET: SO_MEMINFO */
}

__attribute__((visibility("default")))
int getsockopt(int fd, int level, int name, void *value, socklen_t *length)
{
	static getsockopt_function kernel_getsockopt;
	if (!kernel_getsockopt)
		kernel_getsockopt = (getsockopt_function)dlsym(RTLD_NEXT, "getsockopt");
	if (!kernel_getsockopt) {
		errno = ENOSYS;
		return -1;
	}
	int result = kernel_getsockopt(fd, level, name, value, length);
	if (result == 0 || errno != ENOTSOCK || !code_event_session || !code_event_option(level, name)
	    || !value || !length)
		return result;
	/* The fields TunStack has no value for read as zero, whatever size the caller's struct has. */
	socklen_t wanted = *length;
	memset(value, 0, wanted);
	result = int_result(managed.getsockopt(code_event_session, fd, level, name, value, length));
	if (result == 0 && name == 11 && *length < wanted)
		*length = wanted;
	return result;
}

__attribute__((visibility("default")))
void packetdrill_interface_init(const char *flags, struct packetdrill_interface *table)
{
	struct shim *shim = calloc(1, sizeof(*shim));
	if (!shim) {
		say("out of memory", NULL);
		abort();
	}

	char assembly[PATH_MAX];
	if (!managed_loaded) {
		if (!find_assembly(flags, assembly, sizeof(assembly)))
			say("cannot tell where " SHIM_ASSEMBLY " is (pass --so_flags=assembly=PATH)", NULL);
		else
			managed_loaded = load_managed(assembly);
	}
	if (managed_loaded)
		shim->session = managed.open(flags ? flags : "");
	code_event_session = shim->session;
	if (!shim->session)
		say("every call will fail with ENOSYS", NULL);

	table->userdata = shim;
	table->free = shim_free;
	table->socket = shim_socket;
	table->bind = shim_bind;
	table->listen = shim_listen;
	table->accept = shim_accept;
	table->connect = shim_connect;
	table->read = shim_read;
	table->readv = shim_readv;
	table->recv = shim_recv;
	table->recvfrom = shim_recvfrom;
	table->recvmsg = shim_recvmsg;
	table->write = shim_write;
	table->writev = shim_writev;
	table->send = shim_send;
	table->sendto = shim_sendto;
	table->sendmsg = shim_sendmsg;
	table->fcntl = shim_fcntl;
	table->ioctl = shim_ioctl;
	table->close = shim_close;
	table->shutdown = shim_shutdown;
	table->getsockopt = shim_getsockopt;
	table->setsockopt = shim_setsockopt;
	table->poll = shim_poll;
	table->netdev_send = shim_netdev_send;
	table->netdev_receive = shim_netdev_receive;
	table->usleep = shim_usleep;
	table->gettimeofday = shim_gettimeofday;
	table->epoll_create = shim_epoll_create;
	table->epoll_ctl = shim_epoll_ctl;
	table->epoll_wait = shim_epoll_wait;
	table->pipe = shim_pipe;
	table->splice = shim_splice;
}
