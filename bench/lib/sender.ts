import type { WorkloadRequest } from "./workload.js";

/**
 * Sends one request and resolves when its body has been read. `onFirstByte` is called when the first
 * generated token arrives (streams) or the first body byte (JSON) of a 2xx response. A transport failure may reject or resolve
 * with `error`; either counts as an error. `signal` aborts when the run ends with the request still in flight.
 */
export type Sender = (
  req: WorkloadRequest,
  onFirstByte: () => void,
  signal?: AbortSignal,
) => Promise<{ status: number; completionTokens: number; error?: string }>;
