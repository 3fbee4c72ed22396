import { describe, expect, it } from "@jest/globals";
import { CLONE_NEW_FLAGS, ERRNO, SECCOMP_RET } from "./kernel-abi.js";
import { DENY_RULES } from "./policy.js";
import { describeSeccompPolicy, seccompProgram, syscallAbi } from "./program.js";
import { SYSCALL_ABIS } from "./syscall-tables.js";

/**
 * Runs a compiled filter on one syscall, as the kernel would: a classic-BPF interpreter for the
 * four instructions the assembler emits, reading struct seccomp_data. It lets the aarch64 program
 * be checked on any host; test/isolation/seccomp.test.ts checks the host's one in the kernel.
 */
function verdict(program: Buffer, call: { arch: number; nr: number; args?: bigint[] }): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(call.nr, 0);
  data.writeUInt32LE(call.arch, 4);
  (call.args ?? []).forEach((arg, i) => data.writeBigUInt64LE(arg, 16 + 8 * i));
  let a = 0;
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = data.readUInt32LE(k);
    else if (code === 0x15) pc += a === k ? jt : jf;
    else if (code === 0x45) pc += (a & k) !== 0 ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error("the program ran off its end");
}

const errno = (name: keyof typeof ERRNO): number => SECCOMP_RET.ERRNO | ERRNO[name];

describe.each(Object.keys(SYSCALL_ABIS))("the seccomp program for %s", (arch) => {
  const abi = syscallAbi(arch);
  const program = seccompProgram(arch);
  const nr = (name: keyof typeof abi.numbers): number => {
    const number = abi.numbers[name];
    if (number === undefined) throw new Error(`${name} is not in the ${arch} table`);
    return number;
  };
  const run = (number: number, args: bigint[] = []): number => verdict(program, { arch: abi.auditArch, nr: number, args });

  it("kills the process on a syscall of any other ABI", () => {
    for (const other of [0x4000_0003 /* i386 */, 0x4000_0028 /* arm */, 0xc000_003e, 0xc000_00b7].filter((a) => a !== abi.auditArch)) {
      expect(verdict(program, { arch: other, nr: 0 })).toBe(SECCOMP_RET.KILL_PROCESS);
      expect(verdict(program, { arch: other, nr: nr("unshare") })).toBe(SECCOMP_RET.KILL_PROCESS);
    }
  });

  it("allows syscalls the policy does not name, ptrace among them", () => {
    const read = arch === "x64" ? 0 : 63;
    const ptrace = arch === "x64" ? 101 : 117;
    expect(run(read)).toBe(SECCOMP_RET.ALLOW);
    expect(run(ptrace)).toBe(SECCOMP_RET.ALLOW);
    expect(run(1000)).toBe(SECCOMP_RET.ALLOW);
  });

  it("denies every syscall of the deny list with its errno, whatever the arguments", () => {
    let checked = 0;
    for (const rule of DENY_RULES) {
      for (const name of rule.syscalls) {
        const number = abi.numbers[name];
        if (number === undefined) continue;
        expect([name, run(number)]).toEqual([name, errno(rule.errno)]);
        expect([name, run(number, [0n, 0n])]).toEqual([name, errno(rule.errno)]);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(40);
  });

  it("denies clone with any CLONE_NEW* flag or any high bit, and allows fork and thread creation", () => {
    const SIGCHLD = 17n;
    const fork = 0x0120_0000n | SIGCHLD; // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID, as glibc's fork
    const thread = 0x003d_0f00n; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    expect(run(nr("clone"), [fork])).toBe(SECCOMP_RET.ALLOW);
    expect(run(nr("clone"), [thread])).toBe(SECCOMP_RET.ALLOW);
    expect(run(nr("clone"), [0x80n | SIGCHLD])).toBe(SECCOMP_RET.ALLOW); // 0x80 is CSIGNAL in clone, not CLONE_NEWTIME
    for (let bit = 0; bit < 32; bit++) {
      const flag = 1 << bit;
      if ((CLONE_NEW_FLAGS & flag) === 0) continue;
      expect(run(nr("clone"), [BigInt(flag) | SIGCHLD])).toBe(errno("EPERM"));
    }
    expect(run(nr("clone"), [(1n << 32n) | SIGCHLD])).toBe(errno("EPERM"));
    expect(run(nr("clone"), [(1n << 63n) | SIGCHLD])).toBe(errno("EPERM"));
  });

  it("allows socket families unix, inet, inet6 and netlink only, comparing the int's low word", () => {
    for (const call of [nr("socket"), nr("socketpair")]) {
      for (const family of [1n, 2n, 10n, 16n]) expect(run(call, [family, 1n, 0n])).toBe(SECCOMP_RET.ALLOW);
      // AF_KEY, AF_PACKET, AF_BLUETOOTH, AF_ALG, AF_VSOCK, AF_XDP, and one past AF_MAX.
      for (const family of [15n, 17n, 31n, 38n, 40n, 44n, 46n]) expect(run(call, [family, 1n, 0n])).toBe(errno("EAFNOSUPPORT"));
      // The kernel takes the family as an int: garbage in the high word does not change it.
      expect(run(call, [(0xdeadn << 32n) | 2n, 1n, 0n])).toBe(SECCOMP_RET.ALLOW);
      expect(run(call, [(0xdeadn << 32n) | 40n, 1n, 0n])).toBe(errno("EAFNOSUPPORT"));
    }
  });

  it("allows personality only with Docker's values", () => {
    for (const value of [0n, 8n, 0x2_0000n, 0x2_0008n, 0xffff_ffffn]) expect(run(nr("personality"), [value])).toBe(SECCOMP_RET.ALLOW);
    for (const value of [0x40_0000n /* READ_IMPLIES_EXEC */, 0x4_0000n /* ADDR_NO_RANDOMIZE */, 1n]) {
      expect(run(nr("personality"), [value])).toBe(errno("EPERM"));
    }
  });

  it("describes what it denies", () => {
    const { summary, rules } = describeSeccompPolicy(arch);
    expect(summary).toContain(abi.name);
    expect(summary).toMatch(/\d+ syscalls denied \(namespaces, keyring, io_uring, mount, modules/);
    expect(summary).toContain("unix/inet/inet6/netlink");
    expect(rules.some((line) => line.startsWith("keyring: keyctl, add_key, request_key -> ENOSYS"))).toBe(true);
  });
});

describe("seccompProgram", () => {
  it("refuses x32 syscalls on x86_64 with ENOSYS (they would dodge every number comparison)", () => {
    const x64 = syscallAbi("x64");
    const unshare = x64.numbers.unshare ?? 0;
    expect(verdict(seccompProgram("x64"), { arch: x64.auditArch, nr: 0x4000_0000 | unshare })).toBe(errno("ENOSYS"));
    expect(verdict(seccompProgram("x64"), { arch: x64.auditArch, nr: 0x4000_0000 })).toBe(errno("ENOSYS"));
  });

  it("compiles once per architecture and defaults to the host's", () => {
    expect(seccompProgram("x64")).toBe(seccompProgram("x64"));
    expect(seccompProgram()).toBe(seccompProgram(process.arch));
  });

  it("throws a clear error on an architecture it has no table for", () => {
    expect(() => seccompProgram("riscv64")).toThrow(/no syscall table for architecture "riscv64" \(supported: x64, arm64\)/);
    expect(() => describeSeccompPolicy("s390x")).toThrow(/"s390x"/);
  });
});
