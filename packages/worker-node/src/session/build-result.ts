import { OutputStream, TerminationReason, type Artifact, type JobResult } from "@opencode-worker/shared";
import type { CollectedArtifact, CollectedArtifacts } from "../files/collect-artifacts.js";
import type { Job } from "./job.js";
import type { ExecutionReport } from "./phases/execute.js";
import { describeOutcome } from "./termination.js";

/**
 * Small artifacts travel inline, but together at most this much: a result must stay one sane gRPC
 * message however many small files a job writes. The rest are read with ReadArtifact.
 */
const MAX_INLINE_TOTAL_BYTES = 4 * 1024 * 1024;

export interface ResultInputs {
  workerId: string;
  isolation: string;
  unenforcedLimits: string[];
  report?: ExecutionReport;
  collected?: CollectedArtifacts;
}

/** The job's result, the same shape whether it finished, failed, timed out or never ran. */
export function buildResult(job: Job, inputs: ResultInputs): JobResult {
  const { report, collected } = inputs;
  const termination = job.termination ?? { reason: TerminationReason.TERMINATION_REASON_WORKER_ERROR, note: "ended without a cause" };
  const exit = { ...(report?.exitCode !== undefined && { exitCode: report.exitCode }), ...(report?.signal && { signal: report.signal }) };
  const { state, message } = describeOutcome(termination, exit, job.spec.limits);
  const stdout = job.log.retainedOutput(OutputStream.OUTPUT_STREAM_STDOUT);
  const stderr = job.log.retainedOutput(OutputStream.OUTPUT_STREAM_STDERR);
  const stdoutTotalBytes = report?.stdoutTotalBytes ?? 0;
  const stderrTotalBytes = report?.stderrTotalBytes ?? 0;
  const t = job.timings;
  return {
    jobId: job.jobId,
    sessionId: job.sessionId,
    state,
    reason: termination.reason,
    exitCode: report?.exitCode,
    signal: report?.signal ?? "",
    stdout,
    stderr,
    stdoutTruncated: stdout.length < stdoutTotalBytes,
    stderrTruncated: stderr.length < stderrTotalBytes,
    stdoutTotalBytes,
    stderrTotalBytes,
    artifacts: inlineWithinBudget(collected?.artifacts ?? []),
    skippedArtifacts: collected?.skipped ?? [],
    metrics: {
      durationMs: t.initMs + t.prepareMs + t.executeMs + t.collectMs + t.destroyMs,
      queueMs: t.queueMs,
      initMs: t.initMs,
      prepareMs: t.prepareMs,
      executeMs: t.executeMs,
      collectMs: t.collectMs,
      destroyMs: t.destroyMs,
      workerId: inputs.workerId,
      cpuTimeMs: job.usage.cpuTimeMs,
      memoryPeakBytes: job.usage.memoryPeakBytes,
      processesReaped: report?.processesReaped ?? 0,
    },
    message,
    isolation: inputs.isolation,
    unenforcedLimits: inputs.unenforcedLimits,
  };
}

function inlineWithinBudget(artifacts: CollectedArtifact[]): Artifact[] {
  let budget = MAX_INLINE_TOTAL_BYTES;
  return artifacts.map((artifact) => {
    const inline = artifact.content !== undefined && artifact.content.length <= budget;
    if (inline) budget -= artifact.content!.length;
    return {
      path: artifact.path,
      sizeBytes: artifact.sizeBytes,
      sha256: artifact.sha256,
      content: inline ? artifact.content! : Buffer.alloc(0),
      contentInline: inline,
    };
  });
}
