// Small helpers for the mock cloud's own tests.
import { expect } from 'vitest';

export interface SdkErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  data?: Record<string, unknown>;
}

/** Awaits a rejected SDK call and checks its cloud error code (and HTTP status when given). */
export async function expectCloudError(p: Promise<unknown>, code: string, status?: number): Promise<SdkErrorShape> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  const e = caught as SdkErrorShape;
  expect(e.code).toBe(code);
  if (status !== undefined) expect(e.statusCode).toBe(status);
  return e;
}
