// One check result, shared by the guest (which produces them) and the host (which reports them).
export interface Check {
  id: string;
  expected: string;
  observed: string;
  pass: boolean;
  /** Why an expectation differs from the uAPI text, when it does. */
  note?: string;
}

export interface GuestResults {
  suite: string;
  checks: Check[];
  /** `vfio-uapi conform --format ktap` as the guest printed it. */
  ktap?: string;
  /** Set when the suite stopped early on an exception. */
  error?: string;
}

/** Collects checks; each `expect` compares rendered strings so the report shows exactly what was compared. */
export class CheckList {
  readonly checks: Check[] = [];
  /** Called after every step, so what was found survives a guest that freezes later (results written as they come). */
  persist: () => void = () => {};

  /** A result judged elsewhere (e.g. one conformance rule). */
  add(check: Check): void {
    this.checks.push(check);
  }

  expect(id: string, expected: string, observed: string, note?: string): boolean {
    const pass = expected === observed;
    this.checks.push(note ? { id, expected, observed, pass, note } : { id, expected, observed, pass });
    return pass;
  }

  /** Runs one step; an exception becomes a failed check instead of ending the suite. */
  async step(id: string, body: () => unknown): Promise<void> {
    const started = Date.now();
    try {
      await body();
      // On the guest console, so a slow run shows where its time went.
      console.log(`vfiotest: ${id} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      this.checks.push({ id, expected: 'no exception', observed: String((error as Error).message), pass: false });
    }
    this.persist();
  }
}
