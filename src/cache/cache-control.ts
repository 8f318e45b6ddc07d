/** The request directives of RFC 9111 the cache stage honours. */
export interface CacheDirectives {
  /** `no-cache`: do not answer from the cache; generate afresh (and store the new answer). */
  noCache: boolean;
  /** `no-store`: neither read nor write the cache for this request. */
  noStore: boolean;
}

export const NO_DIRECTIVES: CacheDirectives = { noCache: false, noStore: false };

/**
 * Reads `Cache-Control` (and the legacy `Pragma: no-cache`). Directive names are case-insensitive; unknown
 * directives and arguments are ignored, as RFC 9111 asks. `max-age=0` means the same as no-cache.
 */
export function parseCacheControl(cacheControl: string | undefined, pragma?: string): CacheDirectives {
  let noCache = false;
  let noStore = false;
  for (const part of (cacheControl ?? "").split(",")) {
    const [rawName, rawValue] = part.split("=", 2);
    const name = rawName?.trim().toLowerCase();
    if (name === "no-cache") noCache = true;
    else if (name === "no-store") noStore = true;
    else if (name === "max-age" && rawValue?.trim().replace(/^"|"$/g, "") === "0") noCache = true;
  }
  if (cacheControl === undefined && pragma?.trim().toLowerCase() === "no-cache") noCache = true;
  return { noCache, noStore };
}
