/**
 * The seccomp filter of sandboxed jobs: a deny list in the spirit of container runtimes' default
 * profiles, compiled to the raw BPF program that `bwrap --seccomp FD` reads from a descriptor.
 *
 * @example
 * const child = spawn("bwrap", [...args, "--seccomp", "3", "--", ...argv], { stdio: ["ignore", "pipe", "pipe", "pipe"] });
 * (child.stdio[3] as Writable).end(seccompProgram());
 */
export { seccompProgram, describeSeccompPolicy, syscallAbi } from "./program.js";
export type { SeccompDescription } from "./program.js";
