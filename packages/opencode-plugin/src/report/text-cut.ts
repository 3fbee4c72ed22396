/**
 * Cutting bytes into text a model can read: at line ends where the window has one, never inside a
 * UTF-8 character, without terminal colour codes.
 */

const isContinuationByte = (byte: number | undefined): boolean => byte !== undefined && (byte & 0xc0) === 0x80;

/** The last newline at or before `before`; Buffer.lastIndexOf would read a negative offset as counted from the end. */
const lastNewline = (data: Buffer, before: number): number => (before < 0 ? -1 : data.lastIndexOf(10, before));

/** The longest prefix of `data` within `limit` bytes and `maxLines` lines, ending after a newline when there is one. */
export function cutHead(data: Buffer, limit: number, maxLines: number): Buffer {
  let lines = 0;
  for (let at = data.indexOf(10); at !== -1 && at < limit; at = data.indexOf(10, at + 1)) {
    lines += 1;
    if (lines === maxLines) return data.subarray(0, at + 1);
  }
  if (data.length <= limit) return data;
  const newline = lastNewline(data, limit - 1);
  if (newline !== -1) return data.subarray(0, newline + 1);
  let end = limit;
  while (end > 0 && isContinuationByte(data[end])) end -= 1;
  return data.subarray(0, end);
}

/** The longest suffix of `data` within `limit` bytes and `maxLines` lines, starting after a newline when there is one. */
export function cutTail(data: Buffer, limit: number, maxLines: number): Buffer {
  const from = Math.max(0, data.length - limit);
  // Each newline before the last byte starts a line: the suffix after it holds `lines` lines.
  let lines = 1;
  for (let at = lastNewline(data, data.length - 2); at !== -1 && at >= from; at = lastNewline(data, at - 1)) {
    if (lines === maxLines) return data.subarray(at + 1);
    lines += 1;
  }
  if (data.length <= limit) return data;
  const newline = data.indexOf(10, from);
  if (newline !== -1 && newline + 1 < data.length) return data.subarray(newline + 1);
  let start = from;
  while (start < data.length && isContinuationByte(data[start])) start += 1;
  return data.subarray(start);
}

/** `data` without the pieces of characters that a window's edges cut off at either end. */
export function wholeChars(data: Buffer): Buffer {
  let start = 0;
  while (start < Math.min(3, data.length) && isContinuationByte(data[start])) start += 1;
  let lead = data.length - 1;
  while (lead > Math.max(start, data.length - 4) && isContinuationByte(data[lead])) lead -= 1;
  const byte = data[lead] ?? 0;
  const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return data.subarray(start, lead >= start && lead + size > data.length ? lead : data.length);
}

// CSI and OSC sequences: colours, cursor moves and titles mean nothing in a tool result. A cut
// may end the text inside one, so one cut short at the end goes too.
const TERMINAL_CODES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*)?$/g;

export function readableText(data: Buffer): string {
  return data.toString("utf8").replace(TERMINAL_CODES, "");
}

/**
 * Output a model cannot read: a NUL byte, or many bytes that are neither UTF-8 text nor the
 * usual whitespace. Judged on a sample, so the cost does not grow with the output.
 */
export function looksBinary(sample: Buffer): boolean {
  if (sample.includes(0)) return true;
  const text = sample.toString("utf8");
  let odd = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0xfffd || (code < 0x20 && code !== 9 && code !== 10 && code !== 13 && code !== 27 && code !== 8 && code !== 12)) odd += 1;
  }
  return odd > text.length / 10;
}
