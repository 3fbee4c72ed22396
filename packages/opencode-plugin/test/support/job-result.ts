import type { JobResult } from "@opencode-worker/master-client";
import { countNewlines, excerptOf } from "../../src/report/excerpt.js";
import type { ResultExcerpts } from "../../src/report/render-result.js";

/**
 * A JobResult as the SDK gives it for a job that exited 0 with no output, changed by `fields`.
 * The stream texts, totals, line counts and retained bytes follow `stdout` and `stderr` unless set.
 */
export function jobResult(fields: Partial<JobResult> = {}): JobResult {
  const stdout = fields.stdout ?? Buffer.alloc(0);
  const stderr = fields.stderr ?? Buffer.alloc(0);
  return {
    jobId: "job-1",
    sessionId: "session-1",
    state: "finished",
    reason: "exited",
    exitCode: 0,
    stdout,
    stderr,
    stdoutText: stdout.toString("utf8"),
    stderrText: stderr.toString("utf8"),
    stdoutTruncated: false,
    stderrTruncated: false,
    stdoutTotalBytes: stdout.length,
    stderrTotalBytes: stderr.length,
    stdoutLines: countNewlines(stdout),
    stderrLines: countNewlines(stderr),
    stdoutRetainedBytes: stdout.length,
    stderrRetainedBytes: stderr.length,
    artifacts: [],
    skippedArtifacts: [],
    unlistedArtifacts: 0,
    unlistedSkippedArtifacts: 0,
    durationMs: 1234,
    queueMs: 5,
    phaseMs: { initMs: 10, prepareMs: 20, executeMs: 1180, collectMs: 14, destroyMs: 10 },
    cpuTimeMs: 0,
    memoryPeakBytes: 0,
    processesReaped: 0,
    workerId: "worker-1",
    timedOut: false,
    isCanceled: false,
    message: "exited with code 0",
    isolation: "sandbox",
    unenforcedLimits: [],
    ...fields,
  };
}

/** The excerpts of a result that holds all its output, as `readExcerpts` makes them when nothing is left to read. */
export function excerptsOf(result: JobResult, window: number): ResultExcerpts {
  return {
    stdout: excerptOf(result.stdout, result.stdoutTotalBytes, result.stdoutLines, window),
    stderr: excerptOf(result.stderr, result.stderrTotalBytes, result.stderrLines, window),
  };
}
