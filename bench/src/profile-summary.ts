/**
 * `node bench/dist/profile-summary.js FILE.cpuprofile [TOP]`: the functions and files with the most
 * self time in a V8 CPU profile (as written by BENCH_CPU_PROF), and the project's own functions by
 * inclusive time (which of our calls the self time comes from), so a bench run points at its hot
 * spots without opening DevTools.
 */
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** V8's pseudo-frames: time the process spent idle, outside JS, or collecting garbage. */
const IDLE = "(idle)";

async function main(path: string, top: number): Promise<void> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const functions = new Map<string, number>();
  const projectInclusive = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, index) => {
    // timeDeltas[i] is the time before sample i; attributing it to sample i is V8's own convention.
    const us = profile.timeDeltas[index] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    totalUs += us;
    if (frame.functionName === IDLE) {
      idleUs += us;
      return;
    }
    const file = shortUrl(frame.url) || frame.functionName;
    const name = frameName(frame);
    functions.set(name, (functions.get(name) ?? 0) + us);
    files.set(file, (files.get(file) ?? 0) + us);
    // Each project function on the stack once, however deep it recurses.
    const onStack = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const caller = byId.get(node)?.callFrame;
      if (caller?.url.includes("/packages/")) onStack.add(frameName(caller));
    }
    for (const caller of onStack) projectInclusive.set(caller, (projectInclusive.get(caller) ?? 0) + us);
  });
  const busyUs = totalUs - idleUs;
  const lines = [
    `${path}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy (${percent(busyUs, totalUs)} of wall)`,
    "",
    `top ${top} functions by self time (% of busy):`,
    ...ranked(functions, top, busyUs),
    "",
    `top ${top} files by self time (% of busy):`,
    ...ranked(files, top, busyUs),
    "",
    `top ${top} project functions by inclusive time (% of busy):`,
    ...ranked(projectInclusive, top, busyUs),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

function frameName(frame: ProfileNode["callFrame"]): string {
  const file = shortUrl(frame.url) || frame.functionName;
  return `${frame.functionName || "(anonymous)"}  ${file}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
}

/** node_modules paths shortened to package/file, the repo's to its package path. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  const packages = url.indexOf("/packages/");
  return packages >= 0 ? url.slice(packages + 1) : url.replace(/^file:\/\//, "");
}

function ranked(totals: Map<string, number>, top: number, busyUs: number): string[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `  ${percent(us, busyUs).padStart(6)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? "0.0" : ((part / whole) * 100).toFixed(1)}%`;
}

const [path, top = "25"] = process.argv.slice(2);
if (path === undefined) {
  process.stderr.write("usage: node bench/dist/profile-summary.js FILE.cpuprofile [TOP]\n");
  process.exitCode = 2;
} else {
  main(path, Number(top)).catch((error: unknown) => {
    process.stderr.write(`profile-summary: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
