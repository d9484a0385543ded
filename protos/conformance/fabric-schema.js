// Prints, as JSON, the schema of every message and enum in Fabric's official
// JavaScript bindings (@hyperledger/fabric-protos). The bindings ship no .proto
// sources, so the schema is recovered by running each message's generated
// `deserializeBinaryFromReader` against a recording reader, one field number at
// a time, and watching which reader method and which message setter it calls.
//
// Output: { messages: { "common.Envelope": { fields: [{number, name, type,
// label, type_name?, key_type?, value_type?, value_type_name?}] } },
//           enums: { "common.HeaderType": { "MESSAGE": 0, ... } } }
'use strict';

require('@hyperledger/fabric-protos');
const jspb = require('google-protobuf');

const root = globalThis.proto;
const MAX_FIELD = 128;

const messages = new Map(); // constructor -> full name
const enums = {};

function isEnum(obj) {
  const keys = Object.keys(obj);
  return keys.length > 0 && keys.every((k) => typeof obj[k] === 'number' && /^[A-Z0-9_]+$/.test(k));
}

function collect(ns, prefix) {
  for (const key of Object.keys(ns)) {
    const value = ns[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'function' && typeof value.deserializeBinaryFromReader === 'function') {
      // The same constructor can be reachable under several paths; keep the
      // package-qualified one (e.g. `common.Envelope`, not a bare alias).
      const known = messages.get(value);
      if (!known || known.split('.').length < name.split('.').length) messages.set(value, name);
      collect(value, name); // nested messages and enums hang off the constructor
    } else if (value && typeof value === 'object') {
      if (Array.isArray(value) || key.endsWith('Case')) {
        // repeatedFields_ / oneof-case helpers are artefacts of the JS generator.
      } else if (isEnum(value)) {
        if (/^[a-z]/.test(name) && name.includes('.')) enums[name] = { ...value };
      } else {
        collect(value, name);
      }
    }
  }
}
collect(root, '');

const SCALAR_READERS = {
  readString: 'string', readBytes: 'bytes', readBool: 'bool', readEnum: 'enum',
  readInt32: 'int32', readInt64: 'int64', readInt64String: 'int64',
  readUint32: 'uint32', readUint64: 'uint64', readUint64String: 'uint64',
  readSint32: 'sint32', readSint64: 'sint64', readFixed32: 'fixed32', readFixed64: 'fixed64',
  readSfixed32: 'sfixed32', readSfixed64: 'sfixed64', readDouble: 'double', readFloat: 'float',
};
const READER_TYPES = new Map(
  Object.entries(SCALAR_READERS).map(([m, t]) => [jspb.BinaryReader.prototype[m], t]));

function sampleFor(type) {
  switch (type) {
    case 'string': return 'x';
    case 'bytes': return new Uint8Array([1]);
    case 'bool': return true;
    default: return 1;
  }
}

// The enum type a field is read as is only visible in the generated source's
// type annotation: `/** @type {!proto.common.HeaderType} */ (reader.readEnum())`.
function enumTypeNames(ctor) {
  const src = ctor.deserializeBinaryFromReader.toString();
  const out = {};
  const re = /case (\d+):\s*var values? = \/\*\* @type \{!?(?:Array<)?!?proto\.([A-Za-z0-9_.]+?)>?\} \*\/ \(reader\.readEnum\(\)\)/g;
  let m;
  while ((m = re.exec(src)) !== null) out[Number(m[1])] = m[2];
  return out;
}

function probe(ctor, number) {
  const seen = { reads: [], setters: [] };
  let delivered = false;
  const reader = {
    nextField() { if (delivered) return false; delivered = true; return true; },
    isEndGroup() { return false; },
    getFieldNumber() { return number; },
    isDelimited() { return false; },
    skipField() { seen.skipped = true; },
    readMessage(value, fn) {
      if (value instanceof jspb.Map) {
        // Map field: capture the key/value readers jspb.Map would use.
        const original = jspb.Map.deserializeBinary;
        jspb.Map.deserializeBinary = (map, r, keyReader, valueReader, valueDeser, defKey, defValue) => {
          seen.map = {
            key_type: READER_TYPES.get(keyReader) || 'unknown',
            value_type: valueReader === jspb.BinaryReader.prototype.readMessage
              ? 'message' : (READER_TYPES.get(valueReader) || 'unknown'),
            value_type_name: defValue && messages.get(defValue.constructor),
          };
        };
        try { fn(value, reader); } finally { jspb.Map.deserializeBinary = original; }
      } else {
        seen.reads.push({ type: 'message', type_name: messages.get(value.constructor) });
      }
    },
  };
  for (const [method, type] of Object.entries(SCALAR_READERS)) {
    reader[method] = () => { seen.reads.push({ type }); return sampleFor(type); };
    const packed = method.replace(/^read/, 'readPacked');
    reader[packed] = () => { seen.reads.push({ type, packed: true }); return [sampleFor(type)]; };
  }
  const msg = new Proxy(new ctor(), {
    get(target, prop) {
      const v = target[prop];
      if (typeof prop === 'string' && typeof v === 'function') {
        const m = /^(set|add|get)(.+)$/.exec(prop);
        if (m) {
          return (...args) => {
            if (m[1] !== 'get' || m[2].endsWith('Map')) seen.setters.push({ kind: m[1], name: m[2] });
            return v.apply(target, args);
          };
        }
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  ctor.deserializeBinaryFromReader(msg, reader);
  if (seen.skipped) return null;
  const setter = seen.setters.find((s) => s.kind === 'set' || s.kind === 'add' || s.name.endsWith('Map'));
  if (seen.map) {
    return { number, name: setter.name.replace(/Map$/, ''), type: 'map', label: 'repeated', ...seen.map };
  }
  const read = seen.reads[0];
  const field = {
    number,
    name: setter ? setter.name : null,
    type: read.type,
    label: setter && setter.kind === 'add' ? 'repeated' : 'optional',
  };
  if (read.type_name) field.type_name = read.type_name;
  return field;
}

const out = { messages: {}, enums };
for (const [ctor, name] of messages) {
  const enumNames = enumTypeNames(ctor);
  const fields = [];
  for (let n = 1; n <= MAX_FIELD; n++) {
    const f = probe(ctor, n);
    if (!f) continue;
    if (f.type === 'enum' && enumNames[n]) f.type_name = enumNames[n];
    fields.push(f);
  }
  out.messages[name] = { fields };
}
process.stdout.write(JSON.stringify(out, null, 1));
