/**
 * What the sandbox's seccomp filter refuses, as data; seccomp-program.ts compiles it.
 *
 * In the spirit of container runtimes' default profiles (Docker's profiles/seccomp/default.json is
 * the reference), but default ALLOW with a deny list: jobs run arbitrary toolchains, and an
 * allowlist that misses one new syscall breaks them in ways nobody can diagnose from a job's
 * output. The list covers what the rest of the sandbox does not already: jobs have no capabilities,
 * so most entries are defence in depth against kernel bugs; a few (unshare, keyctl, io_uring,
 * AF_VSOCK, bpf, userfaultfd) are reachable by an unprivileged uid and are the real holes.
 *
 * Deliberately allowed:
 * - ptrace, process_vm_readv/writev, kcmp, pidfd_getfd: strace and gdb on the job's own children
 *   must work, and a job cannot reach anything else: other sessions run as other uids, the job
 *   has no capabilities and its own pid namespace.
 * - adjtimex, clock_adjtime: with modes 0 they only read the clock state (ntp_gettime); changing
 *   it needs CAP_SYS_TIME, which jobs never have. Docker allows both for the same reason.
 * - name_to_handle_at: it only names a file; opening a handle (open_by_handle_at, the "shocker"
 *   escape) is what is dangerous, and that is denied. Docker allows it too.
 */
import type { ErrnoName } from "./kernel-abi.js";
import type { SyscallName } from "./syscall-tables.js";

export interface DenyRule {
  /** A short name for descriptions: "namespaces", "keyring"... */
  group: string;
  syscalls: readonly SyscallName[];
  errno: ErrnoName;
}

/**
 * Refused whatever their arguments. ENOSYS where a program should take the syscall as absent
 * (and fall back, as glibc does from clone3 to clone), EPERM where it should see a refusal.
 */
export const DENY_RULES: readonly DenyRule[] = [
  { group: "namespaces", syscalls: ["unshare", "setns"], errno: "EPERM" },
  // BPF cannot read clone3's flags (they are in a struct in user memory): refuse it whole, as
  // Docker does; glibc then falls back to clone, whose flags the filter checks.
  { group: "namespaces", syscalls: ["clone3"], errno: "ENOSYS" },
  // Sequential jobs reuse a slot uid, and the user keyring belongs to the uid: it would carry keys
  // from one caller's job to the next caller's.
  { group: "keyring", syscalls: ["keyctl", "add_key", "request_key"], errno: "ENOSYS" },
  { group: "io_uring", syscalls: ["io_uring_setup", "io_uring_enter", "io_uring_register"], errno: "ENOSYS" },
  {
    group: "mount",
    syscalls: [
      "mount",
      "umount2",
      "pivot_root",
      "move_mount",
      "open_tree",
      "open_tree_attr",
      "fsopen",
      "fsconfig",
      "fsmount",
      "fspick",
      "mount_setattr",
    ],
    errno: "EPERM",
  },
  { group: "modules", syscalls: ["init_module", "finit_module", "delete_module", "create_module"], errno: "EPERM" },
  { group: "bpf/perf/userfaultfd", syscalls: ["bpf", "perf_event_open", "userfaultfd"], errno: "EPERM" },
  { group: "file handles", syscalls: ["open_by_handle_at"], errno: "EPERM" },
  {
    group: "host administration",
    syscalls: [
      "kexec_load",
      "kexec_file_load",
      "reboot",
      "swapon",
      "swapoff",
      "acct",
      "quotactl",
      "quotactl_fd",
      "syslog",
      "lookup_dcookie",
      "nfsservctl",
      "uselib",
      "settimeofday",
      "clock_settime",
      "iopl",
      "ioperm",
    ],
    errno: "EPERM",
  },
];

/**
 * socket() and socketpair() families a job may use; any other gets EAFNOSUPPORT, as from a kernel
 * built without it. AF_NETLINK stays: glibc's getaddrinfo and `ip` need it, and the net namespace
 * confines it. AF_VSOCK (40) is the one that matters: the net namespace does not cover it.
 */
export const SOCKET_FAMILIES: Readonly<Record<string, number>> = { unix: 1, inet: 2, inet6: 10, netlink: 16 };

/**
 * personality() values allowed (Docker's list): PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26,
 * and 0xffffffff, which only reads the current one. Anything else (READ_IMPLIES_EXEC,
 * ADDR_NO_RANDOMIZE...) weakens exploit mitigations: EPERM.
 */
export const PERSONALITIES: readonly number[] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];
