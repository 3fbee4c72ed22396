import { OutputStream, type JobEvent } from "@opencode-worker/shared";

/** What a consumer of a job's events looks like: a gRPC stream, the Collect waiters, a test. */
export interface EventSink {
  /** Returns false when the sink is congested (like `stream.write`); it calls `onDrain` when it is not. */
  write(event: JobEvent): boolean;
}

export type EventKind = NonNullable<JobEvent["kind"]>;

/**
 * The ordered events of one job. Every event gets the next `seq`, is kept for replay (output only
 * while the per-stream retention allows), and goes to every live subscriber.
 *
 * Output is never dropped for a live subscriber: when one is congested the producer is told
 * (`congested`), pauses reading the job's pipes, and resumes on `whenDrained()`. A pipe that is not
 * read blocks the job's writes, which is exactly what a slow terminal does on a laptop.
 */
export class EventLog {
  private readonly retained: JobEvent[] = [];
  private readonly retainedOutputBytes = { [OutputStream.OUTPUT_STREAM_STDOUT]: 0, [OutputStream.OUTPUT_STREAM_STDERR]: 0 };
  /** retainedOutput()'s answer per stream, until more of that stream is retained: ReadOutput asks often. */
  private readonly joinedOutput = new Map<OutputStream, Buffer>();
  private readonly sinks = new Set<EventSink>();
  private readonly congestedSinks = new Set<EventSink>();
  private drainWaiters: Array<() => void> = [];
  private seq = 0;
  private closed = false;

  constructor(
    private readonly jobId: string,
    /** Bytes of each output stream kept for replay and for the result. */
    private readonly outputRetentionBytes: number,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while some live subscriber has more queued than it wants. */
  get congested(): boolean {
    return this.congestedSinks.size > 0;
  }

  /** Appends an event; `completed` closes the log. */
  emit(kind: EventKind, timestampUnixMs = Date.now()): JobEvent {
    if (this.closed) throw new Error(`event log of job ${this.jobId} is closed`);
    this.seq += 1;
    const event: JobEvent = { seq: this.seq, timestampUnixMs, jobId: this.jobId, kind };
    const kept = this.retainable(event);
    if (kept) this.retained.push(kept);
    for (const sink of this.sinks) this.deliver(sink, event);
    if (kind.$case === "completed") this.close();
    return event;
  }

  /** The events kept for replay, in order: what the result journal records of an ended job. */
  get retainedEvents(): readonly JobEvent[] {
    return this.retained;
  }

  /** Puts back the retained events of a job that ended under an earlier worker process, seq numbers unchanged. */
  restore(events: readonly JobEvent[]): void {
    for (const event of events) {
      this.seq = event.seq;
      const kept = this.retainable(event);
      if (kept) this.retained.push(kept);
    }
  }

  /**
   * Replays retained events with seq > afterSeq, then delivers live ones until the log closes.
   * Returns an unsubscribe function. A sink added after close gets the replay only.
   */
  subscribe(sink: EventSink, afterSeq = 0): () => void {
    for (const event of this.retained) if (event.seq > afterSeq) this.deliver(sink, event);
    if (this.closed) return () => {};
    this.sinks.add(sink);
    return () => this.unsubscribe(sink);
  }

  /** A congested sink calls this when it can take more. */
  onDrain(sink: EventSink): void {
    if (this.congestedSinks.delete(sink)) this.releaseDrainWaiters();
  }

  /** Resolves when no live subscriber is congested. */
  whenDrained(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * The retained bytes of one output stream, in order: what the result carries. The retained events
   * then point into that one buffer, so a finished job holds its output once, not twice.
   */
  retainedOutput(stream: OutputStream): Buffer {
    const joined = this.joinedOutput.get(stream);
    if (joined) return joined;
    const chunks = this.retained.flatMap((event) =>
      event.kind?.$case === "output" && event.kind.value.stream === stream ? [event.kind.value] : [],
    );
    const all = Buffer.concat(chunks.map((chunk) => chunk.data));
    let position = 0;
    for (const chunk of chunks) {
      const length = chunk.data.length;
      chunk.data = all.subarray(position, position + length);
      position += length;
    }
    this.joinedOutput.set(stream, all);
    return all;
  }

  /**
   * The form of the event kept for replay, if any. Output is kept up to the retention of its stream:
   * the chunk that crosses it is kept as a prefix, so the result holds exactly the first bytes, and
   * nothing of that stream after it (a later small chunk must not leave a hole).
   */
  private retainable(event: JobEvent): JobEvent | undefined {
    const kind = event.kind;
    if (kind?.$case !== "output") return event;
    const stream = kind.value.stream as OutputStream.OUTPUT_STREAM_STDOUT | OutputStream.OUTPUT_STREAM_STDERR;
    const room = this.outputRetentionBytes - this.retainedOutputBytes[stream];
    if (room <= 0) return undefined;
    const data = kind.value.data.length <= room ? kind.value.data : kind.value.data.subarray(0, room);
    this.retainedOutputBytes[stream] += data.length;
    this.joinedOutput.delete(stream);
    return data === kind.value.data ? event : { ...event, kind: { $case: "output", value: { ...kind.value, data } } };
  }

  private deliver(sink: EventSink, event: JobEvent): void {
    if (!sink.write(event)) this.congestedSinks.add(sink);
  }

  private unsubscribe(sink: EventSink): void {
    this.sinks.delete(sink);
    this.onDrain(sink);
  }

  private close(): void {
    this.closed = true;
    this.sinks.clear();
    this.congestedSinks.clear();
    this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    if (this.congested) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
