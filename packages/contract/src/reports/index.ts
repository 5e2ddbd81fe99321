/**
 * @tributary/contract/reports: report specs, their checks and the relations their SQL reads.
 */
export { checkReports, formatReportProblems } from './check-reports';
export { checkComponentColumns } from './component-columns';
export { parseReport, type KnownRelations } from './parse-report';
export { knownRelations, watchedTables, type WatchedTable } from './report-relations';
export { reportsDir } from './reports-dir';
export {
  COMPONENT_SPECS,
  DATE_EXPRESSION,
  INPUT_SPECS,
  frontMatterSchema,
  type ComponentKind,
  type ComponentOptions,
  type FrontMatter,
  type InputKind,
  type InputSpec,
  type Report,
  type ReportBlock,
  type ReportComponent,
  type ReportProblem,
  type ReportQuery,
} from './report-spec';
export { bindSql, scanSql, type BoundSql, type InputRef, type SqlScan } from './sql-inputs';
