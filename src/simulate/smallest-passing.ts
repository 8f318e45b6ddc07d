/**
 * The smallest n in [1, max] for which `passes(n)` is "pass", assuming it is monotone: doubles n from 1 until a
 * pass (an upper bound), then bisects between the last failure and that pass. "stop" during the doubling
 * gives up (no n will pass). `evaluated` lists the n tried.
 */
export async function smallestPassing(input: {
  max: number;
  passes: (n: number) => Promise<"pass" | "fail" | "stop">;
}): Promise<{ smallest: number | undefined; evaluated: number[] }> {
  const evaluated: number[] = [];
  const passes = async (n: number) => {
    evaluated.push(n);
    return (await input.passes(n)) === "pass";
  };
  let failing = 0;
  let passing = 1;
  for (;;) {
    evaluated.push(passing);
    const outcome = await input.passes(passing);
    if (outcome === "pass") break;
    if (outcome === "stop" || passing >= input.max) return { smallest: undefined, evaluated };
    failing = passing;
    passing = Math.min(passing * 2, input.max);
  }
  while (passing - failing > 1) {
    const mid = Math.floor((failing + passing) / 2);
    if (await passes(mid)) passing = mid;
    else failing = mid;
  }
  return { smallest: passing, evaluated };
}
