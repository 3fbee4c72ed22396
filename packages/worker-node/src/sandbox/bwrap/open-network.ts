import { spawn, type ChildProcess } from "node:child_process";
import { networkInterfaces } from "node:os";
import type { Readable } from "node:stream";
import { within } from "../../util/within.js";

/**
 * Network OPEN: the outside world, and nothing of the host. The job keeps a network namespace of its
 * own (bwrap --unshare-net, as for RESTRICTED) and slirp4netns, a user-mode TCP/IP stack running in
 * the host's namespace, connects it to the outside through ordinary sockets. What the host itself
 * offers stays out of reach:
 * - its loopback: 127.0.0.0/8 inside is the namespace's own `lo`, and `--disable-host-loopback`
 *   refuses the gateway (10.0.2.2), which slirp would otherwise map to the host's 127.0.0.1;
 * - its own addresses (slirp's sockets would reach any service bound to them) and 169.254.0.0/16
 *   (the cloud metadata address): `prohibit` routes in the namespace, added before the job starts,
 *   make a connect() there fail with EACCES; the job, without CAP_NET_ADMIN, cannot remove them;
 * - IPv6 is not routed at all (slirp4netns without --enable-ipv6).
 * The job resolves names with the host's /etc/resolv.conf (slirp's own DNS forwarder, which could
 * reach a resolver on the host's loopback, is disabled).
 *
 * The order: bwrap writes its sandbox's pid on NET_INFO_FD and waits on NET_BLOCK_FD before it runs
 * the launcher; the driver attaches slirp4netns to that pid's namespace, adds the routes, and only
 * then lets bwrap go on.
 */

/** bwrap writes `{"child-pid": N, ...}` here once the namespaces exist. */
export const NET_INFO_FD = 5;
/** bwrap reads one byte here before it runs the launcher. */
export const NET_BLOCK_FD = 6;

/** The programs network OPEN needs, resolved on the host. */
export interface OpenNetworkTools {
  slirp4netns: string;
  /** util-linux: runs `ip` in the sandbox's namespace. */
  nsenter: string;
  /** iproute2: adds the `prohibit` routes. */
  ip: string;
}

/** The bwrap arguments of a sandbox with network OPEN (RESTRICTED is `--unshare-net` alone). */
export const OPEN_NETWORK_BWRAP_ARGS = ["--unshare-net", "--info-fd", String(NET_INFO_FD), "--block-fd", String(NET_BLOCK_FD)];

/** How long the set-up may take before the job is failed: slirp4netns is ready in a few ms. */
const SETUP_TIMEOUT_MS = 10_000;

/**
 * The tools, or why network OPEN cannot be offered (naming what to install). `resolve` finds a
 * program on PATH, or checks a path.
 */
export function findOpenNetworkTools(slirp4netnsSetting: string, resolve: (name: string) => string | undefined): OpenNetworkTools | string {
  const slirp4netns = resolve(slirp4netnsSetting);
  const nsenter = resolve("nsenter");
  const ip = resolve("ip");
  const missing = [
    ...(slirp4netns ? [] : [`slirp4netns (not found at '${slirp4netnsSetting}'; security.slirp4netns_path)`]),
    ...(nsenter ? [] : ["nsenter (util-linux)"]),
    ...(ip ? [] : ["ip (iproute2)"]),
  ];
  if (!slirp4netns || !nsenter || !ip) {
    return `network OPEN needs ${missing.join(", ")}: apt-get install slirp4netns iproute2 util-linux, then restart the worker`;
  }
  return { slirp4netns, nsenter, ip };
}

/** Destinations a job must not reach: the link-local block (metadata) and each of the host's IPv4 addresses. */
export function deniedDestinations(): string[] {
  const own = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((a) => a.family === "IPv4" && !a.internal)
    .map((a) => `${a.address}/32`);
  return ["169.254.0.0/16", ...new Set(own)];
}

/**
 * Connects the namespace of the sandbox that announces its pid on `info` to the outside world.
 * Resolves with the running slirp4netns once the job may start; the caller stops it when the job ends
 * (and it exits by itself when the worker dies: its exit fd is a pipe from this process).
 */
export async function connectOutside(info: Readable, tools: OpenNetworkTools): Promise<ChildProcess> {
  let helper: ChildProcess | undefined;
  const setup = (async () => {
    const pid = await sandboxPid(info);
    helper = spawn(
      tools.slirp4netns,
      [
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        "--disable-dns",
        // Its own empty mount namespace without capabilities, and a syscall filter: it parses the job's packets.
        "--enable-sandbox",
        "--enable-seccomp",
        "--ready-fd=3",
        "--exit-fd=4",
        String(pid),
        "tap0",
      ],
      { env: {}, cwd: "/", stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    await helperReady(helper);
    const routes = deniedDestinations().map((d) => `route add prohibit ${d}\n`);
    await run(tools.nsenter, [`--net=/proc/${pid}/ns/net`, "--", tools.ip, "-batch", "-"], routes.join(""));
    return helper;
  })();
  try {
    const ready = await within(setup, SETUP_TIMEOUT_MS);
    if (!ready) throw new Error(`network OPEN: the job's network was not set up within ${SETUP_TIMEOUT_MS} ms`);
    return ready;
  } catch (error) {
    helper?.kill("SIGKILL");
    // A helper started after the deadline must not outlive the job either.
    setup.then((late) => late.kill("SIGKILL")).catch(() => {});
    throw error;
  }
}

/** The sandbox's pid from bwrap's info: the descriptor stays open (bwrap's child holds it), so no EOF. */
function sandboxPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const match = /"child-pid":\s*(\d+)\D/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    info.once("close", () => reject(new Error("network OPEN: bwrap ended before it created the sandbox's namespace")));
    info.on("error", () => {});
  });
}

function helperReady(helper: ChildProcess): Promise<void> {
  let stderr = "";
  helper.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
  return new Promise((resolve, reject) => {
    (helper.stdio[3] as Readable).once("data", () => resolve());
    helper.once("error", reject);
    helper.once("exit", (code, signal) =>
      reject(new Error(`network OPEN: slirp4netns ended (${signal ?? `exit ${code}`}): ${stderr.trim()}`)),
    );
  });
}

function run(file: string, args: string[], stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: {}, cwd: "/", stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdin?.on("error", () => {});
    child.stdin?.end(stdin);
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`network OPEN: ${file} ${args.join(" ")}: exit ${code}: ${stderr.trim()}`)),
    );
  });
}
