/*
 * The last link of the sandbox chain (src/sandbox/bwrap-args.ts): bwrap runs it inside the job's
 * namespaces, as root with only CAP_SETUID, CAP_SETGID and CAP_SETPCAP, no_new_privs and the seccomp
 * filter already in force:
 *
 *   sandbox-launcher UID GID CWD STATUS_FD NENV NAME=VALUE... ARGV...
 *
 * 1. Closes every descriptor but 0, 1, 2 and STATUS_FD: whatever the worker inherited from its own
 *    parent (a directory under a root-only path, a supervisor's pipe) never reaches the job.
 * 2. Forks. The child drops to UID/GID with no groups, no capabilities in any set and no_new_privs,
 *    enters CWD as that uid, and execs ARGV with exactly the NENV variables (PATH looked up in the
 *    job's own PATH, as env -i would).
 * 3. The parent drops to the overflow uid with no capabilities (the job can neither signal nor trace
 *    it), waits for the child, counts the processes of the sandbox still alive at that moment, and
 *    writes one line to STATUS_FD:
 *        exit CODE alive N        or        signal NUMBER core 0|1 alive N
 *    then exits like the child (128+NUMBER for a signal, as a shell would say).
 * bwrap turns a signal into the exit status 128+N, so without the line a job that exits 139 and one
 * killed by SIGSEGV look alike; and when the child ends, bwrap's init takes the whole pid namespace
 * down, so processes the job left behind can only be counted from in here.
 * Any failure before the exec is reported on stderr and exits 125 (126/127 for an exec failure).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define OVERFLOW_ID 65534

extern char **environ;

static void fail(const char *what) {
  dprintf(2, "opencode-worker sandbox: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static void refuse(const char *what) {
  dprintf(2, "opencode-worker sandbox: %s\n", what);
  _exit(125);
}

static long parse_number(const char *text, long max) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > max) refuse("bad launcher arguments");
  return value;
}

static void close_all_but(int keep) {
  if (syscall(SYS_close_range, 3, keep - 1, 0) != 0 || syscall(SYS_close_range, keep + 1, ~0U, 0) != 0) {
    fail("cannot close inherited descriptors");
  }
  if (fcntl(keep, F_SETFD, FD_CLOEXEC) != 0) fail("status descriptor");
}

/* Empties every capability set (bounding, ambient, effective, permitted, inheritable) and turns on
 * no_new_privs, then checks that it all held: a drop that failed half-way must not run the job. */
static void drop_privileges(uid_t uid, gid_t gid) {
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("cannot drop the capability bounding set");
  }
  if (setgroups(0, NULL) != 0) fail("setgroups");
  if (setresgid(gid, gid, gid) != 0) fail("setresgid");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) fail("PR_SET_KEEPCAPS");
  if (setresuid(uid, uid, uid) != 0) fail("setresuid");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) fail("cannot clear ambient capabilities");
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) fail("capset");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS");

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0) fail("getresuid");
  if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid) refuse("uid drop did not hold");
  if (getgroups(0, NULL) != 0) refuse("supplementary groups remain");
  memset(data, 0xff, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) fail("capget");
  for (int i = 0; i < 2; i++) {
    if (data[i].effective || data[i].permitted || data[i].inheritable) refuse("capabilities remain");
  }
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) refuse("no_new_privs did not hold");
}

/* Processes of this pid namespace other than its init (1) and this launcher, zombies excluded. */
static int count_alive(void) {
  DIR *proc = opendir("/proc");
  if (proc == NULL) return 0;
  int alive = 0;
  pid_t self = getpid();
  for (struct dirent *entry; (entry = readdir(proc)) != NULL;) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 1 || pid == self) continue;
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) continue;
    stat[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')' since comm may hold anything. */
    char *paren = strrchr(stat, ')');
    if (paren != NULL && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X') alive++;
  }
  closedir(proc);
  return alive;
}

static void run_job(uid_t uid, gid_t gid, const char *cwd, char **env, char **argv) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  drop_privileges(uid, gid);
  if (chdir(cwd) != 0) fail("cannot enter the working directory");
  environ = env;
  execvp(argv[0], argv);
  int code = errno == ENOENT ? 127 : 126;
  dprintf(2, "opencode-worker sandbox: cannot run '%s': %s\n", argv[0], strerror(errno));
  _exit(code);
}

static void wait_and_report(pid_t child, int status_fd) {
  static const int ignored[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
  for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) signal(ignored[i], SIG_IGN);
  if (setgroups(0, NULL) != 0 || setresgid(OVERFLOW_ID, OVERFLOW_ID, OVERFLOW_ID) != 0 ||
      setresuid(OVERFLOW_ID, OVERFLOW_ID, OVERFLOW_ID) != 0) {
    kill(child, SIGKILL);
    fail("cannot drop the launcher's own privileges");
  }
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid");
  }
  int alive = count_alive();
  char line[96];
  int length = WIFSIGNALED(status)
                   ? snprintf(line, sizeof line, "signal %d core %d alive %d\n", WTERMSIG(status), WCOREDUMP(status) ? 1 : 0, alive)
                   : snprintf(line, sizeof line, "exit %d alive %d\n", WEXITSTATUS(status), alive);
  if (write(status_fd, line, (size_t)length) != length) {
    /* The worker is gone or stopped listening: it falls back to bwrap's exit status. */
  }
  _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

int main(int argc, char **argv) {
  if (argc < 7) refuse("usage: sandbox-launcher UID GID CWD STATUS_FD NENV NAME=VALUE... ARGV...");
  uid_t uid = (uid_t)parse_number(argv[1], 0x7fffffff);
  gid_t gid = (gid_t)parse_number(argv[2], 0x7fffffff);
  const char *cwd = argv[3];
  int status_fd = (int)parse_number(argv[4], 1 << 20);
  long nenv = parse_number(argv[5], argc);
  if (uid == 0 || gid == 0) refuse("refusing to run a job as root");
  if (status_fd < 3 || 6 + nenv >= argc) refuse("bad launcher arguments");
  char **env = &argv[6];
  char **job_argv = &argv[6 + nenv];
  /* The job's variables become its environ: that array must end in NULL, where its argv begins. */
  char **env_copy = calloc((size_t)nenv + 1, sizeof(char *));
  if (env_copy == NULL) fail("calloc");
  memcpy(env_copy, env, (size_t)nenv * sizeof(char *));

  close_all_but(status_fd);
  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child == 0) run_job(uid, gid, cwd, env_copy, job_argv);
  wait_and_report(child, status_fd);
  return 125;
}
