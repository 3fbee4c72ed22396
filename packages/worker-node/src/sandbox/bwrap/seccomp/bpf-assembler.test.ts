import { describe, expect, it } from "@jest/globals";
import { assemble, BpfAssemblyError, jeq, jset, label, ld, MAX_INSTRUCTIONS, ret, type Statement } from "./bpf-assembler.js";

/** The instructions of an assembled program, decoded from the bytes (struct sock_filter, little-endian). */
function decode(bytes: Buffer): Array<{ code: number; jt: number; jf: number; k: number }> {
  expect(bytes.length % 8).toBe(0);
  return Array.from({ length: bytes.length / 8 }, (_, i) => ({
    code: bytes.readUInt16LE(i * 8),
    jt: bytes.readUInt8(i * 8 + 2),
    jf: bytes.readUInt8(i * 8 + 3),
    k: bytes.readUInt32LE(i * 8 + 4),
  }));
}

describe("bpf assembler", () => {
  it("encodes each instruction as 8 bytes: u16 code, u8 jt, u8 jf, u32 k, little-endian", () => {
    const bytes = assemble([ld(4), ret(0x7fff_0000)]);
    expect(bytes.toString("hex")).toBe("2000000004000000" + "060000000000ff7f");
  });

  it("uses the kernel's opcodes for ld|w|abs, jeq|k, jset|k and ret|k", () => {
    const codes = decode(assemble([ld(0), jeq(1, undefined), jset(2, undefined), ret(0)])).map((i) => i.code);
    expect(codes).toEqual([0x20, 0x15, 0x45, 0x06]);
  });

  it("resolves labels to offsets counted from the instruction after the jump, labels emitting nothing", () => {
    const program: Statement[] = [
      ld(0), //                 0
      jeq(7, "b", "a"), //      1: b is 5 (skip 3), a is 2 (skip 0)
      label("a"),
      jset(0x10, "c"), //       2: c is 6 (skip 3), else next
      ld(4), //                 3
      ret(1), //                4
      label("b"),
      ret(2), //                5
      label("c"),
      ret(3), //                6
    ];
    const insns = decode(assemble(program));
    expect(insns).toHaveLength(7);
    expect(insns[1]).toEqual({ code: 0x15, jt: 3, jf: 0, k: 7 });
    expect(insns[2]).toEqual({ code: 0x45, jt: 3, jf: 0, k: 0x10 });
  });

  it("encodes the full u32 range of k", () => {
    const insns = decode(assemble([ld(0), jeq(0xffff_ffff, "x"), label("x"), ret(0x8000_0000)]));
    expect(insns[1]?.k).toBe(0xffff_ffff);
    expect(insns[2]?.k).toBe(0x8000_0000);
  });

  it("accepts a jump of 255 and refuses one of 256", () => {
    const padded = (count: number): Statement[] => [
      ld(0),
      jeq(1, "end"),
      ...Array.from({ length: count }, () => ret(0)),
      label("end"),
      ret(1),
    ];
    expect(decode(assemble(padded(255)))[1]?.jt).toBe(255);
    expect(() => assemble(padded(256))).toThrow(BpfAssemblyError);
  });

  it("refuses unknown, duplicate, backward and past-the-end labels", () => {
    expect(() => assemble([ld(0), jeq(1, "nowhere"), ret(0)])).toThrow(/unknown label "nowhere"/);
    expect(() => assemble([label("x"), ld(0), label("x"), ret(0)])).toThrow(/defined twice/);
    expect(() => assemble([label("top"), ld(0), jeq(1, "top"), ret(0)])).toThrow(/backwards/);
    expect(() => assemble([ld(0), jeq(1, "end"), ret(0), label("end")])).toThrow(/past the end/);
  });

  it("refuses constants that are not u32, programs not ending in ret, and empty or oversized programs", () => {
    expect(() => assemble([ret(-1)])).toThrow(/u32/);
    expect(() => assemble([ret(2 ** 32)])).toThrow(/u32/);
    expect(() => assemble([ret(1.5)])).toThrow(/u32/);
    expect(() => assemble([ret(0), ld(0)])).toThrow(/last instruction must be a ret/);
    expect(() => assemble([])).toThrow(BpfAssemblyError);
    expect(() => assemble(Array.from({ length: MAX_INSTRUCTIONS + 1 }, () => ret(0)))).toThrow(BpfAssemblyError);
    expect(assemble(Array.from({ length: MAX_INSTRUCTIONS }, () => ret(0))).length).toBe(MAX_INSTRUCTIONS * 8);
  });
});
