/** A fixture or usage problem: replay exits 2 with this message (naming file and line). */
export class FixtureError extends Error {
  override name = 'FixtureError';
}
