import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "@jest/globals";
import type { JobEvent, JobResult } from "@opencode-worker/master-client";
import { startScriptedModel, type ScriptedModel } from "../../../../test-support/scripted-model.js";
import type { ScriptedRequest, ScriptedServer as WireServer } from "../../../../test-support/scripted-server.js";
import type { ProviderApi } from "../../src/agent/providers.js";
import { startTestWorker, type TestWorker } from "../harness.js";
import { freeUidBase } from "../isolation/sandbox-harness.js";

/** The model id agent tasks of these suites ask for. */
export const MODEL = "fakeprov/fake";

/** A scripted model server, whichever API it speaks. */
export type ScriptedServer = WireServer<ScriptedRequest>;

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

/**
 * The task every wire is proven with: the agent writes hello.txt, runs `id -u`, and says its final text. Checks what
 * any provider must give (the file and the final text back, the uid a slot's, two completed tool steps, one
 * model_call event a request with the scripted tokens, the usage totals) and returns what a wire's own test checks.
 */
export async function runWriteAndBash(
  a: AgentWorker<ScriptedServer>,
  model: string,
  tokensPerRequest: { input: number; output: number },
): Promise<{ result: JobResult; events: JobEvent[]; requests: number }> {
  a.model.setScript([
    { tool: "write", args: { filePath: "hello.txt", content: "written by the agent\n" } },
    { tool: "bash", args: { command: "id -u", description: "Print the uid" } },
    { say: "Wrote hello.txt." },
  ]);
  const job = await a.t.client.dispatch({ agentTask: { prompt: "Write hello.txt, then tell me your uid.", model } });
  const events: JobEvent[] = [];
  for await (const event of job.events()) events.push(event);
  const result = await job.wait();

  expect(result.message).toBe("exited with code 0");
  expect(result.state).toBe("finished");
  expect(result.agent?.finalText).toBe("Wrote hello.txt.");
  const added = result.workspaceChanges?.changes.find((change) => change.path === "hello.txt");
  expect(added).toMatchObject({ kind: "added", type: "file" });
  expect(added?.content?.toString()).toBe("written by the agent\n");
  // The bash tool's output, as the model got it back: the job's slot uid, never root.
  expect(Number(a.toolResult(1).trim().split("\n")[0])).toBeGreaterThanOrEqual(300_000);

  // Title, write, bash, final text: every request went through the gateway and was counted there.
  const requests = a.model.requests.length;
  expect(requests).toBeGreaterThanOrEqual(3);
  expect(result.agent).toMatchObject({
    usage: {
      requests,
      inputTokens: tokensPerRequest.input * requests,
      outputTokens: tokensPerRequest.output * requests,
      refusedRequests: 0,
    },
    opencodeVersion: "1.18.33",
    toolCalls: 2,
    failedToolCalls: 0,
  });
  // Progress as structured events: each tool call with its status, each model call with its tokens.
  const tools = events.flatMap((event) => (event.type === "agent_step" && event.kind === "tool" ? [`${event.tool}:${event.status}`] : []));
  expect(tools).toEqual(["write:completed", "bash:completed"]);
  const calls = events.filter((event) => event.type === "model_call");
  expect(calls).toHaveLength(requests);
  for (const call of calls) {
    expect(call).toMatchObject({ model, httpStatus: 200, inputTokens: tokensPerRequest.input, outputTokens: tokensPerRequest.output });
  }
  return { result, events, requests };
}
