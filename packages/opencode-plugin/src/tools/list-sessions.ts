import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { renderSessions } from "../report/render-sessions.js";
import type { WorkerAccess } from "./worker-access.js";

export const listSessions = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description: "The worker's live sessions: each running or queued job with its state, age and resource use.",
    args: {},
    async execute(_args, context) {
      return worker.use(async (client) => renderSessions(await client.listSessions({ signal: context.abort }), client.address));
    },
  });
