/**
 * `instanceof` for error classes that survives duplicate copies of this package (two versions in
 * node_modules, or one bundled and one not), after Temporal's SymbolBasedInstanceOfError: the
 * class's prototype carries a `Symbol.for` brand, which every copy shares, and `instanceof` asks
 * for the brand instead of the prototype chain.
 */
export function brandErrorClass(errorClass: abstract new (...args: never[]) => Error, name: string): void {
  const brand = Symbol.for(`@opencode-worker/master-client/${name}`);
  Object.defineProperty(errorClass.prototype, brand, { value: true });
  Object.defineProperty(errorClass, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      // A subclass inherits this method: for it, `this` is the subclass, which has its own brand
      // when it is one of ours, and otherwise is answered by the prototype chain.
      if (this !== errorClass) return typeof this === "function" && (this.prototype as object).isPrototypeOf(value as object);
      return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
    },
  });
}
