import { OutputStream, type JobResult as WireJobResult } from "@opencode-worker/shared";
import { fromWireResult } from "./convert.js";
import type { JobResult } from "./job-result.js";
import type { RequestOptions, Transport } from "./transport.js";
import { readBoolean } from "./validate.js";

export interface ReadOutputOptions {
  /** Byte offset within the stream to start at. @default 0 */
  offset?: number;
  /** Ends the read (and the call) with an `AbortError`. */
  signal?: AbortSignal;
}

/** Options of the calls that return a job's result: `wait()`, `collect()`, `run()`. */
export interface ResultOptions extends RequestOptions {
  /**
   * Whether `stdout` and `stderr` hold everything the worker kept. A result is at most 3.5 MiB on the
   * wire, so of a long output it carries only the head; by default the SDK reads the rest with
   * ReadOutput before it returns. With false, `stdout` is that head (`stdoutTruncated` says so),
   * and `readOutput()` reads the rest when you want it.
   * @default true
   */
  fullOutput?: boolean;
}

const WIRE_STREAMS = { stdout: OutputStream.OUTPUT_STREAM_STDOUT, stderr: OutputStream.OUTPUT_STREAM_STDERR } as const;

/**
 * The retained bytes of an ended job's stdout or stderr from `offset`, in chunks as the worker sends
 * them. After a retryable failure the read resumes at the byte after the last one delivered.
 */
export async function* readOutputChunks(
  transport: Transport,
  jobId: string,
  stream: "stdout" | "stderr",
  offset: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  let next = offset;
  const responses = transport.stream("readOutput", () => ({ jobId, stream: WIRE_STREAMS[stream], offset: String(next) }), {
    signal,
    jobId,
  });
  for await (const { data } of responses) {
    if (data.length === 0) continue;
    next += data.length;
    yield data;
  }
}

/** `options.fullOutput`, checked before any call is made. */
export function readFullOutput(options: ResultOptions): boolean {
  return options.fullOutput === undefined || readBoolean("fullOutput", options.fullOutput);
}

/**
 * The SDK result of a wire result; with `fullOutput`, stdout and stderr first get what the worker
 * kept beyond the head the result carried, read with ReadOutput.
 */
export async function resultWithOutput(
  transport: Transport,
  result: WireJobResult,
  fullOutput: boolean,
  signal: AbortSignal | undefined,
): Promise<JobResult> {
  if (!fullOutput) return fromWireResult(result);
  const [stdout, stderr] = await Promise.all([
    wholeStream(transport, result.jobId, "stdout", result.stdout, result.stdoutRetainedBytes, signal),
    wholeStream(transport, result.jobId, "stderr", result.stderr, result.stderrRetainedBytes, signal),
  ]);
  return fromWireResult({ ...result, stdout, stderr });
}

async function wholeStream(
  transport: Transport,
  jobId: string,
  stream: "stdout" | "stderr",
  head: Buffer,
  retainedBytes: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  if (head.length >= retainedBytes) return head;
  const chunks = [head];
  for await (const chunk of readOutputChunks(transport, jobId, stream, head.length, signal)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
