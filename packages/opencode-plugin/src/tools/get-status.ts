import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { renderStatus } from "../report/render-status.js";
import type { WorkerAccess } from "./worker-access.js";

export const getStatus = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description: "Where a job on the worker is: state, phase, time elapsed and its resource use so far. Does not wait.",
    args: { jobId: tool.schema.string().describe("The job id from worker_dispatch_job or worker_stream_job.") },
    async execute(args, context) {
      return worker.use(async (client) => renderStatus(await (await client.job(args.jobId, { signal: context.abort })).status()));
    },
  });
