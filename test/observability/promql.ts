/**
 * Just enough PromQL reading to check dashboards and rules against the metrics registry: which tollgate_
 * series an expression reads, which dashboard variables it uses, and whether its brackets balance. Not a
 * parser: string literals are blanked first, so label values never count as names.
 */

/** The expression with every string literal's contents removed ("tollgate_x" in a matcher is not a metric). */
export function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Metric names starting with tollgate_ (recording rules' level:metric:ops names contain colons, so never match). */
export function metricNames(expr: string): string[] {
  const names = withoutStrings(expr).match(/(?<![\w:$])tollgate_\w+(?![\w:])/g) ?? [];
  return [...new Set(names)];
}

/** Recording-rule names (level:metric:operations) an expression reads. */
export function recordingRuleNames(expr: string): string[] {
  return [...new Set(withoutStrings(expr).match(/(?<![\w:])[a-zA-Z_]\w*:[\w:]+/g) ?? [])];
}

/** Dashboard variables ($name or ${name}), without Grafana's built-ins ($__rate_interval, ...). */
export function variableNames(expr: string): string[] {
  const names = [...expr.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!).filter((n) => !n.startsWith("__"));
  return [...new Set(names)];
}

/** The first bracket that does not close properly, or undefined when (), {} and [] all balance. */
export function unbalancedBracket(expr: string): string | undefined {
  const closing: Record<string, string> = { ")": "(", "}": "{", "]": "[" };
  const stack: string[] = [];
  for (const c of withoutStrings(expr)) {
    if (c === "(" || c === "{" || c === "[") stack.push(c);
    else if (c in closing && stack.pop() !== closing[c]) return c;
  }
  return stack.at(-1);
}

/**
 * One entry (the counter's name) per place where `counter` is read as a raw value rather than over a range
 * (rate, increase): a counter restarts with its process, so only its rate means anything. The right-hand
 * side of `and`/`unless` is allowed: there the series only filters the left side.
 */
export function rawCounterReads(expr: string, counter: string): string[] {
  const text = withoutStrings(expr);
  const bad: string[] = [];
  for (const m of text.matchAll(new RegExp(`(?<![\\w:])${counter}(?![\\w:])(\\{[^}]*\\})?\\s*(\\[)?`, "g"))) {
    if (m[2] !== undefined) continue;
    const before = text.slice(0, m.index);
    if (/\b(and|unless)(\s+on\s*\([^)]*\))?\s*$/.test(before)) continue;
    bad.push(counter);
  }
  return bad;
}
