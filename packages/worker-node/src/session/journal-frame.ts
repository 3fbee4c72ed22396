import { createHash } from "node:crypto";

/** The first bytes of every result record: what it is and the layout's version. */
const MAGIC = Buffer.from("OCWJRNL1");
/** Bytes of the body's length: 6 (writeUIntBE's most), far beyond any result the budget allows. */
const LENGTH_BYTES = 6;
const HASH_BYTES = 32;
const HEADER_BYTES = MAGIC.length + LENGTH_BYTES + HASH_BYTES;

/**
 * A result record's frame: magic, the body's length, the body's sha256, then the body: sections, each
 * a 4-byte length and its bytes. A record cut short by a crash mid-write, or with any byte changed,
 * fails the length or the hash and is refused whole, never served in part.
 *
 * Returns the buffers to write in order, so large sections (output, artifacts) are never copied.
 */
export function frameSections(sections: readonly Uint8Array[]): Buffer[] {
  const body: Buffer[] = [];
  const hash = createHash("sha256");
  let length = 0;
  for (const section of sections) {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(section.length);
    const bytes = Buffer.from(section.buffer, section.byteOffset, section.length);
    body.push(prefix, bytes);
    hash.update(prefix).update(bytes);
    length += 4 + section.length;
  }
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header);
  header.writeUIntBE(length, MAGIC.length, LENGTH_BYTES);
  hash.digest().copy(header, MAGIC.length + LENGTH_BYTES);
  return [header, ...body];
}

/** The sections of a whole, intact frame; throws saying what is wrong with any other. */
export function unframeSections(frame: Buffer): Buffer[] {
  if (frame.length < HEADER_BYTES || !frame.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error("not a result record");
  const length = frame.readUIntBE(MAGIC.length, LENGTH_BYTES);
  const body = frame.subarray(HEADER_BYTES);
  if (body.length !== length) throw new Error(`torn: ${body.length} of ${length} body bytes`);
  const expected = frame.subarray(MAGIC.length + LENGTH_BYTES, HEADER_BYTES);
  if (!createHash("sha256").update(body).digest().equals(expected)) throw new Error("checksum mismatch");
  const sections: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    const size = body.readUInt32BE(at);
    sections.push(body.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return sections;
}
