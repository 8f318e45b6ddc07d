import type { Hono } from "hono";
import { modelList, modelObject } from "../../api/responses.js";
import { GatewayError } from "../../core/errors.js";
import type { AppEnv, RouteDeps } from "../env.js";

export function modelRoutes(app: Hono<AppEnv>, { gateway }: RouteDeps): void {
  app.get("/v1/models", (c) => {
    c.set("endpoint", "models");
    return c.json(modelList(gateway.listModels()));
  });
  // Model ids may contain "/" (e.g. meta-llama/Llama-3.1-8B-Instruct), so match the rest of the path.
  app.get("/v1/models/:id{.+}", (c) => {
    c.set("endpoint", "models");
    const id = c.req.param("id");
    const card = gateway.getModel(id);
    if (card === undefined) {
      throw new GatewayError("model_not_found", `The model '${id}' does not exist.`, { param: "model" });
    }
    c.set("model", card.id);
    return c.json(modelObject(card));
  });
}
