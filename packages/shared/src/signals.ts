import { constants } from "node:os";

/**
 * Signal names and numbers, both ways, for results that say "SIGSEGV" where a shell would say 139.
 * The numbers are this platform's (the worker's): the SDK only ever turns a worker's name back into
 * a shell status on the same kind of host.
 */

/** "SIGSEGV" for 11; `SIG<n>` for a number without a name (a real-time signal). */
export function signalName(signal: number): string {
  return Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] ?? `SIG${signal}`;
}

/** The status a shell reports for a process killed by `signal`: 128+n; undefined for an unknown name. */
export function shellStatusOf(signal: string): number | undefined {
  const number = constants.signals[signal as NodeJS.Signals] as number | undefined;
  return number === undefined ? undefined : 128 + number;
}
