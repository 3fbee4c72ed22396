/**
 * The kernel constants a seccomp filter is written against (linux/seccomp.h, linux/audit.h,
 * linux/sched.h, linux/socket.h, asm-generic/errno.h). They are the same on x86_64 and aarch64;
 * only the syscall numbers differ (see syscall-tables.ts).
 */

/**
 * Byte offsets in `struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }`.
 * A 64-bit argument is two 32-bit words; on a little-endian host the low word comes first.
 */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  argLow: (index: number): number => 16 + 8 * index,
  argHigh: (index: number): number => 20 + 8 * index,
} as const;

/** What a filter returns. KILL_PROCESS kills every thread, not only the caller (KILL_THREAD would leave the rest running). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x8000_0000,
  ERRNO: 0x0005_0000,
  ALLOW: 0x7fff_0000,
} as const;

export const ERRNO = { EPERM: 1, ENOSYS: 38, EAFNOSUPPORT: 97 } as const;
export type ErrnoName = keyof typeof ERRNO;

/** `SECCOMP_RET_ERRNO | errno`: the syscall is not run and returns -errno. */
export const retErrno = (name: ErrnoName): number => SECCOMP_RET.ERRNO | ERRNO[name];

/**
 * The namespace flags clone(2) accepts: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
 * (0x7E020000, Docker's mask). CLONE_NEWTIME (0x80) is left out: in clone(2) that bit belongs to
 * the exit signal (CSIGNAL), and only clone3 and unshare take it, both refused whole.
 */
export const CLONE_NEW_FLAGS = 0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;
