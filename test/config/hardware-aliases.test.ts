import { describe, expect, it } from "vitest";
import {
  HARDWARE_ALIASES,
  HARDWARE_CATALOG,
  resolveHardwareName,
} from "../../src/config/catalog/hardware.js";

describe("resolveHardwareName", () => {
  it.each([
    ["H100", "H100-SXM-80GB"],
    ["h100", "H100-SXM-80GB"],
    ["H200", "H200-SXM-141GB"],
    ["a100", "A100-80GB"],
    ["L4", "L4"],
    ["l4", "L4"],
    ["h100-pcie-80gb", "H100-PCIe-80GB"],
    ["A100-40GB", "A100-40GB"],
    ["mi300x", "MI300X"],
  ])("%s is %s", (name, canonical) => {
    expect(resolveHardwareName(name)).toBe(canonical);
  });

  it.each(["TPU", "", "H100 ", "H100-SXM", "A100-80"])("%j is unknown", (name) => {
    expect(resolveHardwareName(name)).toBeUndefined();
  });

  it("maps every alias to a catalog entry, none of them a catalog name itself, and is frozen", () => {
    const catalog = Object.keys(HARDWARE_CATALOG).map((n) => n.toLowerCase());
    for (const [alias, name] of Object.entries(HARDWARE_ALIASES)) {
      expect(HARDWARE_CATALOG[name]).toBeDefined();
      expect(catalog).not.toContain(alias.toLowerCase());
    }
    expect(Object.isFrozen(HARDWARE_ALIASES)).toBe(true);
  });

  it("resolves every catalog name to itself", () => {
    for (const name of Object.keys(HARDWARE_CATALOG)) expect(resolveHardwareName(name)).toBe(name);
  });
});
