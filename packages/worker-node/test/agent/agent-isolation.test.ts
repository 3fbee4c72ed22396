import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describeSandbox, waitFor } from "../support/conditions.js";
import { MODEL, startAgentWorker, type AgentWorker } from "./agent-harness.js";

/*
 * What an agent task can reach: its model through the gateway and nothing else, with the provider's key never
 * inside; and what a command's job can reach of the gateway: nothing.
 */
let a: AgentWorker;

/** A node one-liner that tries to connect (TCP host:port, or a unix socket path) and prints what happened. */
function probe(label: string, target: string): string {
  const options = target.startsWith("/")
    ? `{path:${JSON.stringify(target)}}`
    : `{host:"${target.split(":")[0]}",port:${target.split(":")[1]}}`;
  return (
    `node -e 'const s=require("net").connect(${options});s.on("connect",()=>{console.log("${label}: connected");s.destroy()});` +
    `s.on("error",e=>console.log("${label}: "+e.code))'`
  );
}

describeSandbox("agent task isolation", () => {
  beforeAll(async () => {
    a = await startAgentWorker({ governance: { command_policy: "off" } });
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
  });

  it("keeps the provider's key out of the sandbox: not in the agent's environment, processes or files, only in the gateway's requests", async () => {
    const hunt = [
      "env",
      "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
      "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '",
      // The key's prefix, never the key: a hit prints the whole key.
      'grep -raoh \'sk-test-[0-9a-f]*\' /etc /run /opt /tmp /home /root /var /dev/shm "$HOME" "$PWD" 2>/dev/null | sort -u',
      "echo HUNT-DONE",
    ].join("; ");
    a.model.setScript([{ tool: "bash", args: { command: hunt, description: "Look for the key" } }, { say: "Nothing found." }]);
    const result = await a.t.client.run({ agentTask: { prompt: "Find the API key.", model: MODEL }, limits: { timeoutMs: 120_000 } });

    expect(result.state).toBe("finished");
    const seen = a.toolResult(0);
    // The hunt ran (so its silence means something): the agent's own environment is in its output.
    expect(seen).toContain("HUNT-DONE");
    expect(seen).toContain("OPENCODE_CONFIG=");
    expect(seen).not.toContain(a.key);
    const everything = [
      result.stdout.toString(),
      result.stderr.toString(),
      ...(result.workspaceChanges?.changes ?? []).map((c) => c.content?.toString() ?? ""),
    ];
    for (const text of everything) expect(text).not.toContain(a.key);
    expect(a.model.requests.length).toBeGreaterThan(0);
    for (const request of a.model.requests) expect(request.authorization).toBe(`Bearer ${a.key}`);
  }, 120_000);

  it("lets an agent reach its model through the relay and nothing else", async () => {
    const modelAddress = new URL(a.model.baseURL).host;
    const command = [probe("relay", "127.0.0.1:4141"), probe("host-model", modelAddress), probe("outside", "1.1.1.1:80")].join("; ");
    a.model.setScript([{ tool: "bash", args: { command, description: "Probe the network" } }, { say: "Probed." }]);
    const result = await a.t.client.run({ agentTask: { prompt: "Probe.", model: MODEL } });

    expect(result.state).toBe("finished");
    const seen = a.toolResult(0);
    expect(seen).toContain("relay: connected");
    expect(seen).toMatch(/host-model: (ECONNREFUSED|ENETUNREACH)/);
    expect(seen).toMatch(/outside: (ENETUNREACH|ECONNREFUSED|EHOSTUNREACH)/);
  }, 90_000);

  it("gives a command's job no way to the gateway, not even to a running agent task's socket", async () => {
    // An agent task that sits in a tool call, so its gateway is up while the command's job looks for it.
    a.model.setScript([{ tool: "bash", args: { command: "sleep 6", description: "Wait" } }, { say: "Waited." }]);
    const agentJob = await a.t.client.dispatch({ agentTask: { prompt: "Wait.", model: MODEL } });
    const socket = join(a.t.baseDir, "sessions", `session-${agentJob.sessionId}`, "gateway", "model.sock");
    await waitFor(
      () => existsSync(socket),
      () => `the agent task's gateway socket ${socket}`,
      30_000,
    );

    const command = [
      probe("relay", "127.0.0.1:4141"),
      probe("in-sandbox-path", "/run/opencode-worker/model.sock"),
      probe("agent-socket", socket),
    ].join("; ");
    const result = await a.t.client.run({ command });
    const out = result.stdout.toString();
    expect(out).toContain("relay: ECONNREFUSED");
    expect(out).toMatch(/in-sandbox-path: (ENOENT|EACCES)/);
    expect(out).toMatch(/agent-socket: (ENOENT|EACCES)/);
    expect((await agentJob.wait()).state).toBe("finished");
  }, 90_000);
});
