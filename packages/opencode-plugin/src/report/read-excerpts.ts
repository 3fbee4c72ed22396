import type { JobHandle, JobResult } from "@opencode-worker/master-client";
import { excerptOf, type OutputExcerpt } from "./excerpt.js";
import type { ResultExcerpts } from "./render-result.js";

/**
 * The excerpts of a collected result. A result carries only the head of a long output, so the
 * tail window is read with ReadOutput from where it starts: the cost is two windows per stream,
 * whatever the worker kept.
 */
export async function readExcerpts(job: JobHandle, result: JobResult, window: number, signal?: AbortSignal): Promise<ResultExcerpts> {
  const [stdout, stderr] = await Promise.all([
    readExcerpt(job, result, "stdout", window, signal),
    readExcerpt(job, result, "stderr", window, signal),
  ]);
  return { stdout, stderr };
}

async function readExcerpt(
  job: JobHandle,
  result: JobResult,
  stream: "stdout" | "stderr",
  window: number,
  signal: AbortSignal | undefined,
): Promise<OutputExcerpt> {
  const data = stream === "stdout" ? result.stdout : result.stderr;
  const kept = stream === "stdout" ? result.stdoutRetainedBytes : result.stderrRetainedBytes;
  const total = stream === "stdout" ? result.stdoutTotalBytes : result.stderrTotalBytes;
  const newlines = stream === "stdout" ? result.stdoutLines : result.stderrLines;
  if (data.length >= kept) return excerptOf(data, total, newlines, window);

  const head = data.subarray(0, window);
  const chunks: Buffer[] = [];
  for await (const chunk of job.readOutput(stream, { offset: Math.max(head.length, kept - window), signal })) chunks.push(chunk as Buffer);
  return { head, tail: Buffer.concat(chunks), knownBytes: kept, totalBytes: total, newlines };
}
