import { afterEach, beforeEach, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findRelay, RELAY_PATH, RELAY_PORT } from "../../src/agent/model-relay.js";
import { resolveExecutable } from "../../src/sandbox/bwrap/probe.js";
import { describeWithPrerequisites } from "../support/conditions.js";

/**
 * The native relay on its own, as in a sandbox: in a network namespace of its own with loopback only, its
 * child (test/fixtures/programs/relay-client.mjs) as the agent, and a server on a unix socket out here as the
 * gateway. The agent's tests cover it inside the real sandbox.
 */
const CLIENT = fileURLToPath(new URL("../fixtures/programs/relay-client.mjs", import.meta.url));
const MiB = 1024 * 1024;

function problems(): string[] {
  const found: string[] = [];
  if (process.getuid?.() !== 0) found.push(`running as uid ${process.getuid?.()}, not root (a network namespace needs it)`);
  if (!resolveExecutable("unshare") || !resolveExecutable("ip"))
    found.push("unshare and ip are needed (apt-get install util-linux iproute2)");
  try {
    findRelay();
  } catch (error) {
    found.push((error as Error).message);
  }
  return found;
}

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `relay ARGS` in a new network namespace with its loopback up (or on the host when `namespace` is false),
 * through `prefix` (a program that execs its arguments) if given.
 */
function runRelay(
  args: string[],
  { namespace = true, prefix = [], onStdout }: { namespace?: boolean; prefix?: string[]; onStdout?: (pid: number) => void } = {},
): Promise<Ended> {
  const child = namespace
    ? spawn("unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', ...prefix, RELAY_PATH, ...args])
    : spawn(RELAY_PATH, args);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (child.pid !== undefined) onStdout?.(child.pid);
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let socketPath: string;
let server: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "model-relay-"));
  socketPath = join(dir, "model.sock");
});

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function listen(onConnection: (socket: Socket) => void): Promise<void> {
  server = createServer({ allowHalfOpen: true }, onConnection);
  return new Promise((resolve) => server?.listen(socketPath, resolve));
}

/** The gateway's side for the echo scenarios: everything back, then a trailer once the client's end arrived. */
function echoWithTrailer(socket: Socket): void {
  socket.on("data", (chunk: Buffer) => socket.write(chunk));
  socket.on("end", () => socket.end("trailer after the client's end"));
}

/** The relay running the client fixture as its agent; resolves with what the client printed. */
async function client(scenario: string): Promise<unknown> {
  const ended = await runRelay([String(RELAY_PORT), socketPath, "--", process.execPath, CLIENT, String(RELAY_PORT), scenario]);
  expect(ended).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(ended.stdout);
}

describeWithPrerequisites("model relay", problems(), () => {
  it("relays 1 MiB each way and passes a half-close on in both directions", async () => {
    await listen(echoWithTrailer);
    expect(await client("echo")).toEqual({ bytes: MiB + 30, echoed: true, trailer: "trailer after the client's end" });
  });

  it("relays 20 connections at once", async () => {
    const waiting: Socket[] = [];
    let mostAtOnce = 0;
    await listen((socket) => {
      waiting.push(socket);
      mostAtOnce = Math.max(mostAtOnce, waiting.length);
      // None is answered before all 20 are open: a relay that serves one at a time never gets there.
      if (waiting.length === 20) for (const s of waiting) echoWithTrailer(s);
    });
    const { replies } = (await client("concurrent")) as { replies: string[] };
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `connection ${i}\ntrailer after the client's end`));
    expect(mostAtOnce).toBe(20);
  });

  it("serves no more connections at once than its descriptors allow; the others wait and are served", async () => {
    let open = 0;
    let mostAtOnce = 0;
    await listen((socket) => {
      mostAtOnce = Math.max(mostAtOnce, ++open);
      socket.on("close", () => open--);
      echoWithTrailer(socket);
    });
    // 14 descriptors: stdio, the listener, the signalfd and 3 connections of 2 (the client gets its 1024 back).
    const agent = ["prlimit", "--nofile=1024", process.execPath, CLIENT, String(RELAY_PORT), "concurrent"];
    const ended = await runRelay([String(RELAY_PORT), socketPath, "--", ...agent], { prefix: ["prlimit", "--nofile=14:1024"] });
    expect(ended).toMatchObject({ code: 0, stderr: "" });
    const { replies } = JSON.parse(ended.stdout) as { replies: string[] };
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `connection ${i}\ntrailer after the client's end`));
    expect(mostAtOnce).toBeLessThanOrEqual(3);
  });

  it("carries HTTP requests kept alive on one connection", async () => {
    let connections = 0;
    const http = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => res.writeHead(200, { "x-connection": String(connections) }).end(`got ${body}`));
    });
    http.on("connection", () => connections++);
    server = http as unknown as Server;
    await new Promise<void>((resolve) => http.listen(socketPath, resolve));
    expect(await client("http")).toEqual({
      answers: [
        { status: 200, text: "got first", connection: "1" },
        { status: 200, text: "got second", connection: "1" },
      ],
    });
  });

  it("stops reading from a side whose other side does not read, and loses nothing", async () => {
    await listen((socket) => {
      socket.pause();
      let count = 0;
      socket.on("data", (chunk: Buffer) => (count += chunk.length));
      socket.on("end", () => socket.end(String(count)));
      setTimeout(() => socket.resume(), 1500);
    });
    const { count, peakKiB } = (await client("backpressure")) as { count: string; peakKiB: number };
    expect(count).toBe(String(32 * MiB));
    // Two 64 KiB buffers and a static binary; a relay that read all it was sent would hold megabytes.
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB).toBeLessThan(8 * 1024);
  });

  it("closes the agent's connection when the gateway's socket cannot be reached", async () => {
    // No server listens on socketPath.
    expect(await client("dead")).toMatchObject({ closed: true, received: 0 });
  });

  it("exits with the child's status: its exit code, or 128 + the signal that ended it", async () => {
    const run = (code: string) => runRelay([String(RELAY_PORT), socketPath, "--", process.execPath, "-e", code]);
    expect((await run("process.exit(0)")).code).toBe(0);
    expect((await run("process.exit(3)")).code).toBe(3);
    expect((await run("process.kill(process.pid, 'SIGKILL')")).code).toBe(128 + 9);
  });

  it("forwards SIGTERM to the child", async () => {
    const agent = "process.on('SIGTERM', () => process.exit(7)); console.log('ready'); setInterval(() => {}, 1000)";
    const ended = await runRelay([String(RELAY_PORT), socketPath, "--", process.execPath, "-e", agent], {
      onStdout: (pid) => process.kill(pid, "SIGTERM"),
    });
    expect(ended).toMatchObject({ code: 7, stdout: "ready\n" });
  });

  it("refuses bad usage, a port it cannot bind and a program it cannot run", async () => {
    for (const args of [
      [],
      ["x", socketPath, "--", "true"],
      ["70000", socketPath, "--", "true"],
      ["4141", socketPath, "true"],
      ["4141", "", "--", "true"],
    ]) {
      const ended = await runRelay(args, { namespace: false });
      expect(ended.code).toBe(125);
      expect(ended.stderr).toMatch(/^model-relay: .*\nusage: model-relay PORT SOCKET -- PROGRAM/);
    }
    // The child is a second relay on the same port: it cannot bind, and its status is the first one's.
    const twice = await runRelay([String(RELAY_PORT), socketPath, "--", RELAY_PATH, String(RELAY_PORT), socketPath, "--", "true"]);
    expect(twice.code).toBe(125);
    expect(twice.stderr).toMatch(/^model-relay: cannot listen on 127\.0\.0\.1:4141: /);
    const missing = await runRelay([String(RELAY_PORT), socketPath, "--", join(dir, "no-such-program")]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^model-relay: cannot run '.*no-such-program': /);
  });
});
