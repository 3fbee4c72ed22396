/**
 * The policy compiled to the BPF program `bwrap --seccomp FD` installs (bwrap reads the raw
 * sock_filter array from the fd and installs it, with no_new_privs, right before it execs the
 * sandboxed command). Compiled once per process and architecture.
 *
 * Shape of the program:
 *   arch != this ABI's AUDIT_ARCH          -> KILL_PROCESS (i386 or arm32 syscalls from a 64-bit
 *                                             host, whose numbers mean other things: fail closed)
 *   x86_64: nr has the x32 bit             -> ENOSYS (as on kernels built without x32)
 *   clone with a CLONE_NEW* flag           -> EPERM
 *   socket/socketpair, family not allowed  -> EAFNOSUPPORT
 *   personality, value not allowed         -> EPERM
 *   a denied syscall                       -> its errno
 *   anything else                          -> ALLOW
 * A linear list of comparisons costs nothing on the hot path: since Linux 5.11 the kernel caches
 * a filter's verdict for every syscall whose verdict does not depend on its arguments, so read(2)
 * and friends never run the program; only clone, socket(pair) and personality do, and they are
 * compared first.
 */
import { assemble, jeq, jset, label, ld, ret, type Statement } from "./bpf-assembler.js";
import { CLONE_NEW_FLAGS, retErrno, SECCOMP_DATA, SECCOMP_RET, type ErrnoName } from "./kernel-abi.js";
import { DENY_RULES, PERSONALITIES, SOCKET_FAMILIES } from "./policy.js";
import { SYSCALL_ABIS, type SyscallAbi } from "./syscall-tables.js";

const ERRNO_LABEL = (errno: ErrnoName): string => `ret-${errno}`;

/** The ABI of `arch` (a `process.arch` value); throws on one the filter has no table for. */
export function syscallAbi(arch: string): SyscallAbi {
  const abi = SYSCALL_ABIS[arch];
  if (abi === undefined) {
    throw new Error(
      `seccomp: no syscall table for architecture "${arch}" (supported: ${Object.keys(SYSCALL_ABIS).join(", ")}); ` +
        "jobs cannot get the sandbox's syscall filter on this host",
    );
  }
  return abi;
}

function compile(abi: SyscallAbi): Buffer {
  const nr = abi.numbers;
  /** A comparison of the syscall number, for the syscalls this ABI has. */
  const onSyscall = (number: number | undefined, target: string): Statement[] => (number === undefined ? [] : [jeq(number, target)]);
  const denied = DENY_RULES.flatMap((rule) => rule.syscalls.flatMap((name) => onSyscall(nr[name], ERRNO_LABEL(rule.errno))));

  const program: Statement[] = [
    ld(SECCOMP_DATA.arch),
    jeq(abi.auditArch, undefined, "kill"),
    ld(SECCOMP_DATA.nr),
    ...(abi.x32Bit === undefined ? [] : [jset(abi.x32Bit, ERRNO_LABEL("ENOSYS"))]),
    ...onSyscall(nr.clone, "clone"),
    ...onSyscall(nr.socket, "socket"),
    ...onSyscall(nr.socketpair, "socket"),
    ...onSyscall(nr.personality, "personality"),
    ...denied,
    ret(SECCOMP_RET.ALLOW),

    // clone's flags are an unsigned long: the CLONE_NEW* bits are all in the low word, and the
    // kernel ignores the high one, so a set high bit has no honest use: refuse it too.
    label("clone"),
    ld(SECCOMP_DATA.argHigh(0)),
    jeq(0, undefined, ERRNO_LABEL("EPERM")),
    ld(SECCOMP_DATA.argLow(0)),
    jset(CLONE_NEW_FLAGS, ERRNO_LABEL("EPERM"), "allow"),

    // The family is an int: the kernel reads only the low word, so only the low word is compared.
    label("socket"),
    ld(SECCOMP_DATA.argLow(0)),
    ...Object.values(SOCKET_FAMILIES).map((family) => jeq(family, "allow")),
    ret(retErrno("EAFNOSUPPORT")),

    // personality(unsigned int): the low word again; any other value falls through to EPERM.
    label("personality"),
    ld(SECCOMP_DATA.argLow(0)),
    ...PERSONALITIES.map((persona) => jeq(persona, "allow")),

    label(ERRNO_LABEL("EPERM")),
    ret(retErrno("EPERM")),
    label(ERRNO_LABEL("ENOSYS")),
    ret(retErrno("ENOSYS")),
    label("kill"),
    ret(SECCOMP_RET.KILL_PROCESS),
    label("allow"),
    ret(SECCOMP_RET.ALLOW),
  ];
  return assemble(program);
}

const compiled = new Map<string, Buffer>();

/**
 * The filter for jobs on `arch`, as bytes to write to the fd given to `bwrap --seccomp`. Compiled
 * on first use and shared afterwards: do not modify the Buffer. Throws on an unsupported arch.
 */
export function seccompProgram(arch: string = process.arch): Buffer {
  let program = compiled.get(arch);
  if (program === undefined) {
    program = compile(syscallAbi(arch));
    compiled.set(arch, program);
  }
  return program;
}

export interface SeccompDescription {
  /** One line for the probe's details and health: "seccomp: 47 syscalls denied (...), ..." */
  summary: string;
  /** One line per rule, for the README and logs. */
  rules: string[];
}

/** What the filter on `arch` refuses, in words. Throws on an unsupported arch. */
export function describeSeccompPolicy(arch: string = process.arch): SeccompDescription {
  const abi = syscallAbi(arch);
  const present = (names: readonly string[]): string[] => names.filter((name) => name in abi.numbers);
  const groups = [...new Set(DENY_RULES.map((rule) => rule.group))];
  const deniedCount = DENY_RULES.reduce((sum, rule) => sum + present(rule.syscalls).length, 0);
  const families = Object.keys(SOCKET_FAMILIES).join("/");
  return {
    summary:
      `seccomp (${abi.name}): ${deniedCount} syscalls denied (${groups.join(", ")}), clone with CLONE_NEW* flags denied, ` +
      `socket families ${families} only, syscalls of other ABIs kill the process`,
    rules: [
      `syscalls of any ABI other than ${abi.name} kill the process${abi.x32Bit === undefined ? "" : "; x32 syscalls -> ENOSYS"}`,
      ...DENY_RULES.map((rule) => `${rule.group}: ${present(rule.syscalls).join(", ")} -> ${rule.errno}`),
      "clone with any CLONE_NEW* flag (or any bit of the flags' high word) -> EPERM",
      `socket, socketpair: families ${families} only, others -> EAFNOSUPPORT`,
      `personality: only ${PERSONALITIES.map((p) => `0x${p.toString(16)}`).join(", ")}, others -> EPERM`,
    ],
  };
}
