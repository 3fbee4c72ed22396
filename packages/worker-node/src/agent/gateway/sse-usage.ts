import { readUsage, type TokenCount } from "./usage-fields.js";

// An event's data above this is not read for usage (usage events are a few hundred bytes), so a huge
// event costs no more memory than this.
const MAX_EVENT_CHARS = 1024 * 1024;
const LINE_END = /\r\n|\r|\n/g;
const USAGE = '"usage"';
/** The blank lines that end an event, each with its length. */
const EVENT_ENDS = [
  ["\n\n", 2],
  ["\r\n\r\n", 4],
  ["\r\r", 2],
] as const;

/**
 * Reads the usage a server-sent event stream reports, chunk by chunk as it passes through the gateway,
 * holding no more than the event being received. Events may be split anywhere across chunks (even
 * between a `\r` and its `\n`). Bytes are read as latin1, one character each: usage is all ASCII, so a UTF-8
 * character split across chunks needs no decoder (it only garbles text nobody reads). Only events whose data mentions `"usage"`
 * are parsed, so the stream's text and tool-call deltas cost a substring search, not a JSON.parse.
 */
export class SseUsageReader {
  readonly tokens: TokenCount = { input: 0, output: 0 };
  private pending = "";
  private data: string | undefined;
  private overflow = false;

  push(chunk: Buffer): void {
    // Most chunks are text deltas: when neither they nor what is held can hold a usage event, the events they
    // end are dropped unread (native searches, no line splitting), and only the last, unfinished one is read.
    if (!this.holdsUsage() && chunk.indexOf(USAGE, 0, "latin1") === -1 && !this.splitsUsage(chunk)) {
      const end = lastEventEnd(chunk);
      if (end !== -1) {
        this.pending = "";
        this.data = undefined;
        this.overflow = false;
        this.scan(chunk.toString("latin1", end), false);
        return;
      }
    }
    this.scan(chunk.toString("latin1"), false);
  }

  /** The stream ended: an event missing its final blank line still counts. */
  end(): void {
    this.scan("", true);
    this.dispatch();
  }

  private scan(text: string, last: boolean): void {
    const buffer = this.pending + text;
    LINE_END.lastIndex = 0;
    let start = 0;
    for (let match = LINE_END.exec(buffer); match !== null; match = LINE_END.exec(buffer)) {
      // A trailing `\r` may be the first half of a `\r\n` that the next chunk completes.
      if (!last && match[0] === "\r" && match.index === buffer.length - 1) break;
      this.line(buffer.slice(start, match.index));
      start = LINE_END.lastIndex;
    }
    this.pending = buffer.slice(start);
    if (last) {
      if (this.pending !== "") this.line(this.pending);
      this.pending = "";
    } else if (this.pending.length > MAX_EVENT_CHARS) {
      // A line this long is no usage event: forget it rather than hold it.
      this.pending = "";
      this.overflow = true;
    }
  }

  private holdsUsage(): boolean {
    return this.pending.includes(USAGE) || (this.data?.includes(USAGE) ?? false);
  }

  /** Whether `"usage"` starts in what is held and ends in the chunk. */
  private splitsUsage(chunk: Buffer): boolean {
    const seam = this.pending.slice(1 - USAGE.length) + chunk.toString("latin1", 0, USAGE.length - 1);
    return seam.includes(USAGE);
  }

  private line(line: string): void {
    if (line === "") return this.dispatch();
    if (!line.startsWith("data:")) return; // comments, `event:`, `id:`, `retry:`: the data says all we need
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    if (this.data.length > MAX_EVENT_CHARS) {
      this.data = undefined;
      this.overflow = true;
    }
  }

  private dispatch(): void {
    const data = this.data;
    const overflow = this.overflow;
    this.data = undefined;
    this.overflow = false;
    if (overflow || data === undefined || !data.includes('"usage"')) return;
    try {
      readUsage(JSON.parse(data), this.tokens);
    } catch {
      // Not JSON (e.g. OpenAI's `[DONE]`, or a provider's own notes): no usage in it.
    }
  }
}

/** Where the chunk's last complete event ends (just past its blank line), or -1 when it ends none. */
function lastEventEnd(chunk: Buffer): number {
  let end = -1;
  for (const [blank, length] of EVENT_ENDS) {
    const at = chunk.lastIndexOf(blank, undefined, "latin1");
    if (at !== -1) end = Math.max(end, at + length);
  }
  return end;
}
