import { GatewayError } from "../core/errors.js";

/** The OpenAI error body: `{"error":{"message","type","param","code"}}`. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string; [extra: string]: unknown };
}

export function errorBody(error: GatewayError): ErrorBody {
  return {
    error: {
      message: error.message,
      type: error.type,
      param: error.param,
      code: error.code,
      ...error.details,
    },
  };
}

/**
 * Any thrown value as a GatewayError. Unknown errors become a 500 whose message carries the request id and
 * nothing of the internals (the details go to the log, not the client).
 */
export function toGatewayError(error: unknown, requestId: string): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError(
    "internal_error",
    `The server had an error while processing your request. Quote request id ${requestId} when reporting it.`,
    { cause: error },
  );
}
