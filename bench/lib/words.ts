/** The one-token word list lives with the simulator's workload generator; the bench uses the same list. */
export { ONE_TOKEN_WORDS } from "../../src/simulate/words.js";
