import { WorkerClientError, type WorkerClientErrorCode } from "@opencode-worker/master-client";

/** What a model (or the user reading along) can do about each refusal; keyed by the SDK's error code. */
const NEXT_STEP: Partial<Record<WorkerClientErrorCode, (address: string) => string>> = {
  CONNECTION: unreachable,
  UNAVAILABLE: unreachable,
  DEADLINE_EXCEEDED: (address) => `the worker at ${address} did not answer in time; it may be overloaded, try again`,
  INVALID_ARGUMENT: () => "fix the named argument and call the tool again",
  PERMISSION_DENIED: () => "the worker's policy forbids this; change the command or the network setting, do not retry as is",
  RESOURCE_EXHAUSTED: () => "the worker is at capacity; wait for running jobs to end (worker_list_sessions) and retry",
  NOT_FOUND: () => "job ids come from worker_dispatch_job or worker_stream_job; a result is kept only for a while after its job ends",
  JOB_NOT_FINISHED: () => "the job is still running: collect it later, or cancel it with worker_cancel_job",
  ALREADY_EXISTS: () => "that job id is taken by a different job; leave jobId out to get a fresh one",
};

function unreachable(address: string): string {
  return (
    `no worker answers at ${address}: start one (\`opencode-worker serve\`), or point the plugin elsewhere ` +
    "with its `address` option or OPENCODE_WORKER_ADDRESS"
  );
}

/**
 * Any failure of a tool call as one readable paragraph: what went wrong, in the SDK's words (which
 * name the field as the tool took it), and what to do next. Never a stack trace.
 */
export function renderError(error: unknown, address: string): string {
  if (!(error instanceof WorkerClientError)) {
    return `opencode-worker plugin error: ${error instanceof Error ? error.message : String(error)}`;
  }
  const next = NEXT_STEP[error.code]?.(address);
  return `worker error ${error.code}: ${error.message}${next ? `\n${next}` : ""}`;
}
