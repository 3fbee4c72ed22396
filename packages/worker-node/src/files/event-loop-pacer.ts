import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** A slice of synchronous work lasts at most this long before the event loop gets a turn (milliseconds). */
const SLICE_MS = 5;

/**
 * Lets a long run of synchronous file system calls share the event loop. On the worker's own disk and
 * the session's tmpfs a synchronous call costs microseconds, while each fs.promises call costs ten
 * times more in thread-pool round trips (100,000 files took 16 s that way, about 3 s so); slices of
 * at most SLICE_MS keep gRPC calls and other jobs' streams moving meanwhile.
 */
export class EventLoopPacer {
  private sliceStart = performance.now();

  /** Gives the event loop a turn when the current slice has run long enough. */
  async pace(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.sliceStart = performance.now();
  }
}
