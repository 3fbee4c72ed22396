import { formatBytes, type LatencySummary, type WorkerMetrics } from "@opencode-worker/master-client";
import { seconds } from "./render-status.js";

/** A worker's capacity, load, isolation and outcomes, as an agent decides where and how to run. */
export function renderMetrics(metrics: WorkerMetrics, address: string): string {
  const free = Math.max(0, metrics.concurrency - metrics.active);
  const lines = [
    `worker ${metrics.workerId} at ${address}, version ${metrics.version}, up ${seconds(metrics.uptimeMs)}${metrics.draining ? ", DRAINING (accepts no new jobs)" : ""}`,
    `capacity: ${metrics.active} of ${metrics.concurrency} slots busy (${free} free), ${metrics.queued} of ${metrics.maxQueued} queued`,
    `isolation: ${metrics.isolationMode}${metrics.isolationDetails.length > 0 ? ` (${metrics.isolationDetails.join("; ")})` : ""}`,
    `jobs: ${metrics.jobsTotal} in all; ${metrics.outcomes.map((outcome) => `${outcome.state}/${outcome.reason} ${outcome.count}`).join(", ") || "none ended yet"}`,
    `latency: job ${latency(metrics.jobLatency)}; queue ${latency(metrics.queueLatency)}`,
    `memory: rss ${formatBytes(metrics.rssBytes)}, ${metrics.retainedResults} results kept (${formatBytes(metrics.retainedResultBytes)})`,
    delegation(metrics),
  ];
  return lines.join("\n");
}

/** Whether worker_delegate_task can use this worker, and what its agents used of their models so far. */
function delegation(metrics: WorkerMetrics): string {
  if (metrics.opencodeVersion === "") return "delegated tasks: not run here (no OpenCode, or agent.enabled off)";
  const refused = metrics.modelRequestsRefusedTotal > 0 ? ` (${metrics.modelRequestsRefusedTotal} more refused)` : "";
  return `delegated tasks: opencode ${metrics.opencodeVersion}; ${metrics.modelRequestsTotal} model requests${refused}, ${metrics.modelTokensTotal} tokens`;
}

function latency(summary: LatencySummary): string {
  if (summary.count === 0) return "no samples";
  return `p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms (${summary.count})`;
}
