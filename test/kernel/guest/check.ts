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
  /** Set when the suite stopped early on an exception. */
  error?: string;
}

/** Collects checks; each `expect` compares rendered strings so the report shows exactly what was compared. */
export class CheckList {
  readonly checks: Check[] = [];

  expect(id: string, expected: string, observed: string, note?: string): boolean {
    const pass = expected === observed;
    this.checks.push(note ? { id, expected, observed, pass, note } : { id, expected, observed, pass });
    return pass;
  }

  /** Runs one step; an exception becomes a failed check instead of ending the suite. */
  step(id: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      this.checks.push({ id, expected: 'no exception', observed: String((error as Error).message), pass: false });
    }
  }
}
