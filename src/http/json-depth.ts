/**
 * The nesting check that runs on a request body's text before JSON.parse. V8's JSON.parse copes with any depth,
 * but the code after it recurses (zod, safe-stable-stringify in the cache key, pino): 5,000 levels of `[` in
 * `tools` overflowed the stack, a 500. One linear pass over the text, with no recursion and no allocation
 * beyond the answer, finds the first container that opens deeper than the limit; a body that passes cannot
 * nest deeper anywhere downstream.
 */

export interface ExcessNesting {
  /** Where it is, in OpenAI's `param` form: the top-level field, with the index when it is an array. */
  param: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Undefined when no object or array in `text` opens more than `maxDepth` levels deep (`{}` is one level),
 * else where the first one does. Text that is not JSON is scanned all the same (JSON.parse then reports it).
 */
export function excessNesting(text: string, maxDepth: number): ExcessNesting | undefined {
  let depth = 0;
  let topIsObject = false;
  // The last string at depth 1 (the key of the member being read), and the element index at depth 2.
  let keyStart = -1;
  let keyEnd = -1;
  let secondIsArray = false;
  let index = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i + 1);
      if (depth === 1) {
        keyStart = i;
        keyEnd = end;
      }
      i = end - 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > maxDepth)
        return { param: paramOf(text, topIsObject, keyStart, keyEnd, secondIsArray, index) };
      if (depth === 1) topIsObject = c === OPEN_OBJECT;
      else if (depth === 2) {
        secondIsArray = c === OPEN_ARRAY;
        index = 0;
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COMMA && depth === 2) index++;
  }
  return undefined;
}

/** Index just past the closing quote of the string whose contents start at `from` (text length if unclosed). */
function stringEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    // Escaped when an odd number of backslashes precede it; each run is counted once, so the scan stays linear.
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && text.charCodeAt(quote - backslashes - 1) === BACKSLASH)
      backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

function paramOf(
  text: string,
  topIsObject: boolean,
  keyStart: number,
  keyEnd: number,
  secondIsArray: boolean,
  index: number,
): string | null {
  if (!topIsObject || keyStart < 0) return null;
  let key: string;
  try {
    key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
  } catch {
    return null;
  }
  if (key.length > 64) key = `${key.slice(0, 64)}...`;
  return secondIsArray ? `${key}[${index}]` : key;
}
