// Reads a JSON array of YAML sources on stdin and prints, for each, how
// npm yaml (the YAML library of Takos's parser) reads it with YAML.parse's
// defaults: {"ok":true,"value":...} or {"ok":false,"error":"..."}.
// Used by TestYAML12Differential; NODE_PATH must reach the yaml package.
const YAML = require('yaml');
process.emitWarning = () => {};
const sources = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = sources.map((src) => {
  try {
    const value = YAML.parse(src);
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    return { ok: false, error: String(e.message).split('\n')[0] };
  }
});
process.stdout.write(JSON.stringify(out));
