import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

export const cancelJob = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "Cancel a job on the worker: its whole process tree is killed and its session destroyed. Cancelling an ended job does nothing.",
    args: {
      jobId: z.string().describe("The job id from worker_dispatch_job or worker_stream_job."),
      reason: z.string().optional().describe("Why, recorded with the job's result."),
    },
    async execute(args, context) {
      return worker.use(async (client) => {
        const job = await client.job(args.jobId, { signal: context.abort });
        const outcome = await job.cancel(args.reason ?? "cancelled by the agent");
        return outcome.cancelled
          ? `job ${job.jobId} cancelled: no process of it is left; worker_collect_output has its result and output so far`
          : `job ${job.jobId} had already ended (${outcome.state}); nothing to cancel`;
      });
    },
  });
