import { WorkerError, invalidArgument } from "../errors.js";

/**
 * Requests are decoded so that bad bytes are the caller's mistake, INVALID_ARGUMENT, never INTERNAL:
 * - grpc-js answers a request deserializer that throws with INTERNAL "Error deserializing request"
 *   and never calls the handler (server-interceptors.js, decompressAndMaybePush). So the
 *   deserializers here never throw: bytes that are not a valid message (a truncated varint, a bad
 *   wire type) decode to an UndecodableRequest, which the handler turns into INVALID_ARGUMENT.
 * - 64-bit request fields are decimal strings (jstype JS_STRING in the proto), so no value up to
 *   2^64-1 can make decoding throw; `requestInteger` then refuses, naming the field, what the
 *   worker cannot use as a number.
 */
class UndecodableRequest {
  constructor(readonly error: WorkerError) {}
}

interface MethodDefinition {
  path: string;
  requestDeserialize: (bytes: Buffer) => unknown;
}

/** The service definition with every request deserializer made total (see above). */
export function withSafeDeserializers<T extends Record<string, MethodDefinition>>(definition: T): T {
  const methods = Object.entries(definition).map(([name, method]) => {
    const requestDeserialize = (bytes: Buffer): unknown => {
      try {
        return method.requestDeserialize(bytes);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return new UndecodableRequest(
          invalidArgument(
            "request",
            `the bytes sent to ${method.path} are not a valid request message (${reason}); encode it from the opencode.worker.v1 protos`,
          ),
        );
      }
    };
    return [name, { ...method, requestDeserialize }];
  });
  return Object.fromEntries(methods) as T;
}

/** The request a handler received, or the INVALID_ARGUMENT its bytes earned. */
export function decodedRequest<T>(request: T): T {
  if (request instanceof UndecodableRequest) throw request.error;
  return request;
}

/** A 64-bit request field (an exact decimal string) as a number, or INVALID_ARGUMENT naming it. */
export function requestInteger(field: string, sent: string): number {
  const value = Number(sent);
  if (!Number.isSafeInteger(value)) {
    throw invalidArgument(
      field,
      `${sent} is beyond the largest value this worker accepts (${Number.MAX_SAFE_INTEGER}); send a smaller one`,
    );
  }
  return value;
}
