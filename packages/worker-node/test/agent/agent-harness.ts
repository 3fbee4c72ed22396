import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedModel, type ScriptedModel, type ToolResult } from "../../../../test-support/scripted-model.js";
import type { ProviderApi } from "../../src/agent/providers.js";
import { startTestWorker, type TestWorker } from "../harness.js";
import { freeUidBase } from "../isolation/sandbox-harness.js";

/** The model id agent tasks of these suites ask for. */
export const MODEL = "fakeprov/fake";

/** What the harness needs of a scripted model server, whichever API it speaks. */
export interface ScriptedServer {
  baseURL: string;
  requests: { toolResults: ToolResult[] }[];
  close(): Promise<void>;
}

/** The worker's one provider: its id and API in the providers file, its one model, and the server behind it. */
export interface AgentProvider<M extends ScriptedServer> {
  id: string;
  api: ProviderApi;
  model: string;
  server: M;
}

export interface AgentWorker<M extends ScriptedServer = ScriptedModel> {
  t: TestWorker;
  /** The provider's scripted model on the host's loopback: only the worker's gateway is meant to reach it. */
  model: M;
  /** The provider's key, in a 0600 file only the worker reads. */
  key: string;
  /** What the agent's n-th tool call returned, as the model got it back (the title request may come last: any order). */
  toolResult(n: number): string;
  stop(): Promise<void>;
}

type WorkerOverrides = Parameters<typeof startTestWorker>[0];

/**
 * A real worker in the bwrap sandbox that runs agent tasks with the OpenCode set-up installed
 * (agent.opencode_dir's default), its one provider a scripted model on loopback (by default the
 * OpenAI-compatible "fakeprov/fake" of MODEL), with a fresh random key in a 0600 key file.
 * The worker owns `provider.server` from here: stop() closes it.
 */
export async function startAgentWorker(overrides?: WorkerOverrides): Promise<AgentWorker>;
export async function startAgentWorker<M extends ScriptedServer>(
  overrides: WorkerOverrides,
  provider: AgentProvider<M>,
): Promise<AgentWorker<M>>;
export async function startAgentWorker(
  overrides: WorkerOverrides = {},
  provider?: AgentProvider<ScriptedServer>,
): Promise<AgentWorker<ScriptedServer>> {
  const { id, api, model: modelId, server: model } = provider ?? (await defaultProvider());
  const dir = await mkdtemp(join(tmpdir(), "ocw-agent-"));
  const key = `sk-test-${randomBytes(16).toString("hex")}`;
  const keyFile = join(dir, `${id}.key`);
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  const providersFile = join(dir, "providers.json");
  const providers = {
    providers: {
      [id]: {
        api,
        base_url: model.baseURL,
        api_key_file: keyFile,
        models: { [modelId]: { context: 100000, output: 4096 } },
      },
    },
  };
  await writeFile(providersFile, JSON.stringify(providers));
  const t = await startTestWorker({
    ...overrides,
    agent: { providers_file: providersFile, ...overrides.agent },
    security: { sandbox_uid_base: freeUidBase(), ...overrides.security },
  });
  return {
    t,
    model,
    key,
    toolResult: (n) => model.requests.find((request) => request.toolResults.length > n)?.toolResults[n]?.content ?? "",
    async stop() {
      await t.stop();
      await model.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The provider of MODEL: a scripted OpenAI-compatible server. */
async function defaultProvider(): Promise<AgentProvider<ScriptedModel>> {
  return { id: "fakeprov", api: "openai-compatible", model: "fake", server: await startScriptedModel([]) };
}
