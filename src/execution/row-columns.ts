import { ExpressionError } from '../errors.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { functionSignature } from '../planning/typecheck.js';
import { describeCategory, ROW_FUNCTION_KINDS } from '../planning/row-functions.js';
import { PACKED_ROW_COLUMN, type PackRowNode, type UnpackRowNode } from '../planning/plan.js';
import type { Field } from '../table/schema.js';
import { DataType } from '../types/data-types.js';
import type { SqlRow, SqlValue } from '../types/values.js';
import type { CompiledPlan, Operator } from './operator.js';
import { takeRows, valuesOf, vectorOf } from '../batches/vectors.js';


/** packRow: the input's columns, then the whole row as one ROW column whose fields are named after them. */
export function compilePackRow(plan: PackRowNode, input: CompiledPlan): CompiledPlan {
  const type = new DataType('ROW', false, { fields: input.schema.map((f) => Object.freeze({ name: f.name, type: f.type })) });
  const names = input.schema.map((f) => f.name);
  const pack: Operator = async (batch) => {
    const columns = batch.columns.map(valuesOf);
    const rows = new Array<SqlValue>(batch.numRows);
    for (let i = 0; i < batch.numRows; i++) {
      const row: SqlRow = {};
      names.forEach((name, c) => { row[name] = columns[c]![i]!; });
      rows[i] = row;
    }
    return { numRows: batch.numRows, columns: [...batch.columns, vectorOf(rows, type)] };
  };
  const schema: Field[] = [...input.schema, Object.freeze({ name: PACKED_ROW_COLUMN, type })];
  return { schema: Object.freeze(schema), source: input.source, operators: [...input.operators, pack] };
}

/** The function of a map, aggregate or flatAggregate, as its worker resolved it, is of the kind the method takes. */
export function checkRowFunction(plan: UnpackRowNode, functions: ReadonlyMap<string, FunctionSignature>): void {
  const signature = functionSignature(plan.functionName, { text: plan.text, columns: [], functions });
  const expected = ROW_FUNCTION_KINDS[plan.method];
  if (signature.category !== expected.category) {
    throw new ExpressionError('EXPRESSION_TYPE',
      `${plan.method}: "${signature.name}" is ${describeCategory(signature.category)}; ${plan.method} takes ${expected.what} in "${plan.text}"`,
      { expression: plan.text });
  }
}

/** unpackRow: the last column's ROW (or, with `many`, ARRAY of ROWs) as columns named `plan.columns`' last ones. */
export function compileUnpackRow(plan: UnpackRowNode, input: CompiledPlan): CompiledPlan {
  const kept = input.schema.slice(0, -1);
  const last = input.schema[input.schema.length - 1]!.type;
  const rowType = plan.many ? last.elementType : last;
  const names = plan.columns.slice(kept.length);
  if (rowType?.name !== 'ROW' || (plan.many && last.name !== 'ARRAY')) {
    throw new ExpressionError('EXPRESSION_TYPE',
      `${plan.method}: function "${plan.functionName}" returns ${last.sqlText}, not a ROW; declare its result type as DataTypes.ROW([...]) in "${plan.text}"`,
      { expression: plan.text });
  }
  const fields = rowType.fields!;
  if (fields.length !== names.length) {
    throw new ExpressionError('EXPRESSION_TYPE',
      `${plan.method}: function "${plan.functionName}" returns ${fields.length} column(s) (${rowType.sqlText}), but "${plan.text}" names ${names.length} (${names.join(', ')})`,
      { expression: plan.text });
  }
  const produced: Field[] = names.map((name, i) => Object.freeze({ name, type: fields[i]!.type.withNullability(true) }));
  const keptTypes = kept.map((f) => f.type);
  const unpack: Operator = async (batch) => {
    const results = valuesOf(batch.columns[batch.columns.length - 1]!);
    const sources: number[] = [];
    const rows: (SqlRow | null)[] = [];
    results.forEach((value, i) => {
      // A NULL ROW is a row of NULLs; a NULL or empty ARRAY gives no row.
      for (const row of plan.many ? (value as SqlRow[] | null) ?? [] : [value as SqlRow | null]) {
        sources.push(i);
        rows.push(row);
      }
    });
    const base = plan.many ? takeRows({ numRows: batch.numRows, columns: batch.columns.slice(0, -1) }, sources, keptTypes).columns : batch.columns.slice(0, -1);
    const columns = fields.map((field, c) => vectorOf(rows.map((row) => (row === null ? null : row[field.name] ?? null)), produced[c]!.type));
    return { numRows: rows.length, columns: [...base, ...columns] };
  };
  return { schema: Object.freeze([...kept, ...produced]), source: input.source, operators: [...input.operators, unpack] };
}
