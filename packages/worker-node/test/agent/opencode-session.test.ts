import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedModel } from "../../../../test-support/scripted-model.js";
import { AgentEventReader } from "../../src/agent/agent-events.js";
import { agentEnv, prepareAgentHome } from "../../src/agent/agent-home.js";
import { opencodeConfig } from "../../src/agent/opencode-config.js";
import type { ProviderSettings } from "../../src/agent/providers.js";
import { resolveExecutable } from "../../src/sandbox/bwrap/probe.js";
import { describeWithPrerequisites } from "../support/conditions.js";
import { requireOpencodeBinary } from "../support/opencode-binary.js";

/**
 * The session's OpenCode config, HOME and environment against the real pinned binary: the config passes its
 * schema, and a run with the prepared HOME neither stalls on the offline plugin install nor writes outside
 * its HOME, TMPDIR and work dir.
 */

const problems: string[] = [];
if (process.getuid?.() !== 0) problems.push("not root (unshare -n and chown need it)");
if (!resolveExecutable("unshare")) problems.push("unshare is not installed (util-linux)");

const provider = (api: ProviderSettings["api"]): ProviderSettings => ({
  id: "fakeprov",
  api,
  baseUrl: "http://unused",
  apiKey: "",
  models: new Map([["fake", { context: 100000, output: 4096 }]]),
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

describeWithPrerequisites("the agent's OpenCode session", problems, () => {
  let binary: string;
  const root = mkdtempSync(join(tmpdir(), "opencode-session-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let sessions = 0;

  beforeAll(() => {
    binary = requireOpencodeBinary();
  });

  /** A fresh session: HOME prepared, TMPDIR, a work dir and the config file (written by the test). */
  async function session(): Promise<{ dir: string; work: string; tmp: string; env: Record<string, string>; configPath: string }> {
    const dir = join(root, `s${(sessions += 1)}`);
    const work = join(dir, "work");
    const tmp = join(dir, "tmp");
    mkdirSync(work, { recursive: true });
    mkdirSync(tmp);
    await prepareAgentHome(join(dir, "home"));
    const configPath = join(dir, "opencode.json");
    return { dir, work, tmp, configPath, env: agentEnv({ homeDir: join(dir, "home"), tmpDir: tmp, configPath }) };
  }

  /** Runs opencode with no stdin (`run` would wait for a piped one) and `prefix` before it (`unshare -n`). */
  function opencode(args: string[], env: Record<string, string>, cwd: string, prefix: string[] = []): Promise<Run> {
    const started = Date.now();
    const child = spawn(prefix[0] ?? binary, [...prefix.slice(1), ...(prefix.length > 0 ? [binary] : []), ...args], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    });
  }

  it.each(["openai-compatible", "anthropic"] as const)(
    "writes a %s config the pinned opencode accepts, offline",
    async (api) => {
      const { work, env, configPath } = await session();
      const config = opencodeConfig({ provider: provider(api), modelId: "fake", baseUrl: "http://127.0.0.1:4141" });
      writeFileSync(configPath, JSON.stringify(config));
      const valid = await opencode(["debug", "config"], env, work, ["unshare", "-n"]);
      expect(valid).toMatchObject({ code: 0 });
      const resolved = JSON.parse(valid.stdout) as { model: string; provider: Record<string, { models: Record<string, unknown> }> };
      expect(resolved.model).toBe("fakeprov/fake");
      expect(Object.keys(resolved.provider.fakeprov?.models ?? {})).toEqual(["fake"]);

      // The same check fails a config the schema rejects, so it can tell.
      writeFileSync(configPath, JSON.stringify({ ...config, permission: { edit: "sometimes" } }));
      const invalid = await opencode(["debug", "config"], env, work, ["unshare", "-n"]);
      expect(invalid.code).not.toBe(0);
      expect(invalid.stderr).toContain("permission.edit");
    },
    60_000,
  );

  it("runs a task with the prepared HOME without stalling, ignoring the workspace's own OpenCode config", async () => {
    const model = await startScriptedModel([
      { tool: "bash", args: { command: "echo hello > made.txt && echo wrote", description: "Write a file" } },
    ]);
    try {
      const { dir, work, tmp, env, configPath } = await session();
      const config = opencodeConfig({ provider: provider("openai-compatible"), modelId: "fake", baseUrl: model.baseURL });
      writeFileSync(configPath, JSON.stringify(config));
      // A workspace may carry these: read, they would replace the model and start a plugin install in .opencode/.
      mkdirSync(join(work, ".opencode"));
      writeFileSync(join(work, "opencode.json"), JSON.stringify({ model: "other/model" }));

      const run = await opencode(["run", "--format", "json", "Write the file"], env, work);
      expect(run).toMatchObject({ code: 0 });
      // The offline plugin install stalls about 70 s; a warm run takes about 3 s, a loaded machine several times that.
      expect(run.ms).toBeLessThan(30_000);
      const reader = new AgentEventReader(() => undefined);
      reader.push(Buffer.from(run.stdout));
      reader.end();
      expect(reader.outcome()).toMatchObject({ finalText: "done", toolCalls: 1, failedToolCalls: 0 });
      expect(model.requests.map((request) => request.authorization)).toEqual(model.requests.map(() => undefined));

      expect(readdirSync(work).sort()).toEqual([".opencode", "made.txt", "opencode.json"]);
      expect(readdirSync(join(work, ".opencode"))).toEqual([]);
      // Nothing unpacked into TMPDIR (OPENCODE_DISABLE_FFF), nothing beside the session's dirs.
      expect(readdirSync(tmp).filter((name) => name.endsWith(".so"))).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(["home", "opencode.json", "tmp", "work"]);
    } finally {
      await model.close();
    }
  }, 60_000);

  it("hands the HOME it prepares to the job's uid", async () => {
    const home = join(root, "owned");
    await prepareAgentHome(home, { uid: 54321, gid: 54322 });
    const paths = [
      "",
      ".config",
      ".config/opencode/node_modules",
      ".config/opencode/package-lock.json",
      ".local/state/opencode",
      ".cache/opencode",
    ];
    for (const path of paths) expect(lstatSync(join(home, path))).toMatchObject({ uid: 54321, gid: 54322 });
  });
});
