import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { renderMetrics } from "../report/render-metrics.js";
import type { WorkerAccess } from "./worker-access.js";

export const getMetrics = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description: "The worker's capacity and load (free slots, queue), how it isolates jobs, its outcomes so far and latencies.",
    args: {},
    async execute(_args, context) {
      return worker.use(async (client) => renderMetrics(await client.metrics({ signal: context.abort }), client.address));
    },
  });
