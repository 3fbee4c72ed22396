import { describe, expect, it } from "@jest/globals";
import { OutputStream, type JobEvent } from "@opencode-worker/shared";
import { EventLog, type EventSink } from "./event-log.js";

const output = (stream: OutputStream, text: string, offset: number) =>
  ({ $case: "output", value: { stream, data: Buffer.from(text), offset } }) as const;
const STDOUT = OutputStream.OUTPUT_STREAM_STDOUT;
const STDERR = OutputStream.OUTPUT_STREAM_STDERR;

function collector(capacity = Infinity): EventSink & { events: JobEvent[] } {
  const events: JobEvent[] = [];
  return { events, write: (event) => (events.push(event), events.length < capacity) };
}

describe("EventLog", () => {
  it("numbers events from 1 and replays them after a given seq", () => {
    const log = new EventLog("j", 1024);
    log.emit(output(STDOUT, "a", 0));
    log.emit(output(STDOUT, "b", 1));
    log.emit(output(STDERR, "c", 0));
    const late = collector();
    log.subscribe(late, 1);
    expect(late.events.map((event) => event.seq)).toEqual([2, 3]);
  });

  it("keeps exactly the first bytes of each stream, with no hole after the cut", () => {
    const log = new EventLog("j", 5);
    log.emit(output(STDOUT, "abc", 0));
    log.emit(output(STDOUT, "defg", 3)); // crosses the retention: kept as "de"
    log.emit(output(STDOUT, "h", 7)); // would fit after a hole: must not be kept
    log.emit(output(STDERR, "xyz", 0));
    expect(log.retainedOutput(STDOUT).toString()).toBe("abcde");
    expect(log.retainedOutput(STDERR).toString()).toBe("xyz");
  });

  it("holds a finished job's output once: replayed chunks are views of the result's buffer", () => {
    const log = new EventLog("j", 1024);
    log.emit(output(STDOUT, "one", 0));
    log.emit(output(STDOUT, "two", 3));
    const result = log.retainedOutput(STDOUT);
    const replay = collector();
    log.subscribe(replay);
    const chunks = replay.events.map((event) => (event.kind?.$case === "output" ? event.kind.value.data : Buffer.alloc(0)));
    expect(chunks.map(String)).toEqual(["one", "two"]);
    expect(chunks.every((chunk) => chunk.buffer === result.buffer)).toBe(true);
  });

  it("reports congestion until the slow sink drains, and closes on completed", async () => {
    const log = new EventLog("j", 1024);
    const slow = collector(1);
    log.subscribe(slow);
    log.emit(output(STDOUT, "x", 0));
    expect(log.congested).toBe(true);
    const drained = log.whenDrained();
    log.onDrain(slow);
    await drained;
    expect(log.congested).toBe(false);
    log.emit({ $case: "keepalive", value: {} });
    log.emit({ $case: "completed", value: {} as never });
    expect(log.isClosed).toBe(true);
    expect(() => log.emit(output(STDOUT, "late", 1))).toThrow(/closed/);
  });
});
