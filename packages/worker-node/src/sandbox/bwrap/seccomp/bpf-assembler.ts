/**
 * A tiny classic-BPF assembler: just the instructions a seccomp filter needs, with jumps written
 * to named labels and resolved to the kernel's relative offsets here, so the policy never counts
 * instructions by hand.
 *
 * Output is the `struct sock_filter` array the kernel (and `bwrap --seccomp FD`) takes as is:
 * 8 bytes per instruction, `u16 code, u8 jt, u8 jf, u32 k`, in host byte order. Only
 * little-endian hosts are supported (x86_64, aarch64), so it is written little-endian.
 */

/** linux/filter.h: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_J*|BPF_K, BPF_RET|BPF_K. */
const OPCODE = {
  ld: 0x20,
  jeq: 0x15,
  jset: 0x45,
  ret: 0x06,
} as const;

/** BPF_MAXINSNS: the kernel refuses longer programs. */
export const MAX_INSTRUCTIONS = 4096;

/** A jump target: a label's name, or undefined for "the next instruction". */
export type Target = string | undefined;

export type Statement =
  /** A = the 32-bit word at `offset` in the input (struct seccomp_data). */
  | { op: "ld"; offset: number }
  /** if (A == k) goto then else goto otherwise. */
  | { op: "jeq"; k: number; then: Target; otherwise: Target }
  /** if (A & k) goto then else goto otherwise. */
  | { op: "jset"; k: number; then: Target; otherwise: Target }
  /** Stop with verdict `k`. */
  | { op: "ret"; k: number }
  /** Names the position of the next instruction; emits nothing. */
  | { op: "label"; name: string };

export const ld = (offset: number): Statement => ({ op: "ld", offset });
export const jeq = (k: number, then: Target, otherwise?: Target): Statement => ({ op: "jeq", k, then, otherwise });
export const jset = (k: number, then: Target, otherwise?: Target): Statement => ({ op: "jset", k, then, otherwise });
export const ret = (k: number): Statement => ({ op: "ret", k });
export const label = (name: string): Statement => ({ op: "label", name });

/** Thrown when a program cannot be encoded: a bad constant, an unknown or backward label, a jump too far. */
export class BpfAssemblyError extends Error {
  override readonly name = "BpfAssemblyError";
}

/** Encodes `program` to a sock_filter array. Every path must end in a `ret` (the kernel checks it again). */
export function assemble(program: readonly Statement[]): Buffer {
  const labels = new Map<string, number>();
  let count = 0;
  for (const statement of program) {
    if (statement.op !== "label") {
      count += 1;
      continue;
    }
    if (labels.has(statement.name)) throw new BpfAssemblyError(`label "${statement.name}" is defined twice`);
    labels.set(statement.name, count);
  }
  if (count === 0 || count > MAX_INSTRUCTIONS) {
    throw new BpfAssemblyError(`a program has 1 to ${MAX_INSTRUCTIONS} instructions, got ${count}`);
  }

  const out = Buffer.alloc(count * 8);
  let index = 0;
  for (const statement of program) {
    if (statement.op === "label") continue;
    let k: number;
    let jt = 0;
    let jf = 0;
    switch (statement.op) {
      case "ld":
        k = statement.offset;
        break;
      case "ret":
        k = statement.k;
        break;
      case "jeq":
      case "jset":
        k = statement.k;
        jt = offsetTo(statement.then, index, labels, count);
        jf = offsetTo(statement.otherwise, index, labels, count);
        break;
    }
    if (!Number.isInteger(k) || k < 0 || k > 0xffff_ffff) {
      throw new BpfAssemblyError(`instruction ${index} (${statement.op}): k must be a u32, got ${k}`);
    }
    const at = index * 8;
    out.writeUInt16LE(OPCODE[statement.op], at);
    out.writeUInt8(jt, at + 2);
    out.writeUInt8(jf, at + 3);
    out.writeUInt32LE(k, at + 4);
    index += 1;
  }
  const last = program.filter((s) => s.op !== "label").at(-1);
  if (last?.op !== "ret") throw new BpfAssemblyError("the last instruction must be a ret");
  return out;
}

/** A conditional jump's offset: instructions skipped after the jump itself; classic BPF jumps only forward, at most 255. */
function offsetTo(target: Target, from: number, labels: ReadonlyMap<string, number>, count: number): number {
  if (target === undefined) return 0;
  const to = labels.get(target);
  if (to === undefined) throw new BpfAssemblyError(`instruction ${from} jumps to the unknown label "${target}"`);
  const offset = to - from - 1;
  if (offset < 0) throw new BpfAssemblyError(`instruction ${from} jumps backwards to "${target}": classic BPF jumps only forward`);
  if (to >= count) throw new BpfAssemblyError(`instruction ${from} jumps to "${target}", past the end of the program`);
  if (offset > 255) throw new BpfAssemblyError(`instruction ${from} jumps ${offset} instructions to "${target}": at most 255`);
  return offset;
}
