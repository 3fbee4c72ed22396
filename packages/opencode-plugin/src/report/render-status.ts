import { formatBytes, type JobStatus, type ResourceUsage } from "@opencode-worker/master-client";

/** A running or ended job's status in a few lines, with the call that comes next. */
export function renderStatus(status: JobStatus): string {
  const where = status.ended ? `${status.state} (${status.reason ?? "unknown"})` : `${status.state}, phase ${status.phase}`;
  const lines = [`job ${status.jobId}: ${where} · ${seconds(status.elapsedMs)} elapsed · queued ${seconds(status.queueMs)}`];
  if (status.usage) lines.push(`usage: ${renderUsage(status.usage)}`);
  lines.push(
    status.ended
      ? "it has ended: read its result with worker_collect_output"
      : `latest event seq ${status.lastSeq}: follow it with worker_subscribe_stream, or wait with worker_collect_output`,
  );
  return lines.join("\n");
}

export function renderUsage(usage: ResourceUsage): string {
  return (
    `cpu ${usage.cpuTimeMs} ms · memory ${formatBytes(usage.memoryBytes)} (peak ${formatBytes(usage.memoryPeakBytes)}) · ` +
    `${usage.pids} process${usage.pids === 1 ? "" : "es"}`
  );
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
