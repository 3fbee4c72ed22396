/** Protobuf wire bytes written by hand, for tests that must send what no encoder would. */

/** A base-128 varint of any size, also past 64 bits (which a decoder must refuse). */
export function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7fn) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}
