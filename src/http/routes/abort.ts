/** An AbortController that also aborts when the client's request signal does (the connection closed). */
export function linkAbort(clientSignal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (clientSignal.aborted) controller.abort(clientSignal.reason);
  else clientSignal.addEventListener("abort", () => controller.abort(clientSignal.reason), { once: true });
  return controller;
}
