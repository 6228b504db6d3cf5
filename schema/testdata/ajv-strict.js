// Compiles the schema (argv[2]) with ajv in strict mode, as editors and
// JavaScript tools would, and validates the JSON instances read from stdin
// ([{"name", "instance"}]), printing {"name": [error messages]} so the Go
// test can check the errorMessage wording reaches them. The x- keywords
// are takos-apply annotations and are declared as such; errorMessage is
// the ajv-errors keyword (the one yaml-language-server reads too).
// NODE_PATH must reach ajv@8 and ajv-errors@3.
const Ajv2020 = require('ajv/dist/2020').default;
const ajvErrors = require('ajv-errors');
const schema = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
// allowUnionTypes: positiveNumber is a number or a string holding one.
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajvErrors(ajv);
ajv.addKeyword({ keyword: 'x-message', schemaType: 'object' });
ajv.addKeyword({ keyword: 'x-removed', schemaType: 'object' });
ajv.addKeyword({ keyword: 'x-fix', schemaType: 'string' });
const validate = ajv.compile(schema);
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const c of cases) {
  validate(c.instance);
  out[c.name] = (validate.errors || []).map((e) => `${e.instancePath} ${e.message}`);
}
process.stdout.write(JSON.stringify(out));
