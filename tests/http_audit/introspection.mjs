// GraphQL tools' standard introspection, as graphql-js writes it with every option on, is
// answered whole and builds a client schema (what GraphiQL, codegen, Apollo and urql
// devtools, Postman and Insomnia do first). Started by tests/api/tools.rs with GRAPHQL_URL
// and AUDIT_DIR (where graphql@16 is installed).
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';

const require = createRequire(path.join(process.env.AUDIT_DIR, 'node_modules', '/'));
const { getIntrospectionQuery, buildClientSchema, printSchema } = require('graphql');

const query = getIntrospectionQuery({
  descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true,
  inputValueDeprecation: true, oneOf: true,
});
const res = await fetch(process.env.GRAPHQL_URL, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
});
const body = await res.json();
assert.equal(res.status, 200, JSON.stringify(body).slice(0, 500));
assert.ok(!body.errors, JSON.stringify(body.errors));
const schema = buildClientSchema(body.data);
assert.ok(schema.getQueryType().getFields().sandboxes, 'Query.sandboxes');
console.log(`introspection passed: ${Object.keys(schema.getTypeMap()).length} types, ${printSchema(schema).length} bytes of SDL`);
