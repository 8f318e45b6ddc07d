/** Requests each tenant holds in a pool (queued or in service), for fair shares. Tenants at zero are forgotten. */
export class TenantCounts {
  readonly #counts = new Map<string, number>();

  of(tenant: string): number {
    return this.#counts.get(tenant) ?? 0;
  }

  enter(tenant: string): void {
    this.#counts.set(tenant, this.of(tenant) + 1);
  }

  leave(tenant: string): void {
    const left = this.of(tenant) - 1;
    if (left <= 0) this.#counts.delete(tenant);
    else this.#counts.set(tenant, left);
  }
}
