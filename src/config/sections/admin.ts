import { z } from "zod";
import { ENV_REFERENCE } from "./fields.js";

export const adminSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Serve the admin API (/admin/*)."),
    key: z
      .string()
      .min(16, "use at least 16 characters")
      .optional()
      .describe(
        `Lets clients in with \`Authorization: Bearer <key>\` (at least 16 characters); ${ENV_REFERENCE} is ` +
          "read from the environment at start-up.",
      ),
    requireKey: z
      .boolean()
      .optional()
      .meta({
        description:
          "Loopback clients must show the key too (a reverse proxy on the same host is a loopback client). " +
          "true needs admin.key.",
        whenUnset: 'true unless server.host is a loopback address or "localhost"',
      }),
  })
  .strict()
  .meta({
    title: "Admin API",
    description:
      "The admin API (/admin/*): clients with `Authorization: Bearer <key>`, and loopback clients without it " +
      "unless `requireKey`.",
  });

export type AdminConfig = z.infer<typeof adminSchema>;

/** An admin API that demands a key it was not given. */
export function checkAdmin(admin: AdminConfig): string[] {
  if (admin.enabled && admin.requireKey === true && admin.key === undefined)
    return ["admin.requireKey: true needs admin.key (or admin.enabled: false)"];
  return [];
}
