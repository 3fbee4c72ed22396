import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { jobArgs, jobSpecOf } from "./job-args.js";
import type { WorkerAccess } from "./worker-access.js";

export const dispatchJob = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "Start a command on a remote opencode-worker (an isolated, disposable sandbox) and return at once with its job id. " +
      "Use it for long jobs you check on later (worker_get_status, worker_subscribe_stream, worker_collect_output); " +
      "for a job you want to wait for, worker_stream_job is simpler.",
    args: jobArgs,
    async execute(args, context) {
      return worker.use(async (client, settings) => {
        const job = await client.dispatch(jobSpecOf(args, settings), { signal: context.abort });
        const status = await job.status();
        return [
          `job ${job.jobId} dispatched to ${client.address}: ${status.state}, session ${job.sessionId}`,
          `next: worker_collect_output (waits for the result) or worker_subscribe_stream with jobId "${job.jobId}"`,
        ].join("\n");
      });
    },
  });
