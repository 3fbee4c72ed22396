/**
 * Syscall numbers of the two supported ABIs, only for the syscalls the policy names. Checked
 * against linux-libc-dev 6.1's asm/unistd_64.h and asm-generic/unistd.h (aarch64 uses the
 * generic table); open_tree_attr (6.15) against the kernel's syscall_64.tbl, where every number
 * from 424 on is shared by all architectures.
 */

export type SyscallName =
  | "unshare"
  | "setns"
  | "clone"
  | "clone3"
  | "socket"
  | "socketpair"
  | "personality"
  | "keyctl"
  | "add_key"
  | "request_key"
  | "io_uring_setup"
  | "io_uring_enter"
  | "io_uring_register"
  | "init_module"
  | "finit_module"
  | "delete_module"
  | "create_module"
  | "mount"
  | "umount2"
  | "pivot_root"
  | "move_mount"
  | "open_tree"
  | "open_tree_attr"
  | "fsopen"
  | "fsconfig"
  | "fsmount"
  | "fspick"
  | "mount_setattr"
  | "kexec_load"
  | "kexec_file_load"
  | "reboot"
  | "swapon"
  | "swapoff"
  | "acct"
  | "quotactl"
  | "quotactl_fd"
  | "syslog"
  | "lookup_dcookie"
  | "nfsservctl"
  | "uselib"
  | "bpf"
  | "perf_event_open"
  | "userfaultfd"
  | "open_by_handle_at"
  | "name_to_handle_at"
  | "settimeofday"
  | "clock_settime"
  | "iopl"
  | "ioperm";

export interface SyscallAbi {
  /** The ABI's name in the kernel's terms, for messages. */
  name: string;
  /** AUDIT_ARCH_* (linux/audit.h): seccomp_data.arch of a syscall made through this ABI. */
  auditArch: number;
  /**
   * x86_64 only: __X32_SYSCALL_BIT. x32 syscalls arrive with the x86_64 audit arch and this bit
   * set in the number, so they match none of the numbers below and must be refused on their own.
   */
  x32Bit?: number;
  /** Absent: the syscall does not exist in this ABI (create_module, uselib, iopl, ioperm on aarch64). */
  numbers: Readonly<Partial<Record<SyscallName, number>>>;
}

/** Keyed by `process.arch`. vm86 and vm86old exist only in the i386 ABI, which the arch check kills. */
export const SYSCALL_ABIS: Readonly<Record<string, SyscallAbi>> = {
  x64: {
    name: "x86_64",
    auditArch: 0xc000_003e,
    x32Bit: 0x4000_0000,
    numbers: {
      unshare: 272,
      setns: 308,
      clone: 56,
      clone3: 435,
      socket: 41,
      socketpair: 53,
      personality: 135,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      create_module: 174,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      move_mount: 429,
      open_tree: 428,
      open_tree_attr: 467,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
      kexec_load: 246,
      kexec_file_load: 320,
      reboot: 169,
      swapon: 167,
      swapoff: 168,
      acct: 163,
      quotactl: 179,
      quotactl_fd: 443,
      syslog: 103,
      lookup_dcookie: 212,
      nfsservctl: 180,
      uselib: 134,
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323,
      open_by_handle_at: 304,
      name_to_handle_at: 303,
      settimeofday: 164,
      clock_settime: 227,
      iopl: 172,
      ioperm: 173,
    },
  },
  arm64: {
    name: "aarch64",
    auditArch: 0xc000_00b7,
    numbers: {
      unshare: 97,
      setns: 268,
      clone: 220,
      clone3: 435,
      socket: 198,
      socketpair: 199,
      personality: 92,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      move_mount: 429,
      open_tree: 428,
      open_tree_attr: 467,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
      kexec_load: 104,
      kexec_file_load: 294,
      reboot: 142,
      swapon: 224,
      swapoff: 225,
      acct: 89,
      quotactl: 60,
      quotactl_fd: 443,
      syslog: 116,
      lookup_dcookie: 18,
      nfsservctl: 42,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      open_by_handle_at: 265,
      name_to_handle_at: 264,
      settimeofday: 170,
      clock_settime: 112,
    },
  },
};
