import type { ToolDefinition } from "@opencode-ai/plugin";
import { cancelJob } from "./tools/cancel-job.js";
import { collectOutput } from "./tools/collect-output.js";
import { delegateTask } from "./tools/delegate-task.js";
import { dispatchJob } from "./tools/dispatch-job.js";
import { getMetrics } from "./tools/get-metrics.js";
import { getStatus } from "./tools/get-status.js";
import { getStreamUrl } from "./tools/get-stream-url.js";
import { listSessions } from "./tools/list-sessions.js";
import { projectWorkspaces } from "./tools/project-workspaces.js";
import { remoteBash } from "./tools/remote-bash.js";
import { streamJob } from "./tools/stream-job.js";
import { subscribeStream } from "./tools/subscribe-stream.js";
import type { WorkerAccess } from "./tools/worker-access.js";

/** The tools an agent gets, by the names the model sees; with `remoteBash`, a `bash` that replaces opencode's own. */
export function workerTools(worker: WorkerAccess, { remoteBash: withBash }: { remoteBash: boolean }): Record<string, ToolDefinition> {
  const workspaces = projectWorkspaces();
  return {
    worker_dispatch_job: dispatchJob(worker),
    worker_get_status: getStatus(worker),
    worker_collect_output: collectOutput(worker),
    worker_cancel_job: cancelJob(worker),
    worker_list_sessions: listSessions(worker),
    worker_get_metrics: getMetrics(worker),
    worker_stream_job: streamJob(worker),
    worker_get_stream_url: getStreamUrl(worker),
    worker_subscribe_stream: subscribeStream(worker),
    worker_delegate_task: delegateTask(worker, workspaces),
    ...(withBash && { bash: remoteBash(worker, workspaces) }),
  };
}
