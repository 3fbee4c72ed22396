import { OutputStream, TerminationReason, type Artifact, type JobResult } from "@opencode-worker/shared";
import type { CollectedArtifact } from "../files/collect-artifacts.js";
import { describeOutcome } from "../limits/outcome.js";
import type { Job } from "./job.js";
import type { Collected } from "./phases/collect.js";
import type { ExecutionReport } from "./phases/execute.js";
import { fitResult } from "./fit-result.js";
import { withLosses } from "./result-losses.js";

export interface ResultInputs {
  workerId: string;
  isolation: string;
  unenforcedLimits: string[];
  report?: ExecutionReport;
  collected?: Collected;
  /** Failures after the job's termination cause was recorded (result-losses.ts). */
  lateFailures?: readonly string[];
}

/**
 * The job's result, the same shape whether it finished, failed, timed out or never ran, cut to one
 * response's size (fit-result.ts): the rest of its output and artifacts stays on the worker.
 */
export function buildResult(job: Job, inputs: ResultInputs): JobResult {
  const { report, collected } = inputs;
  const termination = job.termination ?? { reason: TerminationReason.TERMINATION_REASON_WORKER_ERROR, note: "ended without a cause" };
  const stdout = job.log.retainedOutput(OutputStream.OUTPUT_STREAM_STDOUT);
  const stderr = job.log.retainedOutput(OutputStream.OUTPUT_STREAM_STDERR);
  const stdoutTotalBytes = report?.stdoutTotalBytes ?? 0;
  const stderrTotalBytes = report?.stderrTotalBytes ?? 0;
  const exit = {
    ...(report?.exitCode !== undefined && { exitCode: report.exitCode }),
    ...(report?.signal && { signal: report.signal }),
    stderrBytes: stderrTotalBytes,
  };
  const { state, message } = describeOutcome(termination, exit, job.spec.limits);
  const t = job.timings;
  return fitResult({
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
    stdoutLines: report?.stdoutLines ?? 0,
    stderrLines: report?.stderrLines ?? 0,
    stdoutRetainedBytes: stdout.length,
    stderrRetainedBytes: stderr.length,
    artifacts: (collected?.artifacts ?? []).map(toWireArtifact),
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
    message: withLosses(message, inputs.lateFailures ?? [], collected),
    isolation: inputs.isolation,
    unenforcedLimits: inputs.unenforcedLimits,
    unlistedArtifacts: 0,
    unlistedSkippedArtifacts: 0,
    ...(collected?.workspaceChanges && { workspaceChanges: collected.workspaceChanges }),
    ...(report?.agent && { agent: report.agent }),
  });
}

function toWireArtifact(artifact: CollectedArtifact): Artifact {
  return {
    path: artifact.path,
    sizeBytes: artifact.sizeBytes,
    sha256: artifact.sha256,
    content: artifact.content ?? Buffer.alloc(0),
    contentInline: artifact.content !== undefined,
  };
}
