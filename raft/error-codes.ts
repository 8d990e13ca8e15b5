/**
 * Every error code raft/ raises, in one union, and the one style they share: lower
 * snake_case, like the API's codes in contract/errors.ts. Callers branch on these codes, never
 * on messages; some cross process boundaries as they are (the RPC layer sends a handler's code
 * to the caller, see raft/transport/rpc.ts).
 *
 * The union is built through {@link LowerCaseCodes}, so a code in upper case (or any code that
 * is not lower case) in one of the parts below fails to compile here. A new error class with a
 * literal `code` belongs in one of the parts.
 *
 * Not in it, on purpose: the simulated disk's `SimFsError` codes (`ENOENT`, `EISDIR`, ...),
 * which imitate the errno codes of `node:fs`'s errors, and the codes a state machine's own
 * errors carry through the worker (`StateMachineWorkerError`), which are its user's.
 */
import type { RaftErrorCode } from './core/errors.js';
import type { ClientServiceErrorCode } from './runtime/client-service.js';
import type { StorageErrorCode } from './storage/errors.js';
import type { SimPowerCutError } from './storage/sim-fs.js';
import type {
  LocalRpcErrorCode,
  ServerRpcErrorCode,
  TransportErrorCode,
} from './transport/errors.js';

/** `T` itself, accepted only if every code in it is lower case. */
type LowerCaseCodes<T extends Lowercase<string>> = T;

/** A code of any error raft/ raises (the core, storage, the wire, the RPC layer, the client port). */
export type RaftLibraryErrorCode = LowerCaseCodes<
  | RaftErrorCode
  | StorageErrorCode
  | SimPowerCutError['code']
  | TransportErrorCode
  | LocalRpcErrorCode
  | ServerRpcErrorCode
  | ClientServiceErrorCode
>;
