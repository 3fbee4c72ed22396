/*
 * The sandbox's only way to its model (src/agent/model-relay.ts). A delegated agent's sandbox has a network
 * namespace with loopback only; the worker's model gateway listens on a unix socket bound into the session.
 * This relay, run as the job's uid inside the sandbox, joins the two:
 *
 *   model-relay PORT SOCKET -- ARGV...
 *
 * 1. Listens on 127.0.0.1:PORT of the sandbox's namespace, then runs ARGV (the agent) as its child, so the
 *    agent's first request finds the port open.
 * 2. Relays every accepted TCP connection to a new connection to SOCKET, both ways, passing a half-close on
 *    (shutdown(SHUT_WR) once one side has ended and everything it sent is delivered). A failed connect to the
 *    socket closes the TCP connection: the agent sees its request fail rather than hang.
 * 3. Exits when the child does, with its status (the exit code, or 128+signal as a shell says), and forwards
 *    SIGTERM to it, so that the worker's kill reaches the agent and the job's status is the agent's.
 *
 * One process, one poll() loop, non-blocking sockets and a fixed buffer per direction: a slow reader on
 * either side stops the relay reading from the other (backpressure), so memory stays bounded however much
 * flows. At most MAX_CONNECTIONS at once; further ones wait in the listen backlog.
 * Errors go to stderr as "model-relay: ..." and exit 125; a program that cannot be run exits 127 (126 when
 * it exists but cannot be executed), as a shell would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define BUFFER_BYTES (64 * 1024)
#define BACKLOG 128

/* One direction of a connection: bytes read from `from`, not yet written to `to`. */
struct pipe {
  char *data;
  size_t start, length;
  bool ended;    /* `from` reached its end: nothing more will come */
  bool shutdown; /* the end was passed on with shutdown(to, SHUT_WR) */
};

struct connection {
  int tcp, unix_fd;
  struct pipe up;   /* tcp -> unix */
  struct pipe down; /* unix -> tcp */
};

static struct connection *connections[MAX_CONNECTIONS];
static int connection_count;
static pid_t child = -1;

static void fail(const char *what) {
  dprintf(2, "model-relay: %s: %s\n", what, strerror(errno));
  if (child > 0) kill(child, SIGKILL);
  _exit(125);
}

static void usage(const char *why) {
  dprintf(2, "model-relay: %s\nusage: model-relay PORT SOCKET -- PROGRAM [ARGS...]\n", why);
  _exit(125);
}

static void close_connection(int index) {
  struct connection *c = connections[index];
  close(c->tcp);
  close(c->unix_fd);
  free(c->up.data);
  free(c->down.data);
  free(c);
  connections[index] = connections[--connection_count];
}

static int listen_on(long port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) fail("SO_REUSEADDR");
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    dprintf(2, "model-relay: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
    _exit(125);
  }
  if (listen(fd, BACKLOG) != 0) fail("listen");
  return fd;
}

/* The connection to the gateway for one accepted TCP connection; -1 when it cannot be had. A unix connect
 * completes at once or fails (EAGAIN only when the gateway's backlog is full), so it needs no poll. */
static int connect_gateway(const struct sockaddr_un *gateway) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr *)gateway, sizeof *gateway) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void accept_connections(int listener, const struct sockaddr_un *gateway, int max_connections) {
  while (connection_count < max_connections) {
    int tcp = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (tcp < 0) return; /* EAGAIN: all taken; anything else: the next poll tells again */
    int on = 1;
    setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    int unix_fd = connect_gateway(gateway);
    struct connection *c = unix_fd < 0 ? NULL : calloc(1, sizeof *c);
    char *up = c == NULL ? NULL : malloc(BUFFER_BYTES);
    char *down = up == NULL ? NULL : malloc(BUFFER_BYTES);
    if (down == NULL) {
      free(up);
      free(c);
      if (unix_fd >= 0) close(unix_fd);
      close(tcp);
      continue;
    }
    c->tcp = tcp;
    c->unix_fd = unix_fd;
    c->up.data = up;
    c->down.data = down;
    connections[connection_count++] = c;
  }
}

/* Moves what it can of one direction; false when the connection is broken and must be closed. What was just
 * read is sent at once, without waiting for the next poll to say the other side is writable: it usually is,
 * and a loop round per chunk would halve the throughput. */
static bool pump(struct pipe *p, int from, int to, short from_events, short to_events) {
  bool fresh = false;
  if ((from_events & (POLLIN | POLLHUP | POLLERR)) && !p->ended && p->length < BUFFER_BYTES) {
    if (p->start > 0) {
      memmove(p->data, p->data + p->start, p->length);
      p->start = 0;
    }
    ssize_t n = recv(from, p->data + p->length, BUFFER_BYTES - p->length, 0);
    if (n == 0) p->ended = true;
    else if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    else if (n > 0) p->length += (size_t)n, fresh = true;
  }
  if ((fresh || (to_events & (POLLOUT | POLLHUP | POLLERR))) && p->length > 0) {
    ssize_t n = send(to, p->data + p->start, p->length, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) {
      p->start += (size_t)n;
      p->length -= (size_t)n;
      if (p->length == 0) p->start = 0;
    }
  }
  if (p->ended && p->length == 0 && !p->shutdown) {
    if (shutdown(to, SHUT_WR) != 0) return false;
    p->shutdown = true;
  }
  return true;
}

/* What to wait for on one side: readable while its buffer has room, writable while the other has bytes. */
static short events_for(const struct pipe *reading, const struct pipe *writing) {
  short events = 0;
  if (!reading->ended && reading->length < BUFFER_BYTES) events |= POLLIN;
  if (writing->length > 0) events |= POLLOUT;
  return events;
}

/* A side with nothing to wait for is left out of the poll: its hang-up, reported whatever the events
 * asked, would otherwise wake the loop again and again while the other side is slow. */
static struct pollfd watch(int fd, short events) {
  return (struct pollfd){.fd = events ? fd : -1, .events = events};
}

static int max_connections_for_descriptors(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return MAX_CONNECTIONS;
  /* Two descriptors a connection, and a few for stdio, the listener and the signalfd. */
  long fit = ((long)limit.rlim_cur - 8) / 2;
  return fit < 1 ? 1 : fit < MAX_CONNECTIONS ? (int)fit : MAX_CONNECTIONS;
}

static void run_child(char **argv, const sigset_t *original_mask) {
  sigprocmask(SIG_SETMASK, original_mask, NULL);
  execvp(argv[0], argv);
  int code = errno == ENOENT ? 127 : 126;
  dprintf(2, "model-relay: cannot run '%s': %s\n", argv[0], strerror(errno));
  _exit(code);
}

/* Reads the pending signals: forwards SIGTERM, and exits like the child once it has ended. */
static void handle_signals(int signals) {
  struct signalfd_siginfo info;
  while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {
    if (info.ssi_signo == SIGTERM) kill(child, SIGTERM);
  }
  int status;
  pid_t ended = waitpid(child, &status, WNOHANG);
  if (ended == child) _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
  if (ended < 0 && errno != EINTR) fail("waitpid");
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) usage("expected PORT SOCKET -- PROGRAM");
  char *end;
  errno = 0;
  long port = strtol(argv[1], &end, 10);
  if (errno != 0 || end == argv[1] || *end != '\0' || port < 1 || port > 65535) usage("PORT must be a number from 1 to 65535");
  struct sockaddr_un gateway = {.sun_family = AF_UNIX};
  if (argv[2][0] == '\0' || strlen(argv[2]) >= sizeof gateway.sun_path) usage("SOCKET must be a path shorter than 108 bytes");
  strcpy(gateway.sun_path, argv[2]);

  /* Blocked before the fork, so that a SIGTERM or the child's end can never slip past the signalfd. */
  sigset_t handled, original_mask;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &handled, &original_mask) != 0) fail("sigprocmask");
  int signals = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signals < 0) fail("signalfd");
  int listener = listen_on(port);
  int max_connections = max_connections_for_descriptors();

  child = fork();
  if (child < 0) fail("fork");
  if (child == 0) run_child(&argv[4], &original_mask);

  static struct pollfd fds[2 + 2 * MAX_CONNECTIONS];
  for (;;) {
    fds[0] = (struct pollfd){.fd = signals, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = connection_count < max_connections ? listener : -1, .events = POLLIN};
    for (int i = 0; i < connection_count; i++) {
      struct connection *c = connections[i];
      fds[2 + 2 * i] = watch(c->tcp, events_for(&c->up, &c->down));
      fds[3 + 2 * i] = watch(c->unix_fd, events_for(&c->down, &c->up));
    }
    int watched = connection_count;
    if (poll(fds, (nfds_t)(2 + 2 * watched), -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (fds[0].revents) handle_signals(signals);
    /* From the last down, since closing one moves the last connection into its place. */
    for (int i = watched - 1; i >= 0; i--) {
      struct connection *c = connections[i];
      short tcp_events = fds[2 + 2 * i].revents, unix_events = fds[3 + 2 * i].revents;
      if (!pump(&c->up, c->tcp, c->unix_fd, tcp_events, unix_events) || !pump(&c->down, c->unix_fd, c->tcp, unix_events, tcp_events) ||
          (c->up.shutdown && c->down.shutdown)) {
        close_connection(i);
      }
    }
    if (fds[1].revents) accept_connections(listener, &gateway, max_connections);
  }
}
