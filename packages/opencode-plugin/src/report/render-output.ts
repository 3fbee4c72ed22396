import { formatBytes } from "@opencode-worker/master-client";
import { countNewlines, type OutputExcerpt } from "./excerpt.js";
import { cutHead, cutTail, looksBinary, readableText, wholeChars } from "./text-cut.js";

/** Room kept for the header and the elision lines of a stream's section. */
const FRAME_BYTES = 200;
/** More room, for the line saying what the worker did not keep (up to 130 bytes), when it kept less than the job wrote. */
const NOT_KEPT_BYTES = 140;
/**
 * Most lines shown per stream: opencode cuts a tool result after 2,000 lines (and saves the rest to
 * a file the model must then read), so a result stays well under that even with short lines.
 */
const MAX_LINES = 800;
/** Of the room for text, the head gets this share: the end of an output usually says more. */
const HEAD_SHARE = 0.4;
const BINARY_SAMPLE_BYTES = 4096;

const plural = (count: number, word: string): string => `${count.toLocaleString("en-US")} ${word}${count === 1 ? "" : "s"}`;

/**
 * One stream as a model reads it, in at most `budget` bytes of UTF-8: whole when it fits, else
 * its head and tail cut at line ends, with lines saying how many bytes and lines were left out,
 * and what the worker did not keep. Binary output is described, never shown.
 */
export function renderOutput(name: string, excerpt: OutputExcerpt, budget: number): string {
  const { head, tail, knownBytes, totalBytes } = excerpt;
  if (totalBytes === 0) return `${name}: empty`;
  const sample = head.length > 0 ? head : tail;
  if (looksBinary(sample.subarray(0, BINARY_SAMPLE_BYTES))) {
    const first = [...sample.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    return `${name}: ${formatBytes(totalBytes)} of binary data, not shown (first bytes: ${first})`;
  }

  const room = Math.max(0, budget - FRAME_BYTES - (knownBytes < totalBytes ? NOT_KEPT_BYTES : 0));
  const whole = knownBytes === totalBytes && head.length + tail.length === totalBytes;
  const lines = lineCount(excerpt, whole);
  const size = `${formatBytes(totalBytes)}${lines === undefined ? "" : `, ${plural(lines, "line")}`}`;
  if (whole && totalBytes <= room && lines !== undefined && lines <= MAX_LINES) {
    return `${name} (${size}):\n${withNewline(readableText(Buffer.concat([head, tail])))}`.trimEnd();
  }

  const [shownHead, shownTail] = cutParts(excerpt, room);
  const headLines = countNewlines(shownHead);
  const tailLines = countNewlines(shownTail) + (shownTail.length > 0 && shownTail.at(-1) !== 10 ? 1 : 0);
  const lost = totalBytes - knownBytes;
  const middle = knownBytes - shownTail.length - shownHead.length;
  const leftOutLines = lines === undefined ? undefined : lines - headLines - tailLines;

  const parts = [`${name} (${size}; first ${plural(headLines, "line")} and last ${plural(tailLines, "line")} shown):`];
  if (shownHead.length > 0) parts.push(withNewline(readableText(shownHead)).trimEnd());
  if (middle > 0) {
    const linesOut = lost === 0 && leftOutLines !== undefined ? `, ${plural(leftOutLines, "line")}` : "";
    parts.push(`[… ${formatBytes(middle)}${linesOut} left out …]`);
  }
  if (shownTail.length > 0) parts.push(readableText(shownTail).trimEnd());
  if (lost > 0) {
    const linesOut = leftOutLines === undefined ? "" : ` (${plural(leftOutLines, "line")} left out in all)`;
    parts.push(`[… the last ${formatBytes(lost)} were not kept by the worker (its session.result_output_bytes)${linesOut} …]`);
  }
  return parts.join("\n");
}

/**
 * The head and tail to show in `room` bytes, cut at line ends and whole characters. When the windows
 * meet, the known bytes are one run and both parts are cut from it, so the tail is its real end.
 */
function cutParts({ head, tail, knownBytes }: OutputExcerpt, room: number): [Buffer, Buffer] {
  const run = head.length + tail.length === knownBytes ? Buffer.concat([head, tail]) : undefined;
  if (run !== undefined && cutHead(run, room, MAX_LINES).length === run.length) return [wholeChars(run), Buffer.alloc(0)];
  const headRoom = Math.min((run ?? head).length, Math.floor(room * HEAD_SHARE));
  const shownTail = wholeChars(cutTail(run ?? tail, room - headRoom, Math.ceil(MAX_LINES * (1 - HEAD_SHARE))));
  const headPart = run === undefined ? head : run.subarray(0, run.length - shownTail.length);
  return [wholeChars(cutHead(headPart, room - shownTail.length, MAX_LINES - countNewlines(shownTail))), shownTail];
}

/** Lines of the whole stream: its newlines, plus a last line without one when the end is known. */
function lineCount(excerpt: OutputExcerpt, whole: boolean): number | undefined {
  const newlines = excerpt.newlines ?? (whole ? countNewlines(excerpt.head) + countNewlines(excerpt.tail) : undefined);
  if (newlines === undefined) return undefined;
  const last = excerpt.tail.length > 0 ? excerpt.tail.at(-1) : excerpt.head.at(-1);
  return newlines + (excerpt.knownBytes === excerpt.totalBytes && last !== 10 ? 1 : 0);
}

const withNewline = (text: string): string => (text.endsWith("\n") ? text : `${text}\n`);
