/**
 * Accelerator profiles for the simulated engine's roofline model. Every figure is the dense (no structured
 * sparsity) datasheet number; sparse TFLOP/s are 2x these and must not be used. Bandwidth and FLOP/s units are
 * decimal (1 TB/s = 1e12 B/s) as the datasheets print them. Memory is not: the "80 GB" of an H100 or A100 is
 * binary (HBM stacks come in GiB), so `memoryBytes` is the total the driver reports (nvidia-smi's "MiB" column,
 * rocm-smi's "VRAM Total Memory (B)"), which is what vLLM multiplies by gpu_memory_utilization. Prices are representative on-demand list prices of
 * specialty GPU clouds; they vary by provider and contract, so config can override them.
 */
export interface HardwareProfile {
  name: string;
  /** Device memory in bytes, as the driver reports it (the total vLLM sizes its KV pool from). */
  memoryBytes: number;
  /** Peak memory bandwidth in bytes per second. */
  memoryBandwidthBytesPerS: number;
  /** Dense tensor-core peak in FLOP/s; `fp8` is absent on GPUs without FP8 tensor cores. */
  peakFlops: { bf16: number; fp8?: number };
  /**
   * Bandwidth one GPU sends (and receives) at in collectives with its tensor-parallel peers, bytes per second
   * per direction: NVLink or Infinity Fabric where the GPU has it, else its PCIe link.
   */
  interconnectBytesPerS: number;
  /** USD per GPU-hour. */
  pricePerGpuHourUsd: number;
  /** Where the figures come from (datasheet, price guide, date). */
  source: string;
}

/** One mebibyte: drivers report device memory in MiB. */
const MIB = 1024 ** 2;

const PRICE_SOURCE = "Mercatus cloud GPU pricing guide, May 2026; pricegpu H100 vs A100, early 2026";

export const HARDWARE_CATALOG: Readonly<Record<string, HardwareProfile>> = Object.freeze({
  "H100-SXM-80GB": {
    name: "H100-SXM-80GB",
    memoryBytes: 81_559 * MIB, // nvidia-smi: 81559MiB
    memoryBandwidthBytesPerS: 3.35e12,
    peakFlops: { bf16: 989e12, fp8: 1979e12 },
    interconnectBytesPerS: 450e9, // NVLink 4, 900 GB/s bidirectional
    pricePerGpuHourUsd: 2.99,
    source: `NVIDIA H100 Tensor Core GPU datasheet (SXM5, dense); price: ${PRICE_SOURCE}`,
  },
  "H100-PCIe-80GB": {
    name: "H100-PCIe-80GB",
    memoryBytes: 81_559 * MIB, // nvidia-smi: 81559MiB
    memoryBandwidthBytesPerS: 2.0e12,
    peakFlops: { bf16: 756e12, fp8: 1513e12 },
    interconnectBytesPerS: 64e9, // PCIe Gen5 x16 (an NVLink bridge joins pairs only)
    pricePerGpuHourUsd: 2.49,
    source: `NVIDIA H100 Tensor Core GPU datasheet (PCIe, dense); price: ${PRICE_SOURCE}`,
  },
  "H200-SXM-141GB": {
    name: "H200-SXM-141GB",
    memoryBytes: 143_771 * MIB, // nvidia-smi: 143771MiB
    memoryBandwidthBytesPerS: 4.8e12,
    peakFlops: { bf16: 989e12, fp8: 1979e12 },
    interconnectBytesPerS: 450e9, // NVLink 4, 900 GB/s bidirectional
    pricePerGpuHourUsd: 3.99,
    source: `NVIDIA H200 Tensor Core GPU datasheet (SXM, dense); price: ${PRICE_SOURCE}`,
  },
  "A100-80GB": {
    name: "A100-80GB",
    memoryBytes: 81_920 * MIB, // nvidia-smi: 81920MiB
    memoryBandwidthBytesPerS: 2.039e12,
    peakFlops: { bf16: 312e12 },
    interconnectBytesPerS: 300e9, // NVLink 3, 600 GB/s bidirectional
    pricePerGpuHourUsd: 1.49,
    source: `NVIDIA A100 Tensor Core GPU datasheet (80GB SXM, dense, no FP8); price: ${PRICE_SOURCE}`,
  },
  "A100-40GB": {
    name: "A100-40GB",
    memoryBytes: 40_960 * MIB, // nvidia-smi: 40960MiB
    memoryBandwidthBytesPerS: 1.555e12,
    peakFlops: { bf16: 312e12 },
    interconnectBytesPerS: 300e9, // NVLink 3, 600 GB/s bidirectional
    pricePerGpuHourUsd: 1.29,
    source: `NVIDIA A100 Tensor Core GPU datasheet (40GB SXM, dense, no FP8); price: ${PRICE_SOURCE}`,
  },
  L4: {
    name: "L4",
    memoryBytes: 23_034 * MIB, // nvidia-smi: 23034MiB
    memoryBandwidthBytesPerS: 0.3e12,
    peakFlops: { bf16: 121e12, fp8: 242e12 },
    interconnectBytesPerS: 32e9, // PCIe Gen4 x16, no NVLink
    pricePerGpuHourUsd: 0.8,
    source: `NVIDIA L4 datasheet (dense; 242/485 TFLOP/s are the sparse figures); price: ${PRICE_SOURCE}`,
  },
  A10: {
    name: "A10",
    memoryBytes: 23_028 * MIB, // nvidia-smi: 23028MiB
    memoryBandwidthBytesPerS: 0.6e12,
    peakFlops: { bf16: 125e12 },
    interconnectBytesPerS: 32e9, // PCIe Gen4 x16
    pricePerGpuHourUsd: 0.75,
    source: `NVIDIA A10 Tensor Core GPU datasheet (dense, no FP8); price: ${PRICE_SOURCE}`,
  },
  MI300X: {
    name: "MI300X",
    memoryBytes: 196_592 * MIB, // rocm-smi: 206141652992 B, 192 GiB
    memoryBandwidthBytesPerS: 5.3e12,
    peakFlops: { bf16: 1307e12, fp8: 2615e12 },
    interconnectBytesPerS: 448e9, // Infinity Fabric, 896 GB/s aggregate bidirectional
    pricePerGpuHourUsd: 2.49,
    source: `AMD Instinct MI300X datasheet (dense); price: ${PRICE_SOURCE}`,
  },
});

/**
 * Short names people use for a GPU, each standing for one catalog entry: the SXM H100/H200 (the parts cloud
 * fleets mostly run) and the 80 GB A100. Keys and catalog names are matched without regard to case.
 */
export const HARDWARE_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  H100: "H100-SXM-80GB",
  H200: "H200-SXM-141GB",
  A100: "A100-80GB",
});

/**
 * The catalog name `name` stands for: a catalog name or an alias, in any case (`l4`, `h100`); undefined when it
 * is neither. Catalog names are tried first, so an alias can never hide one.
 */
export function resolveHardwareName(name: string): string | undefined {
  const wanted = name.toLowerCase();
  const byName = (names: readonly string[]) => names.find((n) => n.toLowerCase() === wanted);
  const canonical = byName(Object.keys(HARDWARE_CATALOG));
  if (canonical !== undefined) return canonical;
  const alias = byName(Object.keys(HARDWARE_ALIASES));
  return alias === undefined ? undefined : HARDWARE_ALIASES[alias];
}
