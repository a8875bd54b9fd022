/** The document of the read-model contract suites. */
export interface Item {
  readonly id: string;
  readonly owner: string;
  readonly state: string;
  readonly rank: number;
  readonly version: number;
}
