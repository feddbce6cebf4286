export { TableEnvironment, type TableEnvironmentOptions } from './table/table-environment.js';
export type { ClusterOptions, RayClusterOptions } from './cluster/cluster-options.js';
export { Table, GroupedTable, TableResult, type ExecuteOptions, type JobResult, type SinkResult, type PythonEnvironmentInfo } from './table/table.js';
export { SqlTableResult, type ResultKind } from './sql/sql-result.js';
export { FileSystem, OldCsv, Parquet, Json, ConnectTableDescriptor, fileTableDefinition, type CsvOptions, type FileFormat } from './table/descriptors.js';
export { Schema, type Field, type TableSchema } from './table/schema.js';
export { type ElementsSchema } from './table/element-schema.js';
export { udf, type PythonFunction, type UdfOptions, type UdfDeclaration, type FuncType } from './table/python-function.js';
export { udtf, udaf, udtaf } from './table/table-and-aggregate-functions.js';
export type { FunctionMetrics, MeterReading, DistributionReading, GaugeReading } from './execution/job-metrics.js';
export type { ErrorPolicy, UdfErrorCount, DeadLetter } from './execution/udf-errors.js';
export { DataType, DataTypes, type TypeName, type RowField, type DataTypeParams } from './types/data-types.js';
export type { Row, SchemaRow, SqlRow, SqlValue } from './types/values.js';
export type { Logger, LogEntry } from './logging.js';
export {
  PyUdfError, ExpressionError, SqlError, UdfError, UdfOutOfMemoryError, CsvFormatError, WorkerError, EnvironmentError, ClusterError,
  type PyUdfErrorCode, type UdfPhase,
} from './errors.js';
