// A PyFlink job ported to pyudf: the UDF module (pyflink_udfs.py) is PyFlink's
// with its import line changed; the job is PyFlink's with camelCase names.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TableEnvironment, udf, udaf } from 'pyudf';

const here = path.dirname(fileURLToPath(import.meta.url));
const tEnv = TableEnvironment.create();
try {
  tEnv.addPythonFile(path.join(here, 'pyflink_udfs.py'));
  tEnv.createTemporarySystemFunction('add_one', udf('pyflink_udfs.add_one'));
  tEnv.createTemporarySystemFunction('my_concat', udaf('pyflink_udfs.my_concat'));
  tEnv.createTemporarySystemFunction('max_add', udaf('pyflink_udfs.max_add'));

  // t_env.from_elements([(1, 'Hi', 'Hello'), ...], ['a', 'b', 'c'])
  const t = tEnv.fromElements([[1, 'Hi', 'Hello'], [3, 'Hi', 'hi'], [3, 'Hi2', 'hi'], [2, 'Hi3', 'Hello']], ['a', 'b', 'c']);
  const rows = await t.groupBy('c')
    .select("c, my_concat(b, ',') AS words, max_add(a, add_one(a)) AS m")
    .execute().collect();
  console.log(JSON.stringify(rows, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
} finally {
  await tEnv.close();
}
