/**
 * Response bodies in tests are checked field by field with expect(); typing each wire shape again here would
 * duplicate the builders, so tests read them loosely.
 */
// biome-ignore lint/suspicious/noExplicitAny: test-only view of a JSON body
export type Json = any;

export function json(res: Response): Promise<Json> {
  return res.json() as Promise<Json>;
}
