import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { getProcessor, LangVariant, ParseError } from "sh-syntax";
import type { ShellDialect } from "./ast.js";

/**
 * mvdan/sh (through sh-syntax's WASM build) as the authority on whether a text is valid shell and
 * where its top-level statements start. Its JavaScript binding returns nothing deeper than that,
 * which is why `parser.ts` exists; this module is how that parser's result gets confirmed.
 *
 * Cost: sh-syntax starts a fresh Go runtime for every call (about 2.5 ms to instantiate, 1.5 ms to
 * start, 0.5 ms to parse), which is also why there is no synchronous form. Reusing one instance would
 * parse in 0.15 ms, but after its `main` returns the runtime's garbage collector crashes ("memory
 * access out of bounds") the first time it runs, after a few hundred to a few thousand calls, so we
 * keep sh-syntax's one-runtime-per-call model. What is cached is the compiled module: compiling the
 * 750 KB binary is most of the first call's cost.
 */
export type ShellSyntaxResult =
  | { readonly ok: true; readonly statementOffsets: readonly number[] }
  /** Unparseable text; `line` and `column` are 1-based when the parser reported a position. */
  | { readonly ok: false; readonly tooComplex: false; readonly message: string; readonly line?: number; readonly column?: number }
  /** The parser itself failed: its WASM heap or stack overflowed on a very large or deep input. */
  | { readonly ok: false; readonly tooComplex: true; readonly message: string };

type Processor = ReturnType<typeof getProcessor>;

/** The WebAssembly calls used here: the project's lib (ES2023, no DOM) does not declare the global. */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
  RuntimeError: abstract new () => Error;
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let processor: Promise<Processor> | undefined;

/** Compiles the parser once; later calls share it. Call at start-up to keep the first Dispatch fast. */
export function loadShellSyntax(): Promise<Processor> {
  processor ??= compile().catch((error: unknown) => {
    // A failed load is retried by the next call rather than remembered forever.
    processor = undefined;
    throw error;
  });
  return processor;
}

async function compile(): Promise<Processor> {
  const wasmPath = createRequire(import.meta.url).resolve("sh-syntax/main.wasm");
  const module = await wasm.compile(await readFile(wasmPath));
  return getProcessor((imports: object) => wasm.instantiate(module, imports));
}

const VARIANT: Record<ShellDialect, number> = { posix: LangVariant.LangPOSIX, bash: LangVariant.LangBash };

/** Parses `text`; statement offsets are UTF-8 byte offsets, as mvdan/sh counts them. */
export async function checkShellSyntax(text: string, dialect: ShellDialect): Promise<ShellSyntaxResult> {
  const parse = await loadShellSyntax();
  try {
    const file = await parse(text, { variant: VARIANT[dialect] as LangVariant, keepComments: false });
    return { ok: true, statementOffsets: file.Stmts.map((statement) => statement.Pos.Offset) };
  } catch (error) {
    if (error instanceof ParseError) {
      return { ok: false, tooComplex: false, message: error.Text, line: error.Pos?.Line, column: error.Pos?.Col };
    }
    if (error instanceof SyntaxError) {
      // Errors about features of another dialect come as plain text: "1:3: `&>` redirects are a bash feature...".
      const match = /^(\d+):(\d+): (.*)$/s.exec(error.message);
      if (match) return { ok: false, tooComplex: false, message: match[3] as string, line: Number(match[1]), column: Number(match[2]) };
      return { ok: false, tooComplex: false, message: error.message };
    }
    // Its heap overflows on very large inputs; its stack (a RangeError in V8) on very deep ones.
    if (error instanceof wasm.RuntimeError || error instanceof RangeError) {
      return { ok: false, tooComplex: true, message: "the shell parser overflowed its memory or stack" };
    }
    throw error;
  }
}
