import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedModel, type ScriptedModel } from "../../../../test-support/scripted-model.js";
import { startTestWorker, type TestWorker } from "../harness.js";
import { freeUidBase } from "../isolation/sandbox-harness.js";

/** The model id agent tasks of these suites ask for. */
export const MODEL = "fakeprov/fake";

export interface AgentWorker {
  t: TestWorker;
  /** The provider's scripted model on the host's loopback: only the worker's gateway is meant to reach it. */
  model: ScriptedModel;
  /** The provider's key, in a 0600 file only the worker reads. */
  key: string;
  /** What the agent's n-th tool call returned, as the model got it back (the title request may come last: any order). */
  toolResult(n: number): string;
  stop(): Promise<void>;
}

/**
 * A real worker in the bwrap sandbox that runs agent tasks with the OpenCode set-up installed
 * (agent.opencode_dir's default), its one provider a scripted OpenAI-compatible model on loopback,
 * with a fresh random key in a 0600 key file.
 */
export async function startAgentWorker(overrides: Parameters<typeof startTestWorker>[0] = {}): Promise<AgentWorker> {
  const model = await startScriptedModel([]);
  const dir = await mkdtemp(join(tmpdir(), "ocw-agent-"));
  const key = `sk-test-${randomBytes(16).toString("hex")}`;
  const keyFile = join(dir, "fakeprov.key");
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  const providersFile = join(dir, "providers.json");
  const providers = {
    providers: {
      fakeprov: {
        api: "openai-compatible",
        base_url: model.baseURL,
        api_key_file: keyFile,
        models: { fake: { context: 100000, output: 4096 } },
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
