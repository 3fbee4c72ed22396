/**
 * Who makes a request, as the server authenticated it (a certificate's CN, a token's identity, or one
 * anonymous identity when the worker has no authentication). A plain value: session/ knows nothing of gRPC.
 */
export interface Caller {
  readonly identity: string;
  /** Listed in auth.admins: sees and cancels every job. */
  readonly admin: boolean;
}

/** A job belongs to the identity that dispatched it; others must not learn it exists. */
export function mayAccess(caller: Caller, owner: string): boolean {
  return caller.admin || caller.identity === owner;
}
