/** The problem type every cross-reference check of a raw pipeline document returns. */

/** A problem at a YAML path of the document (reported with every other problem, never alone). */
export interface ReferenceProblem {
  path: (string | number)[];
  message: string;
}
