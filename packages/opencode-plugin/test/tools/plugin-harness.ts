import { afterAll, beforeAll } from "@jest/globals";
import type { ToolContext } from "@opencode-ai/plugin";
import { startTestWorker, type TestWorker } from "../../../worker-node/test/harness.js";
import { freeUidBase } from "../../../worker-node/test/isolation/sandbox-harness.js";
import { OpencodeWorkerPlugin } from "../../src/index.js";

/**
 * The plugin's tools called the way opencode calls them, without opencode: the plugin function with
 * its options, then a tool's execute() with a context this harness builds and records.
 */

export type ToolName =
  | "worker_dispatch_job"
  | "worker_get_status"
  | "worker_collect_output"
  | "worker_cancel_job"
  | "worker_list_sessions"
  | "worker_get_metrics"
  | "worker_stream_job"
  | "worker_get_stream_url"
  | "worker_subscribe_stream"
  | "worker_delegate_task"
  | "bash";

export interface MetadataCall {
  title?: string;
  metadata?: { jobId?: string; state?: string; output?: string; description?: string };
}

/** One tool call's context: abort it with `controller`, read its live progress in `metadata`. */
export interface RecordedContext {
  context: ToolContext;
  controller: AbortController;
  metadata: MetadataCall[];
}

/** `directory` is opencode's project directory (the one it runs in); the test's cwd unless given. */
export function toolContext(directory = process.cwd()): RecordedContext {
  const controller = new AbortController();
  const metadata: MetadataCall[] = [];
  const context: ToolContext = {
    sessionID: "ses_tools_test",
    messageID: "msg_tools_test",
    agent: "build",
    directory,
    worktree: directory,
    abort: controller.signal,
    metadata: (input) => metadata.push(input as MetadataCall),
    ask: async () => {},
  };
  return { context, controller, metadata };
}

export interface LoadedPlugin {
  /** Runs a tool; `recorded` is a fresh context unless given. Its result is always text. */
  call(name: ToolName, args: Record<string, unknown>, recorded?: RecordedContext): Promise<string>;
  dispose(): Promise<void>;
}

export async function loadPlugin(options: Record<string, unknown>): Promise<LoadedPlugin> {
  // The plugin reads nothing of opencode's input; its options are what opencode.json gives it.
  const hooks = await OpencodeWorkerPlugin({} as never, options);
  return {
    async call(name, args, recorded = toolContext()) {
      const tool = hooks.tool?.[name];
      if (!tool) throw new Error(`the plugin has no tool ${name}`);
      const result = await tool.execute(args as never, recorded.context);
      if (typeof result !== "string") throw new Error(`${name} returned ${JSON.stringify(result)}, not text`);
      return result;
    },
    async dispose() {
      await hooks.dispose?.();
    },
  };
}

/** What a suite's tests use: set by `usePluginOnWorker()`'s beforeAll. */
export interface PluginOnWorker {
  worker: TestWorker;
  plugin: LoadedPlugin;
}

/**
 * For the enclosing suite: a real sandboxed worker on port 0 (default config, slot uids no other
 * test file uses) and the plugin loaded against it, started before its tests and stopped after.
 */
export function usePluginOnWorker(): PluginOnWorker {
  const on = {} as PluginOnWorker;
  beforeAll(async () => {
    on.worker = await startTestWorker({ security: { sandbox_uid_base: freeUidBase() } });
    on.plugin = await loadPlugin({ address: on.worker.worker.address });
  });
  afterAll(async () => {
    await on.plugin?.dispose();
    await on.worker?.stop();
  });
  return on;
}

/** The job id a tool result names: every result about a job says "job <id>". */
export function jobIdIn(text: string): string {
  const id = /\bjob ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/.exec(text)?.[1];
  if (!id) throw new Error(`no job id in ${JSON.stringify(text)}`);
  return id;
}
